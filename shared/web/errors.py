"""The contract's one error shape, for every error a service or the gateway can return.

``{"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}}}``
The errors themselves are plain values (``shared/errors.py``); this module answers them in that shape.
No stack trace ever leaves a process; unexpected errors are logged with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from shared.errors import (  # noqa: F401 (re-exported: the web layer's errors, one import for views)
    DEFAULT_CODES,
    ApiError,
    Conflict,
    DomainError,
    ErrorTable,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    PreconditionRequired,
    Unavailable,
    error_body,
    status_of,
)
from shared.web import outcomes

log = logging.getLogger("portal.web")


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable snake_case code, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "human text"})
    field_messages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                                 data_key="fields",
                                 metadata={"description": "per-field messages (empty when no field is at fault)"})


class ErrorSchema(Schema):
    """The error shape as the OpenAPI documents describe it (flask-smorest's own has other keys)."""

    error = fields.Nested(ErrorDetailSchema, required=True)


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


def register_error_table(app: Flask, table: ErrorTable) -> None:
    """Answer a service's domain errors with the status and code its table gives them; the OpenAPI documents
    list the same statuses (``shared.web.outcomes.map_errors``)."""
    outcomes.map_errors(table)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        found = status_of(table, exc)
        if found is None:
            log.error("domain error %s missing from the error table (request %s)", type(exc).__name__,
                      getattr(g, "request_id", "-"))
            return error_response(500, "internal_error", "Something went wrong on our side.")
        return error_response(found[0], found[1], exc.message, exc.fields, exc.headers)
