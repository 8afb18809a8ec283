"""The ports audit's handlers depend on: the units of work they open. Adapters implement them (the
``Container`` is one ``Units``), tests may fake them."""

from __future__ import annotations

from typing import Protocol

from services.audit.adapters.uow import AuditUnitOfWork as AuditUow

__all__ = ["AuditUow", "Units"]


class Units(Protocol):
    """Where a use case opens its units of work; audit's use cases may open several (streams, batches)."""

    def uow(self) -> AuditUow:
        """For a use case that changes state (takes the write lock up front on SQLite)."""
        ...

    def read_uow(self, *, snapshot: bool = False) -> AuditUow:
        """For reads only; ``snapshot=True`` reads one consistent snapshot (verification, export)."""
        ...
