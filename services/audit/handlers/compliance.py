"""The disclosure register and the public, k-anonymous trends."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from services.audit.domain import cursor as cursors
from services.audit.domain.chain import iso
from services.audit.domain.errors import InvalidInput
from services.audit.domain.trends import visible
from services.audit.handlers.ports import Units
from services.audit.handlers.search import Page, _after
from shared import clock

MAX_TREND_DAYS = 366


def record_disclosure(units: Units, body: dict[str, Any]) -> dict[str, Any]:
    """Enter a disclosure in the register; the entry is itself an audit event (same transaction)."""
    now = clock.now()
    with units.uow() as uow:
        row = {
            "id": str(uuid.uuid4()),
            "subject_user_id": body["subject_user_id"],
            "recipient": body["recipient"],
            "legal_basis": body["legal_basis"],
            "data_categories": list(body["data_categories"]),
            "source": "manual",
            "source_event_id": None,
            "recorded_by": uow.context.actor,
            "disclosed_at": body.get("disclosed_at") or now,
            "recorded_at": now,
        }
        uow.compliance.add_disclosure(row)
        uow.emit("audit.disclosure.recorded", subject=row["subject_user_id"], payload={
            "disclosure_id": row["id"], "subject_user_id": row["subject_user_id"], "recipient": row["recipient"],
            "legal_basis": row["legal_basis"], "data_categories": row["data_categories"], "source": "manual"})
        uow.commit()
    return _public_disclosure(row)


def list_disclosures(units: Units, cursor_key: bytes, *, subject_user_id: str | None, limit: int,
                     cursor: str | None) -> Page:
    fp = cursors.fingerprint("disclosures", {"subject_user_id": subject_user_id})
    after = _after(cursor_key, cursor, fp)
    with units.read_uow() as uow:
        rows = uow.compliance.list_disclosures(subject_user_id, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.encode(cursor_key, rows[-1]["n"], fp) if more and rows else None
    return Page([_public_disclosure(r) for r in rows], next_cursor)


def _public_disclosure(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "subject_user_id": row["subject_user_id"], "recipient": row["recipient"],
        "legal_basis": row["legal_basis"], "data_categories": row["data_categories"], "source": row["source"],
        "recorded_by": row["recorded_by"], "disclosed_at": iso(row["disclosed_at"]),
        "recorded_at": iso(row["recorded_at"]),
    }


def usage_trends(units: Units, k: int, start: date | None, end: date | None) -> dict[str, Any]:
    """Views and downloads per day and item, only for groups of at least k distinct people; no person
    is named, and suppressed groups are left out entirely (not even shown as "fewer than k")."""
    today = clock.now().date()
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise InvalidInput("from must not be after to.", fields={"from": ["must not be after to"]})
    if (end - start).days >= MAX_TREND_DAYS:
        raise InvalidInput(f"Ask for at most {MAX_TREND_DAYS} days.", fields={"to": [f"at most {MAX_TREND_DAYS} days"]})
    with units.read_uow() as uow:
        groups = uow.compliance.trends(start, end)
    items = [{"day": _day(g["day"]), "kind": g["kind"], "item_id": g["item_id"], "count": int(g["count"]),
              "people": int(g["people"])} for g in groups if visible(int(g["people"]), k)]
    return {"from_": start.isoformat(), "to": end.isoformat(), "k": k, "items": items}


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
