"""Events the content service produces.

Access events (``content.item.viewed``, ``content.collateral.downloaded``, ``content.query.posted``,
``content.pii.accessed``) are the server log of what people view, download and ask; the audit
service builds its trends from the first two (by day and ``item_id``, distinct actors).
``content.complaint.*`` are the steps a complainant is told of by mail (identity sends it; every one
carries ``complainant_user_id``, ``status`` and ``due_at``).
"""

from marshmallow import Schema, fields

from shared.events import privacy
from shared.events.classification import FREE_TEXT, PLAIN, PSEUDONYM
from shared.events.registry import event_schema


class _ItemAudience(Schema):
    item_id = fields.String(required=True, metadata=PSEUDONYM)
    visibility = fields.String(required=True, metadata=PLAIN)  # public | users | company
    company_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)


@event_schema("content.item.created", 1)
class ItemCreatedV1(_ItemAudience):
    title = fields.String(required=True, metadata=PLAIN)
    status = fields.String(required=True, metadata=PLAIN)  # published | unpublished


@event_schema("content.item.updated", 1)
class ItemUpdatedV1(_ItemAudience):
    status = fields.String(required=True, metadata=PLAIN)
    changed = fields.List(fields.String(), required=True, metadata=PLAIN)  # names of the fields that changed


@event_schema("content.item.viewed", 1)
class ItemViewedV1(_ItemAudience):
    title = fields.String(load_default=None, allow_none=True, metadata=PLAIN)


@event_schema("content.collateral.uploaded", 1)
class CollateralUploadedV1(Schema):
    collateral_id = fields.String(required=True, metadata=PSEUDONYM)
    item_id = fields.String(required=True, metadata=PSEUDONYM)
    filename = fields.String(required=True, metadata=PLAIN)
    content_type = fields.String(required=True, metadata=PLAIN)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True, metadata=PLAIN)


@event_schema("content.collateral.removed", 1)
class CollateralRemovedV1(Schema):
    collateral_id = fields.String(required=True, metadata=PSEUDONYM)
    item_id = fields.String(required=True, metadata=PSEUDONYM)
    filename = fields.String(required=True, metadata=PLAIN)


@event_schema("content.collateral.downloaded", 1)
class CollateralDownloadedV1(Schema):
    collateral_id = fields.String(required=True, metadata=PSEUDONYM)
    item_id = fields.String(required=True, metadata=PSEUDONYM)
    size = fields.Integer(required=True)  # of the whole file
    bytes_sent = fields.Integer(load_default=None, allow_none=True)
    range = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # "bytes 0-99/1000" for a 206, else null


@event_schema("content.query.posted", 1)
class QueryPostedV1(Schema):
    query_id = fields.String(required=True, metadata=PSEUDONYM)
    kind = fields.String(required=True, metadata=PLAIN)  # question | complaint
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    subject = fields.String(required=True, metadata=FREE_TEXT)


@event_schema("content.pii.accessed", 1)
class PiiAccessedV1(Schema):
    """Staff read someone else's queries (the audit service shows it in that person's history).

    Same shape as ``identity.pii.accessed``; the envelope's subject is the person read about.
    """

    accessor_id = fields.String(required=True, metadata=PSEUDONYM)
    subject_user_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(required=True, metadata=PLAIN)  # query_read | query_list
    # "fields" cannot be an attribute name on a marshmallow Schema (it holds the declared fields)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", load_default=list, metadata=PLAIN)
    query_ids = fields.List(fields.String(), required=True, metadata=PSEUDONYM)


@event_schema("content.query.replied", 1)
class QueryRepliedV1(Schema):
    query_id = fields.String(required=True, metadata=PSEUDONYM)
    kind = fields.String(required=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)  # the query's author
    reply_id = fields.String(required=True, metadata=PSEUDONYM)
    replied_by = fields.String(required=True, metadata=PSEUDONYM)
    by_staff = fields.Boolean(required=True)


@event_schema("content.query.assigned", 1)
class QueryAssignedV1(Schema):
    query_id = fields.String(required=True, metadata=PSEUDONYM)
    kind = fields.String(required=True, metadata=PLAIN)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    owner_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    previous_owner_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)


class _ComplaintCase(Schema):
    query_id = fields.String(required=True, metadata=PSEUDONYM)
    complainant_user_id = fields.String(required=True, metadata=PSEUDONYM)
    status = fields.String(required=True, metadata=PLAIN)  # received | acknowledged | resolved | escalated
    owner_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    due_at = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # ISO 8601 UTC


@event_schema("content.complaint.received", 1)
class ComplaintReceivedV1(_ComplaintCase):
    pass


@event_schema("content.complaint.status_changed", 1)
class ComplaintStatusChangedV1(_ComplaintCase):
    from_status = fields.String(required=True, metadata=PLAIN)
    to_status = fields.String(required=True, metadata=PLAIN)
    note = fields.String(load_default="", metadata=FREE_TEXT)


@event_schema("content.complaint.followed_up", 1)
class ComplaintFollowedUpV1(_ComplaintCase):
    """Staff answered the complaint (the reply itself stays in content; the mail points to it)."""

    reply_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("content.complaint.due_date_changed", 1)
class ComplaintDueDateChangedV1(_ComplaintCase):
    previous_due_at = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    note = fields.String(load_default="", metadata=FREE_TEXT)


# --- privacy requests (the answer's shape is the participant contract, shared/events/privacy.py) ----

@event_schema("content.privacy.erasure_completed", 1)
class ErasureCompletedV1(privacy.ErasureCompletedV1):
    """content's answer to ``identity.privacy.erasure_requested`` / ``erasure_replayed``."""


@event_schema("content.retention.applied", 1)
class RetentionAppliedV1(Schema):
    """Kept complaints deleted because their retention period is over (``portal content purge-complaints``)."""

    kind = fields.String(required=True, metadata=PLAIN)  # complaints
    query_ids = fields.List(fields.String(), required=True, metadata=PSEUDONYM)
    count = fields.Integer(required=True)
