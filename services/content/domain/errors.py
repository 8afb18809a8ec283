"""What can go wrong in content's use cases; ``api/errors.py`` maps each to an HTTP status."""

from __future__ import annotations

from shared.errors import DomainError


class NotFound(DomainError):
    """Missing, or not visible to the caller: both look the same so that existence never leaks."""


class InvalidInput(DomainError):
    """Field values that are well-formed but break a rule (e.g. company_id without company visibility)."""


class InvalidTransition(DomainError):
    """The case is not in a state that allows this change."""


class UploadTooLarge(DomainError):
    pass


class UnsupportedUploadType(DomainError):
    pass


class MalformedUpload(DomainError):
    """The multipart body ended early or had no file part."""


class RangeNotSatisfiable(DomainError):
    def __init__(self, size: int) -> None:
        super().__init__("The requested range is outside the file.", headers={"Content-Range": f"bytes */{size}"})
        self.size = size
