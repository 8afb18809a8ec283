"""Events the gateway produces."""

from marshmallow import Schema, fields

from shared.events.classification import FREE_TEXT, PERSONAL, PLAIN, PSEUDONYM
from shared.events.registry import event_schema


@event_schema("gateway.request.completed", 1)
class RequestCompletedV1(Schema):
    """One per request through the gateway: the server log line of the privacy policy."""

    method = fields.String(required=True, metadata=PLAIN)
    path = fields.String(required=True, metadata=FREE_TEXT)
    query = fields.String(load_default="", metadata=FREE_TEXT)
    status = fields.Integer(required=True)
    duration_ms = fields.Float(required=True)
    service = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    user_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    anonymous_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    session_hash = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    user_agent = fields.String(load_default="", metadata=PERSONAL)
    client_ip = fields.String(load_default="", metadata=PERSONAL)
    bytes_sent = fields.Integer(load_default=None, allow_none=True)
