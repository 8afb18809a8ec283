"""The local view of who belongs to which company, kept from linking's events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Membership:
    company_id: str
    user_id: str
    active: bool
    as_of: datetime  # occurred_at of the newest event applied to this pair


def supersedes(current: Membership | None, occurred_at: datetime) -> bool:
    """Events may arrive late or twice (retries, redelivery); only a newer fact changes the pair."""
    return current is None or occurred_at >= current.as_of
