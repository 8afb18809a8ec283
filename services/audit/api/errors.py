"""audit's one table from domain errors to the contract's HTTP statuses and codes."""

from __future__ import annotations

from flask import Flask

from services.audit.domain import errors
from shared.errors import ErrorTable
from shared.web.errors import register_error_table

STATUS: ErrorTable = {
    errors.NotFound: (404, "not_found"),
    errors.InvalidInput: (422, "validation_error"),
    errors.TooManyStreams: (429, "too_many_streams"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, STATUS)
