"""What can go wrong in audit's use cases; ``api/errors.py`` maps each to an HTTP status."""

from __future__ import annotations

from shared.errors import DomainError

__all__ = ["DomainError", "InvalidInput", "NotFound", "TooManyStreams"]


class NotFound(DomainError):
    """No such event (or entry) in the store."""


class InvalidInput(DomainError):
    """Well-formed values that break a rule (a cursor from another search, a period too long)."""


class TooManyStreams(DomainError):
    """This process already serves its most open live streams."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
