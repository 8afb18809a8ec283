"""content's one table from domain errors to the contract's HTTP statuses and codes."""

from __future__ import annotations

from flask import Flask

from services.content.domain import errors
from shared.errors import ErrorTable
from shared.web.errors import register_error_table

STATUS: ErrorTable = {
    errors.NotFound: (404, "not_found"),
    errors.InvalidInput: (422, "validation_error"),
    errors.InvalidTransition: (409, "invalid_transition"),
    errors.UploadTooLarge: (413, "payload_too_large"),
    errors.UnsupportedUploadType: (415, "unsupported_media_type"),
    errors.MalformedUpload: (400, "malformed_upload"),
    errors.RangeNotSatisfiable: (416, "range_not_satisfiable"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, STATUS)
