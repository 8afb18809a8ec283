"""The event envelope, the registry of versioned payload schemas, and compatibility checks."""

from shared.events.envelope import EnvelopeSchema, Event, load_events, new_event
from shared.events.registry import event_schema, registered_types, schema_for

__all__ = [
    "Event",
    "EnvelopeSchema",
    "event_schema",
    "load_events",
    "new_event",
    "registered_types",
    "schema_for",
]
