"""Usage trends from access events: which requests count as a view or a download of content.

Views are counted from the gateway's access events (one per request); downloads from content's
``content.collateral.downloaded`` events, which name the content item the file belongs to, so
downloads are counted per item (the gateway only sees a collateral id in the path). A resumed download
(a range not starting at byte 0) is not counted again. A person is the event's actor (a user id, or a consenting
browser's ``anonymous:<id>``); plain ``anonymous`` callers are counted as views but never as distinct
people, so they can never lift a small group over k.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

ACCESS_EVENT = "gateway.request.completed"
DOWNLOAD_EVENT = "content.collateral.downloaded"
_VIEW = re.compile(r"^(?:/api)?/content/items/([A-Za-z0-9_.:-]{1,100})/?$")
_ITEM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class Usage:
    day: date
    kind: str  # view | download
    item_id: str
    person: str | None


def classify(type_: str, actor: str, occurred_at: str, payload: dict[str, Any]) -> Usage | None:
    if type_ == DOWNLOAD_EVENT:
        return _download(actor, occurred_at, payload)
    if type_ != ACCESS_EVENT or payload.get("method") != "GET":
        return None
    status = payload.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    path = payload.get("path")
    if not isinstance(path, str):
        return None
    match = _VIEW.match(path)
    if match is None:
        return None
    return _usage("view", match.group(1), actor, occurred_at)


def _download(actor: str, occurred_at: str, payload: dict[str, Any]) -> Usage | None:
    item_id = payload.get("item_id")
    if not isinstance(item_id, str) or not _ITEM_ID.match(item_id):
        return None
    rng = payload.get("range")
    if isinstance(rng, str) and not rng.startswith("bytes 0-"):
        return None  # the rest of a download already counted
    return _usage("download", item_id, actor, occurred_at)


def _usage(kind: str, item_id: str, actor: str, occurred_at: str) -> Usage:
    day = datetime.fromisoformat(occurred_at).astimezone(UTC).date()
    person = None if actor == "anonymous" or actor.startswith("system:") else actor
    return Usage(day=day, kind=kind, item_id=item_id, person=person)


def visible(people: int, k: int) -> bool:
    """k-anonymity: a group is published only when at least k distinct people are in it."""
    return people >= k
