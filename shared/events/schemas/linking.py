"""Events the linking service produces.

Consumers: content keeps company memberships from ``linking.member.*`` and ``linking.company.*``
(every member event carries ``company_id`` and ``user_id``); identity's mailer tells requesters the
outcome of ``linking.link.approved`` / ``linking.link.rejected`` (it looks the address up by
``user_id`` itself, so no address travels here); audit stores everything and enters
``linking.contact.shared`` in its disclosure register.
"""

from marshmallow import Schema, fields

from shared.events import privacy
from shared.events.classification import FREE_TEXT, PLAIN, PSEUDONYM
from shared.events.registry import event_schema


@event_schema("linking.company.created", 1)
class CompanyCreatedV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    name = fields.String(required=True, metadata=PLAIN)
    domain = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    primary_contact_user_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("linking.primary_contact.transferred", 1)
class PrimaryContactTransferredV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    from_user_id = fields.String(required=True, metadata=PSEUDONYM)
    to_user_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("linking.manager.added", 1)
class ManagerAddedV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    # company_created | promoted | primary_contact
    via = fields.String(load_default=None, allow_none=True, metadata=PLAIN)


@event_schema("linking.manager.removed", 1)
class ManagerRemovedV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # demoted | left | removed


@event_schema("linking.member.added", 1)
class MemberAddedV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    role = fields.String(required=True, metadata=PLAIN)  # member | manager (its role when it joined)
    via = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # company_created | link_approved


@event_schema("linking.member.removed", 1)
class MemberRemovedV1(Schema):
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    role = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    reason = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # left | removed


@event_schema("linking.link.requested", 1)
class LinkRequestedV1(Schema):
    # The message stays in linking's database: free text may hold anything, the log needs none of it.
    request_id = fields.String(required=True, metadata=PSEUDONYM)
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    share_contact = fields.Boolean(required=True)


class _LinkDecidedV1(Schema):
    """What a mail telling the requester the outcome needs (their address is identity's to look up)."""

    request_id = fields.String(required=True, metadata=PSEUDONYM)
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(required=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    decided_by = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(load_default=None, allow_none=True, metadata=FREE_TEXT)


@event_schema("linking.link.approved", 1)
class LinkApprovedV1(_LinkDecidedV1):
    pass


@event_schema("linking.link.rejected", 1)
class LinkRejectedV1(_LinkDecidedV1):
    pass


@event_schema("linking.link.withdrawn", 1)
class LinkWithdrawnV1(Schema):
    request_id = fields.String(required=True, metadata=PSEUDONYM)
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("linking.contact.shared", 1)
class ContactSharedV1(Schema):
    """The disclosure record: whose contact details were made visible to which company's managers.

    ``user_id`` repeats ``subject_user_id`` and ``company_id`` names the recipient company, so this
    event reads like every other linking event about a person and a company.
    """

    subject_user_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    company_name = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    recipient = fields.String(required=True, metadata=PLAIN)  # human-readable, for the disclosure register
    recipient_manager_ids = fields.List(fields.String(), required=True, metadata=PSEUDONYM)
    data_categories = fields.List(fields.String(), required=True, metadata=PLAIN)  # name, email, phone
    # consent (share_contact: true on the request)
    legal_basis = fields.String(required=True, metadata=PLAIN)
    link_request_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    trigger = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # link_requested | manager_added


@event_schema("linking.pii.accessed", 1)
class PiiAccessedV1(Schema):
    """Staff (an admin who is not one of the company's managers) read someone's contact details in
    linking; the event's subject is the person read about, so it shows in their own history."""

    accessor_id = fields.String(required=True, metadata=PSEUDONYM)
    subject_user_id = fields.String(required=True, metadata=PSEUDONYM)
    company_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(required=True, metadata=PLAIN)  # link_requests_listed | members_listed
    # "fields" cannot be an attribute name on a marshmallow Schema (it holds the declared fields)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", load_default=list, metadata=PLAIN)


@event_schema("linking.privacy.erasure_completed", 1)
class ErasureCompletedV1(privacy.ErasureCompletedV1):
    """linking's answer to ``identity.privacy.erasure_requested`` / ``erasure_replayed``."""
