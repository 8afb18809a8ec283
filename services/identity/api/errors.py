"""identity's one table from domain errors to the contract's HTTP statuses and codes."""

from __future__ import annotations

from flask import Flask

from services.identity.domain import errors
from shared.errors import ErrorTable
from shared.web.errors import register_error_table

STATUS: ErrorTable = {
    errors.TokenInvalid: (400, "token_invalid"),
    errors.InvalidCredentials: (401, "invalid_credentials"),
    errors.NotAuthenticated: (401, "not_authenticated"),
    errors.DownloadLinkInvalid: (403, "download_link_invalid"),
    errors.ErasureNotFound: (404, "erasure_not_found"),
    errors.ExportNotFound: (404, "export_not_found"),
    errors.HoldNotFound: (404, "hold_not_found"),
    errors.NotFound: (404, "not_found"),
    errors.SessionInvalid: (404, "session_invalid"),
    errors.AlreadyVerified: (409, "already_verified"),
    errors.EmailTaken: (409, "email_taken"),
    errors.EmailUnverified: (409, "email_unverified"),
    errors.ErasureRunning: (409, "erasure_in_progress"),
    errors.ExportNotReady: (409, "export_not_ready"),
    errors.PolicyVersionExists: (409, "policy_version_exists"),
    errors.PolicyVersionNotCurrent: (409, "policy_version_not_current"),
    errors.DownloadLinkExpired: (410, "download_link_expired"),
    errors.ExportExpired: (410, "export_expired"),
    errors.Invalid: (422, "validation_error"),
    errors.ReauthRequired: (428, "reauth_required"),
    errors.Throttled: (429, "too_many_attempts"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, STATUS)
