"""Events the audit service produces, and the names it expects from others.

Produced here (through audit's outbox, so every reviewer action is itself in the server log store):
- ``audit.log.searched`` / ``audit.log.exported`` / ``audit.log.streamed``: a compliance reviewer
  searched, exported or opened the live stream; the filters used (actor, subject, ...) say whose
  events were looked at.
- ``audit.integrity.checked``: someone ran the verifier over HTTP.
- ``audit.disclosure.recorded``: an entry in the disclosure register (subject = the person).
- ``audit.retention.applied``: a retention run removed a range of old events.
- ``audit.privacy.erasure_completed``: the answer to an erasure request (ids, counts and categories).

Consumed by audit with a meaning (payload fields read defensively, documented in docs/audit.md):
- ``*.pii.accessed`` (e.g. ``identity.pii.accessed``): a staff member (actor) read someone's personal
  data; the person is the ``subject`` (user id) and/or ``payload.user_id`` / ``payload.user_ids``;
  optional ``fields``, ``purpose``, ``reason`` are shown to that person in /me/events.
- ``identity.privacy.hold_placed`` ``{hold_id, user_id, reason, until, owner_id}`` and
  ``identity.privacy.hold_released`` ``{hold_id, user_id, released_by}``: the legal-hold list retention
  respects.
- ``identity.privacy.erasure_requested`` / ``erasure_replayed`` ``{request_id, user_id}``: the person's
  key is destroyed (their identifying fields become unreadable) and audit answers
  ``audit.privacy.erasure_completed``.
- ``content.collateral.downloaded`` ``{collateral_id, item_id, ...}``: downloads per item in the trends.
- ``linking.contact.shared`` ``{user_id, company_id, fields?}``: entered in the disclosure register.
- ``gateway.request.completed``: GET 2xx on ``/api/content/items/<id>`` (view) feeds the public trends.
"""

from marshmallow import Schema, fields

from shared.events import privacy
from shared.events.classification import FREE_TEXT, PLAIN, PSEUDONYM
from shared.events.registry import event_schema


@event_schema("audit.log.searched", 1)
class LogSearchedV1(Schema):
    filters = fields.Dict(keys=fields.String(), required=True, metadata=FREE_TEXT)
    order = fields.String(load_default="asc", metadata=PLAIN)
    results = fields.Integer(required=True)


@event_schema("audit.log.exported", 1)
class LogExportedV1(Schema):
    filters = fields.Dict(keys=fields.String(), required=True, metadata=FREE_TEXT)
    format = fields.String(required=True, metadata=PLAIN)


@event_schema("audit.log.streamed", 1)
class LogStreamedV1(Schema):
    filters = fields.Dict(keys=fields.String(), required=True, metadata=FREE_TEXT)
    after = fields.Integer(required=True)  # the stream sends events with a larger seq


@event_schema("audit.integrity.checked", 1)
class IntegrityCheckedV1(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    first_broken = fields.Integer(load_default=None, allow_none=True)


@event_schema("audit.disclosure.recorded", 1)
class DisclosureRecordedV1(Schema):
    disclosure_id = fields.String(required=True, metadata=PSEUDONYM)
    subject_user_id = fields.String(required=True, metadata=PSEUDONYM)
    recipient = fields.String(required=True, metadata=PLAIN)
    legal_basis = fields.String(required=True, metadata=PLAIN)
    data_categories = fields.List(fields.String(), required=True, metadata=PLAIN)
    source = fields.String(required=True, metadata=PLAIN)  # manual | event


@event_schema("audit.retention.applied", 1)
class RetentionAppliedV1(Schema):
    first_seq = fields.Integer(required=True)
    last_seq = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    kept = fields.Integer(required=True)
    cutoff = fields.String(required=True, metadata=PLAIN)


@event_schema("audit.privacy.erasure_completed", 1)
class ErasureCompletedV1(privacy.ErasureCompletedV1):
    """audit's answer to ``identity.privacy.erasure_requested`` / ``erasure_replayed``."""
