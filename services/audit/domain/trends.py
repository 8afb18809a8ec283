"""Usage trends from access events: which requests count as a view or a download of content.

Counted from the gateway's access events (one per request), so every service's content is counted the
same way and nothing is counted twice. A person is the event's actor (a user id, or a consenting
browser's ``anonymous:<id>``); plain ``anonymous`` callers are counted as views but never as distinct
people, so they can never lift a small group over k.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

ACCESS_EVENT = "gateway.request.completed"
_VIEW = re.compile(r"^(?:/api)?/content/items/([A-Za-z0-9_.:-]{1,100})/?$")
_DOWNLOAD = re.compile(r"^(?:/api)?/content/collaterals/([A-Za-z0-9_.:-]{1,100})/download/?$")


@dataclass(frozen=True)
class Usage:
    day: date
    kind: str  # view | download
    item_id: str
    person: str | None


def classify(type_: str, actor: str, occurred_at: str, payload: dict[str, Any]) -> Usage | None:
    if type_ != ACCESS_EVENT or payload.get("method") != "GET":
        return None
    status = payload.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    path = payload.get("path")
    if not isinstance(path, str):
        return None
    match = _VIEW.match(path)
    kind = "view"
    if match is None:
        match, kind = _DOWNLOAD.match(path), "download"
        if match is None:
            return None
    day = datetime.fromisoformat(occurred_at).astimezone(UTC).date()
    person = None if actor == "anonymous" or actor.startswith("system:") else actor
    return Usage(day=day, kind=kind, item_id=match.group(1), person=person)


def visible(people: int, k: int) -> bool:
    """k-anonymity: a group is published only when at least k distinct people are in it."""
    return people >= k
