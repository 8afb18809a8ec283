"""SQL repository for privacy requests: exports and their sections, erasures and their results, the
erasure ledger and legal holds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from services.identity.adapters import tables as t
from services.identity.domain.privacy import (
    COMPLETED,
    PENDING,
    ErasureRequest,
    ErasureResult,
    ExportSection,
    Kept,
    LedgerEntry,
    LegalHold,
    PrivacyExport,
)

_EXPORT_COLS = ("id", "user_id", "status", "requested_at", "due_at", "completed_at", "purged_at")
_ERASURE_COLS = ("id", "user_id", "status", "requested_at", "completed_at", "reason", "hold_until")
_HOLD_COLS = ("id", "user_id", "reason", "until", "owner_id", "placed_at", "released_at", "released_by")
_LEDGER_COLS = ("request_id", "user_id", "requested_at", "completed_at", "replayed_at")


def _changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))


class PrivacyRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    # --- exports ------------------------------------------------------------------------------------
    def add_export(self, export: PrivacyExport, services: list[str]) -> None:
        self.s.execute(insert(t.privacy_exports).values({c: getattr(export, c) for c in _EXPORT_COLS}))
        self.s.execute(insert(t.privacy_export_sections), [
            {"export_id": export.id, "service": s, "status": PENDING, "attempts": 0} for s in services])

    def export(self, export_id: str) -> PrivacyExport | None:
        row = self.s.execute(select(t.privacy_exports).where(t.privacy_exports.c.id == export_id)).mappings().first()
        return None if row is None else PrivacyExport(**{c: row[c] for c in _EXPORT_COLS})

    def exports_of(self, user_id: str) -> list[PrivacyExport]:
        pe = t.privacy_exports
        rows = self.s.execute(select(pe).where(pe.c.user_id == user_id).order_by(pe.c.requested_at)).mappings()
        return [PrivacyExport(**{c: r[c] for c in _EXPORT_COLS}) for r in rows]

    def pending_export_of(self, user_id: str) -> PrivacyExport | None:
        pe = t.privacy_exports
        row = self.s.execute(select(pe).where(pe.c.user_id == user_id, pe.c.status == PENDING)
                             .order_by(pe.c.requested_at.desc()).limit(1)).mappings().first()
        return None if row is None else PrivacyExport(**{c: row[c] for c in _EXPORT_COLS})

    def pending_exports(self) -> list[PrivacyExport]:
        pe = t.privacy_exports
        rows = self.s.execute(select(pe).where(pe.c.status == PENDING).order_by(pe.c.requested_at)).mappings()
        return [PrivacyExport(**{c: r[c] for c in _EXPORT_COLS}) for r in rows]

    def sections(self, export_id: str, with_data: bool = False) -> list[ExportSection]:
        ps = t.privacy_export_sections
        rows = self.s.execute(select(ps).where(ps.c.export_id == export_id).order_by(ps.c.service)).mappings()
        return [ExportSection(export_id=r["export_id"], service=r["service"], status=r["status"],
                              data=json.loads(r["data"]) if with_data and r["data"] is not None else None,
                              received_at=r["received_at"], attempts=r["attempts"], last_error=r["last_error"])
                for r in rows]

    def complete_section(self, export_id: str, service: str, data: Any, at: datetime) -> bool:
        ps = t.privacy_export_sections
        result = self.s.execute(update(ps).where(ps.c.export_id == export_id, ps.c.service == service,
                                                 ps.c.status == PENDING)
                                .values(status=COMPLETED, data=json.dumps(data, separators=(",", ":")),
                                        received_at=at, attempts=ps.c.attempts + 1, last_error=None))
        return _changed(result)

    def section_failed(self, export_id: str, service: str, error: str) -> None:
        ps = t.privacy_export_sections
        self.s.execute(update(ps).where(ps.c.export_id == export_id, ps.c.service == service)
                       .values(attempts=ps.c.attempts + 1, last_error=error[:500]))

    def complete_export(self, export_id: str, at: datetime) -> bool:
        pe = t.privacy_exports
        result = self.s.execute(update(pe).where(pe.c.id == export_id, pe.c.status == PENDING)
                                .values(status=COMPLETED, completed_at=at))
        return _changed(result)

    def purge_export(self, export_id: str, at: datetime) -> None:
        """Delete the sections' data; the request's record stays (with ``purged_at``)."""
        ps = t.privacy_export_sections
        self.s.execute(update(ps).where(ps.c.export_id == export_id).values(data=None))
        self.s.execute(update(t.privacy_exports).where(t.privacy_exports.c.id == export_id).values(purged_at=at))

    def completed_unpurged(self) -> list[PrivacyExport]:
        pe = t.privacy_exports
        rows = self.s.execute(select(pe).where(pe.c.status == COMPLETED, pe.c.purged_at.is_(None))).mappings()
        return [PrivacyExport(**{c: r[c] for c in _EXPORT_COLS}) for r in rows]

    def delete_exports_of(self, user_id: str) -> int:
        ids = [e.id for e in self.exports_of(user_id)]
        if ids:
            self.s.execute(delete(t.privacy_export_sections).where(t.privacy_export_sections.c.export_id.in_(ids)))
            self.s.execute(delete(t.privacy_exports).where(t.privacy_exports.c.id.in_(ids)))
        return len(ids)

    # --- erasures ----------------------------------------------------------------------------------
    def add_erasure(self, request: ErasureRequest) -> None:
        self.s.execute(insert(t.erasure_requests).values({c: getattr(request, c) for c in _ERASURE_COLS}))

    def erasure(self, request_id: str, lock: bool = False) -> ErasureRequest | None:
        query = select(t.erasure_requests).where(t.erasure_requests.c.id == request_id)
        if lock:
            query = query.with_for_update()
        row = self.s.execute(query).mappings().first()
        if row is None:
            return None
        request = ErasureRequest(**{c: row[c] for c in _ERASURE_COLS})
        request.results = self._results(request_id)
        return request

    def erasures_of(self, user_id: str) -> list[ErasureRequest]:
        er = t.erasure_requests
        rows = self.s.execute(select(er).where(er.c.user_id == user_id).order_by(er.c.requested_at)).mappings()
        return [ErasureRequest(**{c: r[c] for c in _ERASURE_COLS}) for r in rows]

    def running_erasure_of(self, user_id: str) -> ErasureRequest | None:
        er = t.erasure_requests
        row = self.s.execute(select(er.c.id).where(er.c.user_id == user_id, er.c.status == PENDING)).first()
        return None if row is None else self.erasure(row[0])

    def _results(self, request_id: str) -> dict[str, ErasureResult]:
        rs = t.erasure_results
        rows = self.s.execute(select(rs).where(rs.c.request_id == request_id).order_by(rs.c.service)).mappings()
        return {r["service"]: ErasureResult(service=r["service"], erased=json.loads(r["erased"]),
                                            kept=[Kept(**k) for k in json.loads(r["kept"])],
                                            answered_at=r["answered_at"]) for r in rows}

    def add_result(self, request_id: str, result: ErasureResult) -> bool:
        """Record a service's answer; the first answer per service stands (replays answer again)."""
        rs = t.erasure_results
        exists = self.s.execute(select(rs.c.service).where(rs.c.request_id == request_id,
                                                           rs.c.service == result.service)).first()
        if exists:
            return False
        self.s.execute(insert(rs).values(request_id=request_id, service=result.service,
                                         erased=json.dumps(result.erased),
                                         kept=json.dumps([k.to_dict() for k in result.kept]),
                                         answered_at=result.answered_at))
        return True

    def complete_erasure(self, request_id: str, at: datetime) -> bool:
        er = t.erasure_requests
        result = self.s.execute(update(er).where(er.c.id == request_id, er.c.status == PENDING)
                                .values(status=COMPLETED, completed_at=at))
        return _changed(result)

    # --- the ledger ----------------------------------------------------------------------------------
    def add_ledger_entry(self, entry: LedgerEntry) -> bool:
        exists = self.s.execute(select(t.erasure_ledger.c.request_id)
                                .where(t.erasure_ledger.c.request_id == entry.request_id)).first()
        if exists:
            return False
        self.s.execute(insert(t.erasure_ledger).values({c: getattr(entry, c) for c in _LEDGER_COLS}))
        return True

    def ledger(self) -> list[LedgerEntry]:
        el = t.erasure_ledger
        rows = self.s.execute(select(el).order_by(el.c.requested_at, el.c.request_id)).mappings()
        return [LedgerEntry(**{c: r[c] for c in _LEDGER_COLS}) for r in rows]

    def ledger_completed(self, request_id: str, at: datetime) -> None:
        self.s.execute(update(t.erasure_ledger).where(t.erasure_ledger.c.request_id == request_id)
                       .values(completed_at=at))

    def ledger_replayed(self, request_id: str, at: datetime) -> None:
        self.s.execute(update(t.erasure_ledger).where(t.erasure_ledger.c.request_id == request_id)
                       .values(replayed_at=at))

    # --- legal holds ---------------------------------------------------------------------------------
    def add_hold(self, hold: LegalHold) -> None:
        self.s.execute(insert(t.legal_holds).values({c: getattr(hold, c) for c in _HOLD_COLS}))

    def hold(self, hold_id: str) -> LegalHold | None:
        row = self.s.execute(select(t.legal_holds).where(t.legal_holds.c.id == hold_id)).mappings().first()
        return None if row is None else LegalHold(**{c: row[c] for c in _HOLD_COLS})

    def holds_of(self, user_id: str | None = None) -> list[LegalHold]:
        lh = t.legal_holds
        query = select(lh).order_by(lh.c.placed_at, lh.c.id)
        if user_id is not None:
            query = query.where(lh.c.user_id == user_id)
        return [LegalHold(**{c: r[c] for c in _HOLD_COLS}) for r in self.s.execute(query).mappings()]

    def release_hold(self, hold_id: str, at: datetime, by: str) -> bool:
        lh = t.legal_holds
        result = self.s.execute(update(lh).where(lh.c.id == hold_id, lh.c.released_at.is_(None))
                                .values(released_at=at, released_by=by))
        return _changed(result)
