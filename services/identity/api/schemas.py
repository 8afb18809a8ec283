"""Request and response bodies of identity's public routes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

PHONE = validate.Regexp(r"^\+?[0-9][0-9 ().-]{3,30}$", error="Not a phone number.")


class UserOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    email_verified = fields.Boolean()


def _strip_email(data: Any) -> Any:
    """Forgive surrounding spaces in an address (pasted ones); the domain lowercases it."""
    if isinstance(data, dict) and isinstance(data.get("email"), str):
        data = {**data, "email": data["email"].strip()}
    return data


class RegisterIn(Schema):
    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        return _strip_email(data)

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    password = fields.String(required=True, validate=validate.Length(max=4096))  # domain checks 12..1024


class LoginIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class LoginOut(Schema):
    csrf_token = fields.String()
    session_id = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(UserOut)


class MeOut(UserOut):
    roles = fields.List(fields.String())
    created_at = fields.DateTime()
    pending_email = fields.String(allow_none=True)


class PolicyOut(Schema):
    version = fields.String()
    published_at = fields.DateTime()
    reduces_rights = fields.Boolean()


class PolicyTextOut(PolicyOut):
    text = fields.String()


class AcceptPolicyIn(Schema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=64))


class AcceptanceOut(Schema):
    version = fields.String()
    accepted_at = fields.DateTime()


class SessionOut(Schema):
    id = fields.String()
    user_agent = fields.String()
    client_ip = fields.String()
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    expires_at = fields.DateTime()
    current = fields.Boolean()


class SessionListOut(Schema):
    items = fields.List(fields.Nested(SessionOut))


class RevokedOut(Schema):
    revoked = fields.Integer()


class ResolveIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class ResolveOut(Schema):
    session_id = fields.String()
    user_id = fields.String()
    roles = fields.List(fields.String())
    csrf_hash = fields.String()
    auth_time = fields.Integer()
    policy_acceptance_required = fields.Boolean()
    # Seconds since the epoch after which this answer no longer holds (idle or absolute expiry), so the
    # gateway never keeps a session in its cache past its end.
    valid_until = fields.Integer()


class StaffUserQuery(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class StaffUserOut(UserOut):
    roles = fields.List(fields.String())
    created_at = fields.DateTime()


class RoleIn(Schema):
    role = fields.String(required=True, validate=validate.Length(min=1, max=32))


class RolesOut(Schema):
    user_id = fields.String()
    roles = fields.List(fields.String())


class TokenIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class ResetRequestIn(Schema):
    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        return _strip_email(data)

    email = fields.Email(required=True, validate=validate.Length(max=254))


class ResetConfirmIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))
    password = fields.String(required=True, validate=validate.Length(max=4096))


class AcceptedOut(Schema):
    status = fields.String()
    message = fields.String()


class ResetDoneOut(Schema):
    sessions_ended = fields.Integer()


class ProfilePatchIn(Schema):
    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        return _strip_email(data)

    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=PHONE)


class ReauthIn(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    new_password = fields.String(required=True, validate=validate.Length(max=4096))  # domain checks 12..1024


class PasswordChangedOut(Schema):
    sessions_ended = fields.Integer()


class ReauthOut(Schema):
    auth_time = fields.DateTime()
    reauth_valid_until = fields.DateTime()


class StrictBoolean(fields.Boolean):
    """JSON true or false only: a consent is explicit, never inferred from "yes", 1 or "on"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ConsentIn(Schema):
    analytics = StrictBoolean(required=True)


class ConsentOut(Schema):
    analytics = fields.Boolean()
    policy_version = fields.String(allow_none=True)
    decided = fields.Boolean()
    updated_at = fields.DateTime(allow_none=True)
