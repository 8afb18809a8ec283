"""The local projection of identity's users: only the contact details linking shows to managers.

Events may arrive out of order (at-least-once delivery, batches grouped by type), so every field
remembers when its value was true and an older value never overwrites a newer one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.linking.domain.model import Contact

CONTACT_FIELDS = ("name", "email", "phone")


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    name_as_of: datetime | None = None
    email_as_of: datetime | None = None
    phone_as_of: datetime | None = None

    def contact(self) -> Contact | None:
        """The contact details, or None while the projection knows too little to show them."""
        if not self.name or not self.email:
            return None
        return Contact(user_id=self.user_id, name=self.name, email=self.email, phone=self.phone)


def merge(record: UserRecord | None, user_id: str, changes: Mapping[str, str | None],
          as_of: datetime) -> UserRecord | None:
    """Apply the contact fields named in ``changes`` as known at ``as_of``.

    Returns the new record, or None when nothing changes (every field already newer or equal).
    A field absent from ``changes`` is left alone; present with None means identity removed it.
    """
    current = record or UserRecord(user_id=user_id)
    updates: dict[str, object] = {}
    for field in CONTACT_FIELDS:
        if field not in changes:
            continue
        seen_at: datetime | None = getattr(current, f"{field}_as_of")
        if seen_at is not None and seen_at > as_of:
            continue
        value = changes[field]
        if value is not None and not isinstance(value, str):
            value = str(value)
        if getattr(current, field) != value or seen_at != as_of:
            updates[field] = value
            updates[f"{field}_as_of"] = as_of
    if not updates:
        return None
    return replace(current, **updates)  # type: ignore[arg-type]


def erased_key(user_id: str) -> str:
    """How linking remembers an erased account: a one-way key (it matches only an id one already holds)."""
    return hashlib.sha256(f"erased-user:{user_id}".encode()).hexdigest()
