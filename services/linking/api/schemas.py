"""Marshmallow schemas at linking's HTTP edge: what comes in is checked, what goes out is chosen."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.linking.domain.model import Role

# A DNS name: labels of letters, digits and inner hyphens, a non-numeric top-level label.
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
ID = validate.Length(min=1, max=64)


class Text(fields.String):
    """A string with surrounding whitespace removed (so "  " is empty, not a name)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class StrictBoolean(fields.Boolean):
    """JSON true/false only: consent is never inferred from "yes", 1 or "on"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be a JSON boolean.")
        return value


def _domain(value: str) -> str:
    lowered = value.lower().rstrip(".")
    if not DOMAIN_RE.match(lowered):
        raise ValidationError("Not a valid domain name.")
    return lowered


class Domain(fields.String):
    """A DNS name, lower-cased; blank means none."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        return _domain(text) if text else None


# --- input -------------------------------------------------------------------------------------------

class CompanyIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    domain = Domain(load_default=None, allow_none=True)
    primary_contact_user_id = fields.String(required=True, validate=ID)


class SearchArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # cache busters and the like are ignored, not refused

    q = Text(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))


class PageArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class TransferIn(Schema):
    user_id = fields.String(required=True, validate=ID)


class RoleIn(Schema):
    role = fields.Enum(Role, by_value=True, required=True)


class LinkRequestIn(Schema):
    share_contact = StrictBoolean(required=True)
    message = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class EmptyIn(Schema):
    """No fields: anything sent is refused as unknown."""


class RejectIn(Schema):
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


# --- output ------------------------------------------------------------------------------------------

class CompanyPublicOut(Schema):
    """What any logged-in user may know of a company (to find one to join)."""

    id = fields.String()
    name = fields.String()
    domain = fields.String(allow_none=True)


class CompanyOut(CompanyPublicOut):
    primary_contact_user_id = fields.String()
    created_at = fields.DateTime()


class CompanyPageOut(Schema):
    items = fields.List(fields.Nested(CompanyPublicOut))
    next_offset = fields.Integer(allow_none=True)


class MemberRoleOut(Schema):
    company_id = fields.String()
    user_id = fields.String()
    role = fields.Enum(Role, by_value=True)
    joined_at = fields.DateTime()


class MemberOut(Schema):
    user_id = fields.String(attribute="member.user_id")
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.Enum(Role, by_value=True, attribute="member.role")
    primary_contact = fields.Boolean()
    joined_at = fields.DateTime(attribute="member.joined_at")


class MemberPageOut(Schema):
    items = fields.List(fields.Nested(MemberOut))
    next_offset = fields.Integer(allow_none=True)


class LinkRequestOut(Schema):
    id = fields.String()
    company_id = fields.String()
    user_id = fields.String()
    status = fields.String(attribute="status.value")
    message = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)


class SharedContactOut(Schema):
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)


class PendingRequestOut(Schema):
    """A pending request as its company's managers see it: the requester's shared contact details and
    their message, nothing else about them."""

    id = fields.String(attribute="request.id")
    company_id = fields.String(attribute="request.company_id")
    status = fields.String(attribute="request.status.value")
    message = fields.String(attribute="request.message", allow_none=True)
    created_at = fields.DateTime(attribute="request.created_at")
    contact = fields.Nested(SharedContactOut, allow_none=True)


class PendingPageOut(Schema):
    items = fields.List(fields.Nested(PendingRequestOut))
    next_offset = fields.Integer(allow_none=True)


class OwnRequestOut(Schema):
    id = fields.String(attribute="request.id")
    company = fields.Nested(CompanyPublicOut)
    status = fields.String(attribute="request.status.value")
    message = fields.String(attribute="request.message", allow_none=True)
    created_at = fields.DateTime(attribute="request.created_at")
    decided_at = fields.DateTime(attribute="request.decided_at", allow_none=True)
    reason = fields.String(attribute="request.reason", allow_none=True)


class OwnRequestPageOut(Schema):
    items = fields.List(fields.Nested(OwnRequestOut))
    next_offset = fields.Integer(allow_none=True)


class MembershipOut(Schema):
    company = fields.Nested(CompanyPublicOut)
    role = fields.Enum(Role, by_value=True, attribute="member.role")
    primary_contact = fields.Method("_is_primary")
    joined_at = fields.DateTime(attribute="member.joined_at")

    def _is_primary(self, obj: Any) -> bool:
        return bool(obj.company.primary_contact_user_id == obj.member.user_id)


class MembershipListOut(Schema):
    items = fields.List(fields.Nested(MembershipOut))
