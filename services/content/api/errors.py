"""content's one table from domain errors to the contract's HTTP statuses and codes."""

from __future__ import annotations

from flask import Flask

from services.content.domain import errors
from shared.web import outcomes
from shared.web.errors import error_response

STATUS: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.NotFound: (404, "not_found"),
    errors.InvalidInput: (422, "validation_error"),
    errors.InvalidTransition: (409, "invalid_transition"),
    errors.UploadTooLarge: (413, "payload_too_large"),
    errors.UnsupportedUploadType: (415, "unsupported_media_type"),
    errors.MalformedUpload: (400, "malformed_upload"),
    errors.RangeNotSatisfiable: (416, "range_not_satisfiable"),
}


outcomes.map_errors(STATUS)  # the OpenAPI documents list these statuses (shared/web/outcomes.py)


def register_domain_errors(app: Flask) -> None:
    @app.errorhandler(errors.DomainError)
    def _domain_error(exc: errors.DomainError):
        status, code = next((v for cls, v in STATUS.items() if isinstance(exc, cls)), (400, "bad_request"))
        headers = {}
        if isinstance(exc, errors.RangeNotSatisfiable):
            headers["Content-Range"] = f"bytes */{exc.size}"
        return error_response(status, code, exc.message, exc.fields, headers)
