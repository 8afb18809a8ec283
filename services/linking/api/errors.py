"""linking's one table from domain errors to the contract's HTTP statuses and codes."""

from __future__ import annotations

from flask import Flask

from services.linking.domain import errors
from shared.errors import ErrorTable
from shared.web.errors import register_error_table

STATUS: ErrorTable = {
    errors.CompanyNotFound: (404, "company_not_found"),
    errors.LinkRequestNotFound: (404, "link_request_not_found"),
    errors.MemberNotFound: (404, "member_not_found"),
    errors.AdminOnly: (403, "forbidden"),
    errors.NotAManager: (403, "not_a_manager"),
    errors.NotTheRequester: (403, "not_the_requester"),
    errors.NotPrimaryContact: (403, "not_primary_contact"),
    errors.EmailUnverified: (403, "email_unverified"),
    errors.CompanyExists: (409, "company_exists"),
    errors.DuplicateLinkRequest: (409, "link_request_pending"),
    errors.AlreadyMember: (409, "already_member"),
    errors.RequestNotPending: (409, "link_request_not_pending"),
    errors.LastManager: (409, "last_manager"),
    errors.PrimaryContactProtected: (409, "primary_contact_protected"),
    errors.InvalidInput: (422, "validation_error"),
    errors.UnknownUser: (422, "validation_error"),
    errors.ShareContactRequired: (422, "validation_error"),
    errors.IdentityUnavailable: (503, "identity_unavailable"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, STATUS)
