"""What can go wrong in linking's use cases; ``api/errors.py`` maps each to an HTTP status and code."""

from __future__ import annotations

from shared.errors import DomainError


class AdminOnly(DomainError):
    """Only administrators may do this (create a company, transfer another's primary contact)."""


class NotPrimaryContact(DomainError):
    """Only the primary contact (or an administrator) may do this."""


class InvalidInput(DomainError):
    """Well-formed values that break a rule (a user who is not a member of the company)."""


class CompanyNotFound(DomainError):
    pass


class LinkRequestNotFound(DomainError):
    pass


class MemberNotFound(DomainError):
    pass


class NotAManager(DomainError):
    pass


class NotTheRequester(DomainError):
    pass


class EmailUnverified(DomainError):
    """The caller has not confirmed their address: it would be shared with a company's managers unproven."""


class CompanyExists(DomainError):
    pass


class DuplicateLinkRequest(DomainError):
    pass


class AlreadyMember(DomainError):
    pass


class RequestNotPending(DomainError):
    pass


class LastManager(DomainError):
    pass


class PrimaryContactProtected(DomainError):
    pass


class UnknownUser(DomainError):
    """A user id that identity does not know; reported against the field that named it."""

    def __init__(self, field: str) -> None:
        super().__init__("Some fields are invalid.", fields={field: ["Unknown user."]})


class ShareContactRequired(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "Your contact details are shared with the company's managers; agree with share_contact: true.",
            fields={"share_contact": ["Must be true: the company's managers see your name, email and phone."]},
        )


class IdentityUnavailable(DomainError):
    pass
