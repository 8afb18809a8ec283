"""What can go wrong in identity's use cases; ``api/errors.py`` maps each to an HTTP status and code."""

from __future__ import annotations

from shared.errors import DomainError


class InvalidCredentials(DomainError):
    pass


class SessionInvalid(DomainError):
    pass


class NotFound(DomainError):
    pass


class EmailTaken(DomainError):
    pass


class EmailUnverified(DomainError):
    """The person's address is not confirmed: whoever registered it may not be its owner."""


class Invalid(DomainError):
    pass


class ReauthRequired(DomainError):
    pass


class TokenInvalid(DomainError):
    """Unknown, used or expired mailed token; one answer for all three (no oracle)."""


class Throttled(DomainError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class NotAuthenticated(DomainError):
    pass


class ExportNotFound(DomainError):
    pass


class ExportExpired(DomainError):
    """The export's data has been deleted after its keeping time; ask for a new one."""


class ExportNotReady(DomainError):
    pass


class DownloadLinkInvalid(DomainError):
    pass


class DownloadLinkExpired(DomainError):
    pass


class ErasureNotFound(DomainError):
    pass


class ErasureRunning(DomainError):
    pass


class HoldNotFound(DomainError):
    pass


class UnknownErasureRequest(LookupError):
    """A service answered an erasure identity has no record of (its database restored, and not yet
    replayed?): the consumer retries, then dead-letters it for an operator."""


class PolicyVersionExists(DomainError):
    """A policy version of that name is already published."""


class PolicyVersionNotCurrent(DomainError):
    """Only the current policy version can be accepted."""


class AlreadyVerified(DomainError):
    """The address is already confirmed."""
