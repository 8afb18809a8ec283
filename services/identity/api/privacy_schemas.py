"""Request and response bodies of identity's privacy routes (exports, erasures, legal holds)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from shared import clock


class EmptyIn(Schema):
    """No fields: the request itself is the whole message (anything sent is refused as unknown)."""


class SectionOut(Schema):
    status = fields.String()
    received_at = fields.DateTime(allow_none=True)


class ExportOut(Schema):
    id = fields.String()
    status = fields.String()  # pending | completed | expired
    requested_at = fields.DateTime()
    due_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    available_until = fields.DateTime(allow_none=True)
    sections = fields.Dict(keys=fields.String(), values=fields.Nested(SectionOut))
    download_url = fields.String()
    download_expires_at = fields.DateTime()


class ExportListOut(Schema):
    items = fields.List(fields.Nested(ExportOut))


class DownloadArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # cache busters and the like are ignored

    expires = fields.Integer(required=True, validate=validate.Range(min=0, max=2**40))
    signature = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$",
                                                                       error="Not a download link signature."))


class KeptOut(Schema):
    data = fields.String()
    reason = fields.String()
    until = fields.String(allow_none=True)


class ResultOut(Schema):
    erased = fields.List(fields.String())
    kept = fields.List(fields.Nested(KeptOut))
    answered_at = fields.DateTime()


class ErasureOut(Schema):
    id = fields.String()
    status = fields.String()  # pending | completed | withheld
    requested_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)  # why it is withheld
    until = fields.DateTime(allow_none=True)  # the hold's end, when it has one
    waiting_for = fields.List(fields.String())
    results = fields.Dict(keys=fields.String(), values=fields.Nested(ResultOut))


class HoldIn(Schema):
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    until = fields.AwareDateTime(load_default=None, allow_none=True)


class HoldOut(Schema):
    id = fields.String()
    user_id = fields.String()
    reason = fields.String()
    until = fields.DateTime(allow_none=True)
    owner_id = fields.String()
    placed_at = fields.DateTime()
    released_at = fields.DateTime(allow_none=True)
    released_by = fields.String(allow_none=True)
    active = fields.Method("_active")

    def _active(self, hold: Any) -> bool:
        return bool(hold.active(clock.now()))


class HoldQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    user_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    include_released = fields.Boolean(load_default=False)


class HoldListOut(Schema):
    items = fields.List(fields.Nested(HoldOut))
