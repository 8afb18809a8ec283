"""Marshmallow schemas of audit's HTTP edge (query arguments and responses)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MAX_PAGE = 1000


class EventFilterArgs(Schema):
    actor = fields.String(validate=validate.Length(min=1, max=200))
    subject = fields.String(validate=validate.Length(min=1, max=500))
    type = fields.String(validate=validate.Length(min=1, max=100))
    correlation_id = fields.String(validate=validate.Length(min=1, max=200))
    # ISO 8601; a time without an offset is taken as UTC. since is inclusive, until exclusive.
    since = fields.AwareDateTime(default_timezone=UTC)
    until = fields.AwareDateTime(default_timezone=UTC)

    @validates_schema
    def _range(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("must not be before since", field_name="until")


class SearchArgs(EventFilterArgs):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(min=1, max=500))
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))


class ExportArgs(EventFilterArgs):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["csv", "jsonl"]))


class StreamArgs(EventFilterArgs):
    # Where to resume when the Last-Event-ID header is absent (a page that already shows events up to
    # here); the header, which the browser sends on every reconnect, wins.
    last_event_id = fields.Integer(validate=validate.Range(min=0, max=2**62))


class StreamHeaders(Schema):
    last_event_id = fields.Integer(data_key="Last-Event-ID", validate=validate.Range(min=0, max=2**62),
                                   metadata={"description": "Resume after this seq (the browser sends it "
                                                            "when it reconnects)."})


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(min=1, max=500))


class StoredEvent(Schema):
    seq = fields.Integer()
    event_id = fields.String()
    type = fields.String()
    version = fields.Integer()
    occurred_at = fields.String()
    stored_at = fields.String()
    producer = fields.String()
    actor = fields.String()
    subject = fields.String()
    correlation_id = fields.String(allow_none=True)
    payload = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class EventPage(Schema):
    items = fields.List(fields.Nested(StoredEvent))
    next_cursor = fields.String(allow_none=True)


class PersonalEvent(Schema):
    seq = fields.Integer()
    type = fields.String()
    occurred_at = fields.String()
    kind = fields.String(metadata={"description": "own | staff_access"})
    actor = fields.String()
    subject = fields.String()
    correlation_id = fields.String(allow_none=True)
    details = fields.Dict()


class PersonalPage(Schema):
    items = fields.List(fields.Nested(PersonalEvent))
    next_cursor = fields.String(allow_none=True)


class PublicKeyOut(Schema):
    algorithm = fields.String()
    key_id = fields.String()
    pem = fields.String()
    raw = fields.String(metadata={"description": "the raw 32-byte Ed25519 public key, base64"})
    previous_key_ids = fields.List(fields.String())


class AnchorOut(Schema):
    kind = fields.String()
    location = fields.String()
    exists = fields.Boolean()
    anchored_seq = fields.Integer(allow_none=True)
    anchored_at = fields.String(allow_none=True)


class ProblemOut(Schema):
    seq = fields.Integer()
    problem = fields.String()


class IntegrityOut(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    last_seq = fields.Integer()
    first_broken = fields.Integer()
    problem = fields.String()
    problems = fields.List(fields.Nested(ProblemOut))
    public_key = fields.Nested(PublicKeyOut)
    anchor = fields.Nested(AnchorOut)


class TrendArgs(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class TrendItem(Schema):
    day = fields.String()
    kind = fields.String()
    item_id = fields.String()
    count = fields.Integer()
    people = fields.Integer()


class TrendsOut(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    k = fields.Integer()
    items = fields.List(fields.Nested(TrendItem))


class DisclosureIn(Schema):
    subject_user_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=300))
    legal_basis = fields.String(required=True, validate=validate.Length(min=1, max=300))
    data_categories = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                                  validate=validate.Length(min=1, max=50))
    disclosed_at = fields.AwareDateTime(default_timezone=UTC)


class DisclosureOut(Schema):
    id = fields.String()
    subject_user_id = fields.String()
    recipient = fields.String()
    legal_basis = fields.String()
    data_categories = fields.List(fields.String())
    source = fields.String()
    recorded_by = fields.String()
    disclosed_at = fields.String()
    recorded_at = fields.String()


class DisclosureListArgs(PageArgs):
    subject_user_id = fields.String(validate=validate.Length(min=1, max=200))


class DisclosurePage(Schema):
    items = fields.List(fields.Nested(DisclosureOut))
    next_cursor = fields.String(allow_none=True)


class MyDisclosureOut(Schema):
    """An entry as the person it is about sees it (who recorded it stays with compliance)."""

    id = fields.String()
    recipient = fields.String()
    legal_basis = fields.String()
    data_categories = fields.List(fields.String())
    disclosed_at = fields.String()


class MyDisclosurePage(Schema):
    items = fields.List(fields.Nested(MyDisclosureOut))
    next_cursor = fields.String(allow_none=True)


class PersonalExport(Schema):
    """audit's section of a privacy export (docs/audit.md, "Privacy requests")."""

    service = fields.String()
    data = fields.Dict()
