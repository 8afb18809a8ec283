"""Outcomes other than success, as plain values: no Flask, so workers and handlers may raise them.

``ApiError`` carries its own status and code (the shared web layer's and the gateway's errors); a service's
``DomainError`` subclasses carry neither: the service's one table (``api/errors.py``, ``ErrorTable``) says
their HTTP status and stable code. ``shared/web/errors.py`` answers both in the contract's error shape.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """An outcome other than success, with its status and stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 fields: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        self.headers = headers or {}


class NotAuthenticated(ApiError):
    status, code = 401, "not_authenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Invalid(ApiError):
    status, code = 422, "validation_error"


class PreconditionRequired(ApiError):
    status, code = 428, "precondition_required"


class Unavailable(ApiError):
    status, code = 503, "service_unavailable"


def error_body(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class DomainError(Exception):
    """What can go wrong in a service's use case; its ``api/errors.py`` table maps each class to a status."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


ErrorTable = dict[type[DomainError], tuple[int, str]]


def status_of(table: ErrorTable, exc: DomainError) -> tuple[int, str] | None:
    """(status, code) of the most specific class of ``exc`` the table names; None when it names none (a
    bug: tests/unit/test_layering.py checks that every domain error is in its service's table)."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]  # type: ignore[index]
    return None
