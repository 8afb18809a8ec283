"""The contract's one error shape, for every error a service or the gateway can return.

``{"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}}}``
Domain exceptions subclass ``ApiError`` (or are mapped to it in each service's error table).
No stack trace ever leaves a process; unexpected errors are logged with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

log = logging.getLogger("portal.web")

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


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable snake_case code, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "human text"})
    field_messages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                                 data_key="fields",
                                 metadata={"description": "per-field messages (empty when no field is at fault)"})


class ErrorSchema(Schema):
    """The error shape as the OpenAPI documents describe it (flask-smorest's own has other keys)."""

    error = fields.Nested(ErrorDetailSchema, required=True)


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


def error_response(status: int, code: str | None = None, message: str | None = None,
                   fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
    body = error_body(status, code or DEFAULT_CODES.get(status, "error"), message or "", fields)
    resp = jsonify(body)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _flatten_messages(messages: Any) -> dict[str, list[str]]:
    """webargs gives ``{"json": {"field": [...]}}`` (or query/form/files); the contract wants fields."""
    out: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    for errs in messages.values():
        if not isinstance(errs, dict):
            out.setdefault("_schema", []).extend(errs if isinstance(errs, list) else [str(errs)])
            continue
        for field, msgs in errs.items():
            if isinstance(msgs, dict):  # nested errors: keep them readable, flat
                flat = [f"{k}: {v}" for k, v in msgs.items()]
            elif isinstance(msgs, list):
                flat = [str(m) for m in msgs]
            else:
                flat = [str(msgs)]
            out.setdefault(str(field), []).extend(flat)
    return out


def http_exception_response(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422:
        return error_response(422, "validation_error", "Some fields are invalid.", _flatten_messages(messages))
    if status == 400 and messages and "Invalid JSON" in str(messages):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    if status == 400 and "JSON" in (exc.description or ""):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    headers = {}
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    message = data.get("message") if isinstance(data, dict) and data.get("message") else exc.description
    return error_response(status, DEFAULT_CODES.get(status), message or "", headers=headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return http_exception_response(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error (request %s)", getattr(g, "request_id", "-"))
        return error_response(500, "internal_error", "Something went wrong on our side.")
