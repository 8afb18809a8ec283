"""audit's use cases, one module per area; each function is one transaction (one unit of work)."""

from services.audit.handlers.ingest import store_events

__all__ = ["store_events"]
