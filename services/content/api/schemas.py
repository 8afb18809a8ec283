"""Marshmallow schemas at content's HTTP edge: what comes in, and what goes out."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.content.api.pagination import CursorField
from services.content.domain.items import ItemStatus, Visibility
from services.content.domain.queries import ComplaintStatus, QueryKind, QuestionStatus
from shared import clock

MAX_BODY = 100_000
MAX_TEXT = 20_000


class Text(fields.String):
    """A string without NUL characters (PostgreSQL cannot store them; nobody needs them)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        return text


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _choices(enum) -> validate.OneOf:
    return validate.OneOf([e.value for e in enum])


class QueryArgs(Schema):
    """Query strings: unknown parameters are ignored (cache busters, tracking), known ones checked."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = CursorField(load_default=None)


# --- items ------------------------------------------------------------------------------------

class ItemListArgs(QueryArgs):
    visibility = Text(load_default=None, validate=_choices(Visibility))
    company_id = Text(load_default=None, validate=validate.Length(min=1, max=64))
    status = Text(load_default=None, validate=_choices(ItemStatus))


class ItemCreateSchema(Schema):
    title = Text(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    body = Text(load_default="", validate=validate.Length(max=MAX_BODY))
    visibility = Text(required=True, validate=_choices(Visibility))
    company_id = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    status = Text(load_default=ItemStatus.PUBLISHED.value, validate=_choices(ItemStatus))


class ItemUpdateSchema(Schema):
    title = Text(validate=[validate.Length(min=1, max=200), not_blank])
    body = Text(validate=validate.Length(max=MAX_BODY))
    visibility = Text(validate=_choices(Visibility))
    company_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    status = Text(validate=_choices(ItemStatus))

    @validates_schema
    def _something(self, data, **_kwargs) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.")


class CollateralSchema(Schema):
    id = fields.String()
    item_id = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.AwareDateTime()


class ItemSchema(Schema):
    id = fields.String()
    title = fields.String()
    body = fields.String()
    visibility = fields.String()
    company_id = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ItemDetailSchema(ItemSchema):
    collaterals = fields.List(fields.Nested(CollateralSchema))


class ItemPageSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))
    next_cursor = fields.String(allow_none=True)


# --- queries and complaints ---------------------------------------------------------------------

class QueryCreateSchema(Schema):
    subject = Text(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    body = Text(required=True, validate=[validate.Length(min=1, max=MAX_TEXT), not_blank])
    kind = Text(required=True, validate=_choices(QueryKind))


class QueryListArgs(QueryArgs):
    kind = Text(load_default=None, validate=_choices(QueryKind))
    status = Text(load_default=None, validate=validate.OneOf(
        [s.value for s in QuestionStatus] + [s.value for s in ComplaintStatus]))
    mine = fields.Boolean(load_default=False)  # staff: only the queries I wrote myself
    owner_id = Text(load_default=None, validate=validate.Length(min=1, max=64))
    unassigned = fields.Boolean(load_default=False)


class ReplyCreateSchema(Schema):
    body = Text(required=True, validate=[validate.Length(min=1, max=MAX_TEXT), not_blank])


class CaseUpdateSchema(Schema):
    status = Text(validate=_choices(ComplaintStatus))
    owner_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    due_at = fields.AwareDateTime()
    note = Text(load_default="", validate=validate.Length(max=MAX_TEXT))

    @validates_schema
    def _something(self, data, **_kwargs) -> None:
        if not {"status", "owner_id", "due_at"} & set(data):
            raise ValidationError("Send status, owner_id or due_at.")


class EntrySchema(Schema):
    id = fields.String()
    kind = fields.String()  # reply | status | assignment | due_date
    author_id = fields.String()
    by_staff = fields.Boolean()
    body = fields.String()
    from_value = fields.String(allow_none=True)
    to_value = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class QuerySchema(Schema):
    id = fields.String()
    user_id = fields.String()
    kind = fields.String()
    subject = fields.String()
    body = fields.String()
    status = fields.String()
    owner_id = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Method("_overdue")
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    # set on a complaint kept after its author's erasure (``user_id`` is then ``erased:<request>``)
    retain_until = fields.AwareDateTime(allow_none=True)

    def _overdue(self, query) -> bool:
        return query.overdue(clock.now())


class QueryDetailSchema(QuerySchema):
    history = fields.List(fields.Nested(EntrySchema), attribute="entries")


class QueryPageSchema(Schema):
    items = fields.List(fields.Nested(QuerySchema))
    next_cursor = fields.String(allow_none=True)


# --- privacy export (internal: identity assembles every service's section) ----------------------

VIEWS_AND_DOWNLOADS = {
    "kept_by_content": False,
    "note": "content keeps no record of what a person viewed or downloaded: every view and download is an "
            "event (content.item.viewed, content.collateral.downloaded) handed to the audit service's "
            "server log store, where the audit section of this export lists them. content's outbox holds "
            "a copy only until it is published, and forgets published rows after a day.",
}


class MembershipExportSchema(Schema):
    company_id = fields.String()
    active = fields.Boolean()
    as_of = fields.AwareDateTime()


class StaffEntryExportSchema(Schema):
    """A step written on someone else's query: the text is left out, it is about that person."""

    id = fields.String()
    query_id = fields.String()
    kind = fields.String()
    created_at = fields.AwareDateTime()


class StaffWorkSchema(Schema):
    owned_query_ids = fields.List(fields.String())
    entries_written = fields.List(fields.Nested(StaffEntryExportSchema), attribute="entries_on_others")


class AuthoredItemSchema(Schema):
    id = fields.String()
    title = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_by = fields.String()
    updated_at = fields.AwareDateTime()


class UploadSchema(Schema):
    id = fields.String()
    item_id = fields.String()
    filename = fields.String()
    size = fields.Integer()
    created_at = fields.AwareDateTime()


class PersonalDataSchema(Schema):
    questions = fields.List(fields.Nested(QueryDetailSchema))
    complaints = fields.List(fields.Nested(QueryDetailSchema))
    views_and_downloads = fields.Constant(VIEWS_AND_DOWNLOADS)
    memberships = fields.List(fields.Nested(MembershipExportSchema))
    staff_work = fields.Function(lambda data: StaffWorkSchema().dump(data))
    authored_items = fields.List(fields.Nested(AuthoredItemSchema), attribute="items")
    uploaded_files = fields.List(fields.Nested(UploadSchema), attribute="collaterals")


class PersonalExportSchema(Schema):
    service = fields.Constant("content")
    data = fields.Nested(PersonalDataSchema)
