"""Events the gateway produces."""

from marshmallow import Schema, fields

from shared.events.registry import event_schema


@event_schema("gateway.request.completed", 1)
class RequestCompletedV1(Schema):
    """One per request through the gateway: the server log line of the privacy policy."""

    method = fields.String(required=True)
    path = fields.String(required=True)
    query = fields.String(load_default="")
    status = fields.Integer(required=True)
    duration_ms = fields.Float(required=True)
    service = fields.String(load_default=None, allow_none=True)
    user_id = fields.String(load_default=None, allow_none=True)
    anonymous_id = fields.String(load_default=None, allow_none=True)
    session_hash = fields.String(load_default=None, allow_none=True)
    user_agent = fields.String(load_default="")
    client_ip = fields.String(load_default="")
    bytes_sent = fields.Integer(load_default=None, allow_none=True)
