"""audit's own gauges for Prometheus, read at scrape time: the chain head, the last signed checkpoint and
the last verification (the ``audit.integrity.checked`` event it left in the log)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, func, select

from services.audit.adapters.tables import audit_events, chain_head, checkpoints
from shared.metrics import StateReader, age_seconds, gauge

CHECKED = "audit.integrity.checked"


def chain_reader(engine: Engine) -> StateReader:
    def read() -> Iterable:
        with engine.connect() as conn:
            head = conn.execute(select(func.max(chain_head.c.seq))).scalar()  # the newest of every chain
            checkpoint = conn.execute(select(checkpoints.c.seq, checkpoints.c.created_at)
                                      .order_by(checkpoints.c.seq.desc()).limit(1)).first()
            checked = conn.execute(select(audit_events.c.occurred_at, audit_events.c.payload)
                                   .where(audit_events.c.type == CHECKED)
                                   .order_by(audit_events.c.seq.desc()).limit(1)).first()
        yield gauge("portal_audit_chain_head_seq", "Sequence number of the last stored audit event", [],
                    [([], head or 0)])
        yield gauge("portal_audit_last_checkpoint_seq", "Sequence number the last signed checkpoint covers", [],
                    [([], checkpoint.seq if checkpoint else 0)])
        yield gauge("portal_audit_last_checkpoint_age_seconds", "Age of the last signed checkpoint", [],
                    [([], age_seconds(datetime.fromisoformat(checkpoint.created_at)) if checkpoint else 0)])
        if checked is not None:
            ok = _ok(checked.payload)
            yield gauge("portal_audit_last_verification_timestamp_seconds",
                        "When the chain was last verified (Unix time)", [], [([], checked.occurred_at.timestamp())])
            yield gauge("portal_audit_last_verification_ok", "1 if the last verification found the chain intact",
                        [], [([], 1.0 if ok else 0.0)])

    return read


def _ok(payload: str) -> bool:
    try:
        return bool(json.loads(payload).get("ok"))
    except (ValueError, AttributeError):
        return False
