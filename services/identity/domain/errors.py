"""identity's outcomes other than success, each answered in the error shape by ``shared.web.errors``.

They subclass ``shared.web.errors.ApiError`` so each carries its status and stable code in one
place (the table below) — a handler raising one needs nothing else to be answered correctly.
"""

from __future__ import annotations

from shared import errors as web


class InvalidCredentials(web.ApiError):
    status, code = 401, "invalid_credentials"


class SessionInvalid(web.ApiError):
    status, code = 404, "session_invalid"


class NotFound(web.NotFound):
    pass


class Forbidden(web.Forbidden):
    pass


class Conflict(web.Conflict):
    pass


class EmailTaken(web.Conflict):
    code = "email_taken"


class EmailUnverified(web.Conflict):
    """The person's address is not confirmed: whoever registered it may not be its owner."""

    code = "email_unverified"


class Invalid(web.Invalid):
    pass


class ReauthRequired(web.PreconditionRequired):
    code = "reauth_required"


class TokenInvalid(web.ApiError):
    """Unknown, used or expired mailed token; one answer for all three (no oracle)."""

    status, code = 400, "token_invalid"


class Throttled(web.ApiError):
    status, code = 429, "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class NotAuthenticated(web.NotAuthenticated):
    pass


# --- privacy requests -----------------------------------------------------------------------------

class ExportNotFound(web.NotFound):
    code = "export_not_found"


class ExportExpired(web.ApiError):
    """The export's data has been deleted after its keeping time; ask for a new one."""

    status, code = 410, "export_expired"


class ExportNotReady(web.Conflict):
    code = "export_not_ready"


class DownloadLinkInvalid(web.Forbidden):
    code = "download_link_invalid"


class DownloadLinkExpired(web.ApiError):
    status, code = 410, "download_link_expired"


class ErasureNotFound(web.NotFound):
    code = "erasure_not_found"


class ErasureRunning(web.Conflict):
    code = "erasure_in_progress"


class HoldNotFound(web.NotFound):
    code = "hold_not_found"


class UnknownErasureRequest(LookupError):
    """A service answered an erasure identity has no record of (its database restored, and not yet
    replayed?): the consumer retries, then dead-letters it for an operator."""
