"""Verifying a store of several chains (docs/audit.md, "Several chains"): every row links to the one before it
in its own chain, each chain's signed checkpoints, signed head, anchored head and retention record hold as for
one chain (``domain.verify``), and the latest signed root names every chain's head."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, chain_hash
from services.audit.domain.verify import (
    Checkpoint,
    Head,
    KeptDigest,
    RetentionRecord,
    Root,
    VerifyResult,
    checked_checkpoints,
    cut_too_young,
    kept_matches,
)


@dataclass
class _Walk:
    """One chain's state while the rows of a store of several chains go by in sequence order. After a
    retention record: rows up to ``boundary`` are the kept ones, and the chain resumes from its anchor hash."""

    running: str = GENESIS
    last: int = 0
    broken: bool = False
    boundary: int = 0
    retention: RetentionRecord | None = None
    kept: KeptDigest = field(default_factory=KeptDigest)


def verify_chains(rows: Iterable[Mapping[str, Any]], *, verifier: signing.Verifier, heads: Mapping[int, Head],
                  checkpoints: Mapping[int, Sequence[Checkpoint]], anchored: Mapping[int, Head],
                  root: Root | None, retention: Mapping[int, RetentionRecord] | None = None,
                  retention_days: int | None = None, anchor_required: bool = True) -> VerifyResult:
    """Numbers are shared between chains, so a row missing in the middle shows as the next row of its chain not
    linking; a chain dropped whole, or its tail with its head put back, is named by the signed root.
    ``retention``: each chain's latest retention record (its range kept rows must match its digest, the chain
    resumes from its anchor hash); ``retention_days``: the period a record's cut-off must respect."""
    result = VerifyResult()

    def broken(seq: int, problem: str) -> None:
        result.problems.append((seq, problem))

    def signed(message: Mapping[str, Any], signature: str, what: str, seq: int, by: str | None = None) -> bool:
        if not verifier.verify(message, signature, by):
            broken(seq, f"{what} signature is invalid")
            return False
        return True

    records = dict(retention or {})
    rooted = {c for c, _s, _h in (root.heads if root else ())}
    chains = sorted(set(heads) | set(checkpoints) | set(anchored) | rooted | set(records))
    pinned: dict[int, tuple[int, str, str]] = {}  # seq -> (chain, hash, what signed it)
    walks = {chain: _Walk() for chain in chains}
    for chain in chains:
        head = heads.get(chain)
        if head is None:
            named = "the signed root" if chain in rooted else "its checkpoints, anchored heads or retention records"
            broken(0, f"chain {chain} missing: its head row is gone (named by {named})")
            continue
        name = f"chain {chain}: "
        if head.seq > 0 or head.signature:
            signed(head.message(), head.signature, f"{name}head", head.seq + 1, head.key_id)
            if head.chain != chain:
                broken(head.seq + 1, f"{name}head signed for another chain")
        own = checkpoints.get(chain, ())
        by_seq = checked_checkpoints(own, lambda m, s, w, q, b=None, n=name: signed(m, s, n + w, q, b),
                                     lambda q, p, n=name: broken(q, n + p), head, False)
        pinned.update({seq: (chain, digest, "its signed checkpoint") for seq, digest in by_seq.items()})
        anchor = anchored.get(chain)
        if anchor is not None:
            signed(anchor.message(), anchor.signature, f"{name}anchored head at {anchor.seq}", anchor.seq,
                   anchor.key_id)
            if anchor.seq:
                pinned.setdefault(anchor.seq, (chain, anchor.hash, "the anchored head"))
        elif anchor_required and head.seq > 0:
            broken(head.seq + 1, f"{name}the external anchor holds no signed head (anchor missing or emptied)")
        record = records.get(chain)
        if record is not None:
            _resume_after(walks[chain], record, name, signed, broken, retention_days)
    if root is not None:
        signed(root.message(), root.signature, "signed root", 0, root.key_id or None)
        for chain, seq, digest in root.heads:
            if seq:
                pinned.setdefault(seq, (chain, digest, "the signed root"))
    for row in rows:
        seq, chain = row["seq"], row["chain"]
        result.checked += 1
        walk = walks.get(chain)
        if walk is None:
            walk = walks[chain] = _Walk()
            broken(seq, f"chain {chain}: rows of a chain the store has no head for")
            walk.broken = True
        if walk.broken:
            continue
        name = f"chain {chain}: "
        if seq <= walk.boundary:
            if chain_hash(row["prev_hash"], row) != row["hash"]:
                broken(seq, f"{name}row kept by retention was altered")
                walk.broken = True
            walk.kept.add(seq, row["hash"])
            continue
        if walk.retention is not None:
            record, walk.retention = walk.retention, None
            if not kept_matches(record, walk.kept, lambda q, p, n=name: broken(q, n + p)):
                walk.broken = True
                continue
        if row["prev_hash"] != walk.running:
            broken(seq, f"{name}row does not link to the row before it in its chain (a row missing after "
                        f"{walk.last}, or this one inserted or moved)")
            walk.broken = True
            continue
        digest = chain_hash(walk.running, row)
        if digest != row["hash"]:
            broken(seq, f"{name}row was altered (hash mismatch)")
            walk.broken = True
            continue
        pin = pinned.get(seq)
        if pin is not None and (pin[0] != chain or pin[1] != digest):
            broken(seq, f"{name}row differs from {pin[2]} (chain recomputed)")
            walk.broken = True
            continue
        walk.running, walk.last = digest, seq
    for chain, walk in walks.items():
        if walk.broken:
            continue
        name = f"chain {chain}: "
        if walk.retention is not None and not kept_matches(walk.retention, walk.kept,
                                                           lambda q, p, n=name: broken(q, n + p)):
            continue
        beyond = [(s, what) for s, (c, _h, what) in pinned.items() if c == chain and s > walk.last]
        if beyond:
            seq, what = max(beyond)
            broken(walk.last + 1, f"{name}rows missing at the end: {what} names seq {seq}")
        head = heads.get(chain)
        if head is not None and (head.seq, head.hash) != (walk.last, walk.running):
            broken(min(head.seq, walk.last) + 1, f"{name}head is at {head.seq}, its rows end at {walk.last}")
    result.last_seq = max((w.last for w in walks.values()), default=0)
    if result.problems:
        result.ok = False
        result.first_broken, result.problem = min(result.problems, key=lambda p: p[0])
    return result


def _resume_after(walk: _Walk, record: RetentionRecord, name: str, signed, broken, retention_days: int | None) -> None:
    """Start a chain's walk after its retention record: signed for this chain, not cutting too young."""
    signed(record.message(), record.signature, f"{name}retention record", record.first_seq)
    if retention_days is not None and cut_too_young(record, retention_days):
        broken(record.first_seq, f"{name}retention record cuts too young: cut-off {record.cutoff}, made "
                                 f"{record.created_at}, retention period {retention_days} days")
    walk.boundary = walk.last = record.last_seq
    walk.running, walk.retention = record.anchor_hash, record
