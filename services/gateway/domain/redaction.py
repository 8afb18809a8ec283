"""What of a request's query string the server log may keep: every parameter that can carry a secret is
replaced by ``[redacted]`` before the access event is spooled.

Mailed links carry single-use secrets in their query (``/reset-password?token=``, ``/verify-email?token=``,
an export's ``?expires=&signature=``); compliance reads ``gateway.request.completed`` for years, so the
secret must never reach the spool, the outbox or the log store. The names are matched case-insensitively,
after URL decoding, exactly or by suffix (``reset_token``, ``X-Amz-Signature``); values of other parameters
stay as sent (they are sealed per person in the log store).
"""

from __future__ import annotations

from urllib.parse import unquote_plus

REDACTED = "[redacted]"
# Exact names (lower case) whose values are secrets.
SENSITIVE_PARAMETERS = frozenset({
    "token", "reset_token", "verification_token", "verify_token", "email_token", "email_change_token",
    "change_token", "confirmation_token", "access_token", "refresh_token", "id_token", "csrf_token",
    "signature", "sig", "password", "new_password", "current_password", "passwd", "pwd", "code", "otp",
    "secret", "client_secret", "api_key", "apikey", "key", "session", "session_id", "sessionid", "auth",
    "authorization",
})
# Name endings that mark a secret whatever comes before (``X-Amz-Signature``, ``invite_token``).
SENSITIVE_SUFFIXES = ("token", "signature", "password", "secret", "_sig", "-sig", "_key", "-key", "apikey")


def is_sensitive(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return lowered in SENSITIVE_PARAMETERS or lowered.endswith(SENSITIVE_SUFFIXES)


def redact_query(query: str) -> str:
    """The query string with the value of every sensitive parameter replaced; order and the rest kept."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}={REDACTED}" if is_sensitive(name) else part)
    return "&".join(parts)
