"""audit's use cases, one module per area. A use case takes the ``Units`` (``handlers/ports.py``) it opens its
units of work from: one transaction for most, several for a stream, an export or a batch split across chains."""

from services.audit.handlers.ingest import store_events

__all__ = ["store_events"]
