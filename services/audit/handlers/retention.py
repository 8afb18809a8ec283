"""Retention: remove whole ranges of old events (per chain), keep those of people under legal hold, and leave
a signed record so the chain still verifies (docs/audit.md, "Retention")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.audit.domain.chain import iso
from services.audit.domain.verify import KeptDigest, RetentionRecord
from services.audit.handlers.ports import AuditUow, Units
from shared import clock


class RetentionTooShort(ValueError):
    """A cut-off younger than the configured retention period (PORTAL_AUDIT_RETENTION_DAYS)."""


def retain(units: Units, older_than_days: int) -> dict[str, Any] | None:
    """Remove every event stored before ``now - older_than_days`` (per chain one range: from the start of the
    chain to its last such event) except those of people under legal hold, and sign a record per chain cut.
    None when nothing is due. Refuses a cut-off younger than the retention period: the log is kept at least
    that long. One chain: the record itself; several: ``{removed, kept, records}`` (one record per chain cut)."""
    now = clock.now()
    cutoff = now - timedelta(days=older_than_days)
    with units.uow() as uow:
        period = uow.settings.retention_days
        if older_than_days < period:
            raise RetentionTooShort(f"--older-than {older_than_days} is shorter than the retention period of "
                                    f"{period} days (PORTAL_AUDIT_RETENTION_DAYS)")
        chains = uow.chain.chains
        for chain in range(chains):  # in chain order, like nobody else: writers hold one head at a time
            uow.chain.lock_head(chain)  # no batch is appended while the ranges are cut
        held = uow.compliance.held_people(now)
        records = [signed for chain in range(chains)
                   if (signed := _cut_chain(uow, chain, cutoff, now, held)) is not None]
        uow.commit()
    if not records:
        return None
    if chains == 1:
        return _shown(records[0])
    return {"removed": sum(r.removed for r in records), "kept": sum(r.kept for r in records),
            "records": [_shown(r) for r in records]}


def _shown(record: RetentionRecord) -> dict[str, Any]:
    return {**record.message(), "signature": record.signature}


def _cut_chain(uow: AuditUow, chain: int, cutoff: datetime, now: datetime, held: set[str]) -> RetentionRecord | None:
    """One chain's range up to its last row stored before ``cutoff``: delete it but the held people's rows,
    sign a record of it and announce it. None when the chain's latest record already covers it."""
    several = uow.chain.chains > 1
    last_seq = uow.chain.last_seq_stored_before(cutoff, chain)
    previous = uow.chain.latest_retention(chain)
    if last_seq is None or (previous is not None and last_seq <= previous.last_seq):
        return None
    held_actors = {uow.token(person) for person in held}  # actors are matched by their blind index
    kept = KeptDigest()
    removed = 0
    anchor = ""
    for chunk in uow.chain.range_chunks(last_seq, chain):
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
                             created_at=iso(now), chain=chain if several else None)
    signed = uow.chain.add_retention(record)
    uow.emit("audit.retention.applied", subject=f"audit:chain:{chain}" if several else "audit:chain", payload={
        "first_seq": 1, "last_seq": last_seq, "removed": removed, "kept": kept.count, "cutoff": iso(cutoff)})
    return signed
