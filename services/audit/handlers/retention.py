"""Retention: remove whole ranges of old events, keep those of people under legal hold, and leave a
signed record so the chain still verifies (docs/audit.md, "Retention")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.audit.domain.chain import iso
from services.audit.domain.verify import KeptDigest, RetentionRecord
from services.audit.handlers.ports import Units
from shared import clock


class RetentionTooShort(ValueError):
    """A cut-off younger than the configured retention period (PORTAL_AUDIT_RETENTION_DAYS)."""


class RetentionNotPartitioned(ValueError):
    """Retention cuts one chain's range; a store of several chains is refused (nothing removed)."""


def retain(units: Units, older_than_days: int) -> dict[str, Any] | None:
    """Remove every event stored before ``now - older_than_days`` (one range: from the start of the
    chain to the last such event) except those of people under legal hold. None when nothing is due.
    Refuses a cut-off younger than the retention period: the log is kept at least that long."""
    now = clock.now()
    cutoff = now - timedelta(days=older_than_days)
    with units.uow() as uow:
        period = uow.settings.retention_days
        if older_than_days < period:
            raise RetentionTooShort(f"--older-than {older_than_days} is shorter than the retention period of "
                                    f"{period} days (PORTAL_AUDIT_RETENTION_DAYS)")
        if uow.chain.chains > 1:
            raise RetentionNotPartitioned("retention of a store of several chains is not built yet "
                                          "(docs/audit.md, \"Several chains\"): nothing was removed")
        uow.chain.lock_head()  # no batch is appended while the range is cut
        last_seq = uow.chain.last_seq_stored_before(cutoff)
        previous = uow.chain.latest_retention()
        if last_seq is None or (previous is not None and last_seq <= previous.last_seq):
            return None
        held = uow.compliance.held_people(now)
        held_actors = {uow.token(person) for person in held}  # actors are matched by their blind index
        kept = KeptDigest()
        removed = 0
        anchor = ""
        for chunk in uow.chain.range_chunks(last_seq):
            held_refs = uow.compliance.seqs_about(held, chunk[0]["seq"], chunk[-1]["seq"]) if held else set()
            doomed = []
            for row in chunk:
                if row["seq"] == last_seq:
                    anchor = row["hash"]
                if row["actor_ix"] in held_actors or row["subject"] in held or row["seq"] in held_refs:
                    kept.add(row["seq"], row["hash"])
                else:
                    doomed.append(row["seq"])
            uow.chain.delete(doomed)
            removed += len(doomed)
        record = RetentionRecord(first_seq=1, last_seq=last_seq, removed=removed, kept=kept.count,
                                 kept_digest=kept.hexdigest(), anchor_hash=anchor, cutoff=iso(cutoff),
                                 created_at=iso(now))
        signed = uow.chain.add_retention(record)
        uow.emit("audit.retention.applied", subject="audit:chain", payload={
            "first_seq": 1, "last_seq": last_seq, "removed": removed, "kept": kept.count, "cutoff": iso(cutoff)})
        uow.commit()
    return {**signed.message(), "signature": signed.signature}
