"""Verifying the chain against its signed checkpoints, signed head, external anchor and retention records;
signing again what the old HMAC key signed (``portal audit resign``)."""

from __future__ import annotations

from typing import Any

from services.audit.domain.chain import iso
from services.audit.domain.verify import Checkpoint, Head, VerifyResult, is_legacy, verify_chain
from services.audit.domain.verify_chains import verify_chains
from services.audit.handlers.ports import AuditUow, Units
from shared import clock


def verify(units: Units) -> VerifyResult:
    """One consistent snapshot of the store (rows appended meanwhile are not half seen). The anchor is
    read before the snapshot starts (its first query): a head is anchored only after its commit, so the
    anchored head is never ahead of the snapshot unless rows were taken away."""
    with units.read_uow(snapshot=True) as uow:
        anchored = uow.anchor.latest()
        by_chain = uow.anchor.latest_by_chain()  # both read before the snapshot's first query
        chain = uow.chain
        if chain.chain_count() > 1 or any(h.chain is not None for h in by_chain.values()):
            return _verify_chains(uow, by_chain)
        return verify_chain(chain.iter_rows(), verifier=uow.settings.verifier, checkpoints=chain.checkpoints(),
                            head=chain.head(), retention=chain.latest_retention(), anchored=anchored,
                            retention_days=uow.settings.retention_days)


def _verify_chains(uow: AuditUow, anchored: dict[int, Head]) -> VerifyResult:
    """A store of several chains: each chain (after its latest retention record) and the latest signed root
    (``domain.verify_chains``)."""
    chain = uow.chain
    heads = chain.heads()
    checkpoints = {c: chain.checkpoints(c) for c in heads}
    return verify_chains(chain.iter_rows(with_chain=True), verifier=uow.settings.verifier, heads=heads,
                         checkpoints=checkpoints, anchored=anchored, root=chain.latest_root(),
                         retention=chain.latest_retentions(), retention_days=uow.settings.retention_days)


def check(units: Units) -> VerifyResult:
    """Verify on request of a person (HTTP), and leave an ``audit.integrity.checked`` event behind."""
    result = verify(units)
    with units.uow() as uow:
        uow.emit("audit.integrity.checked", subject="audit:chain", payload={
            "ok": result.ok, "checked": result.checked, "first_broken": result.first_broken})
        uow.commit()
    return result


def describe(units: Units) -> dict[str, Any]:
    """The public key that verifies the chain, and the anchor's state (published with the result)."""
    with units.read_uow() as uow:
        return {"public_key": uow.settings.verifier.published(), "anchor": uow.anchor.describe()}


def resign(units: Units) -> dict[str, Any]:
    """Move a store signed with the old HMAC key to Ed25519: verify rows, checkpoints and the retention
    record with the old key (refusing a broken chain), then sign every checkpoint again linked to the one
    before, the retention record and the head, and anchor the head. Safe to run again."""
    with units.uow() as uow:
        chain = uow.chain
        if chain.chains > 1:
            raise NotImplementedError("a store of several chains was never signed with HMAC: nothing to resign")
        head = chain.lock_head()
        checkpoints = chain.checkpoints()
        retention = chain.latest_retention()
        result = verify_chain(chain.iter_rows(), verifier=uow.settings.verifier, checkpoints=checkpoints,
                              head=head, retention=retention, legacy_key=uow.settings.legacy_hmac_key)
        if not result.ok:
            return {"resigned": False, **result.to_dict()}
        signed, previous = [], 0
        for cp in checkpoints:
            signed.append(chain.checkpoint_row(Checkpoint(seq=cp.seq, hash=cp.hash, created_at=cp.created_at,
                                                          signature="", prev_seq=previous)))
            previous = cp.seq
        chain.replace_checkpoints(signed)
        legacy_record = retention is not None and is_legacy(retention.signature)
        if retention is not None and legacy_record:
            chain.resign_retention(retention)
        chain.sign_head(head.seq, head.hash, previous, iso(clock.now()))
        uow.commit()
    return {"resigned": True, "checkpoints": len(signed), "retention_record": legacy_record, "head": head.seq}
