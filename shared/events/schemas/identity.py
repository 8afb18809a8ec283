"""Events the identity service produces."""

from marshmallow import Schema, fields

from shared.events.registry import event_schema


@event_schema("identity.user.registered", 1)
class UserRegisteredV1(Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)


@event_schema("identity.session.started", 1)
class SessionStartedV1(Schema):
    user_id = fields.String(required=True)
    session_id = fields.String(required=True)
    user_agent = fields.String(load_default="")
    client_ip = fields.String(load_default="")


@event_schema("identity.session.ended", 1)
class SessionEndedV1(Schema):
    user_id = fields.String(required=True)
    session_id = fields.String(required=True)
    reason = fields.String(required=True)  # logout | revoked | expired | password_reset | ...


@event_schema("identity.login.failed", 1)
class LoginFailedV1(Schema):
    # The email is personal data the policy names for security logs; no password, ever.
    email = fields.String(required=True)
    user_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(required=True)  # unknown_email | bad_password | throttled
    client_ip = fields.String(load_default="")


@event_schema("identity.role.granted", 1)
class RoleGrantedV1(Schema):
    user_id = fields.String(required=True)
    role = fields.String(required=True)
    granted_by = fields.String(required=True)
