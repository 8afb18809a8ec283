"""Request and response bodies of the administrators' routes (staff roles by email, policy versions)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from services.identity.api.schemas import PolicyOut, RoleIn, StrictBoolean, _strip_email


class StaffMemberOut(Schema):
    user_id = fields.String()
    name = fields.String()
    email = fields.String()
    roles = fields.List(fields.String())


class StaffListOut(Schema):
    items = fields.List(fields.Nested(StaffMemberOut))


class GrantByEmailIn(RoleIn):
    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        return _strip_email(data)

    email = fields.Email(required=True, validate=validate.Length(max=254))


class PublishPolicyIn(Schema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(required=True, validate=validate.Length(min=1, max=200_000))
    # a JSON boolean only: whether rights are reduced decides who must accept again, so no guessing
    reduces_rights = StrictBoolean(load_default=False)


class PolicyVersionsOut(Schema):
    items = fields.List(fields.Nested(PolicyOut))
