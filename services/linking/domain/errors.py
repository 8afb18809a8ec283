"""linking's errors, one table: each outcome other than success, its HTTP status and stable code."""

from __future__ import annotations

from shared.web.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable


class CompanyNotFound(NotFound):
    code = "company_not_found"


class LinkRequestNotFound(NotFound):
    code = "link_request_not_found"


class MemberNotFound(NotFound):
    code = "member_not_found"


class NotAManager(Forbidden):
    code = "not_a_manager"


class NotTheRequester(Forbidden):
    code = "not_the_requester"


class EmailUnverified(Forbidden):
    """The caller has not confirmed their address: it would be shared with a company's managers unproven."""

    code = "email_unverified"


class CompanyExists(Conflict):
    code = "company_exists"


class DuplicateLinkRequest(Conflict):
    code = "link_request_pending"


class AlreadyMember(Conflict):
    code = "already_member"


class RequestNotPending(Conflict):
    code = "link_request_not_pending"


class LastManager(Conflict):
    code = "last_manager"


class PrimaryContactProtected(Conflict):
    code = "primary_contact_protected"


class UnknownUser(Invalid):
    """A user id that identity does not know; reported against the field that named it."""

    def __init__(self, field: str) -> None:
        super().__init__("Some fields are invalid.", fields={field: ["Unknown user."]})


class ShareContactRequired(Invalid):
    def __init__(self) -> None:
        super().__init__(
            "Your contact details are shared with the company's managers; agree with share_contact: true.",
            fields={"share_contact": ["Must be true: the company's managers see your name, email and phone."]},
        )


class IdentityUnavailable(Unavailable):
    code = "identity_unavailable"
