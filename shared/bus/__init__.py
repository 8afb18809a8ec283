"""Messaging: the Celery app factory, the ``events`` topology, publishing and consuming batches."""
