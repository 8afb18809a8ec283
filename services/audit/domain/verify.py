"""Verifying the chain: walk the rows in sequence order and report the first broken position.

Detects an edited row (its hash no longer matches), a deleted row (a gap in the sequence), an inserted
or reordered row (its ``prev_hash`` does not link to the row before), a recomputed chain (a signed
checkpoint, the signed head or the anchored head disagrees), a truncated tail (a signed checkpoint, the
head or the anchor points past the last row), a dropped checkpoint (the next checkpoint, or the signed
head, names it) and a moved head (its signature). Rows removed by retention are covered by the latest
signed retention record: what is kept of that range must match its digest, and the chain resumes from
its anchor hash. Signatures are Ed25519 (``signing.Verifier``): verifying needs only the public key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, chain_hash

LEGACY_SIGNATURE_LENGTH = 64  # hex HMAC-SHA256; an Ed25519 signature is 128 hex characters
RESIGN = "run `portal audit resign` to sign it with the Ed25519 key"


def is_legacy(signature: str) -> bool:
    return len(signature or "") == LEGACY_SIGNATURE_LENGTH


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: str
    signature: str
    prev_seq: int | None = None  # the checkpoint before (0: none); None only on legacy HMAC checkpoints
    key_id: str = ""

    def message(self) -> dict[str, Any]:
        return signing.checkpoint_message(self.seq, self.hash, self.created_at, self.prev_seq or 0)

    def legacy_message(self) -> dict[str, Any]:
        return signing.legacy_checkpoint_message(self.seq, self.hash, self.created_at)


@dataclass(frozen=True)
class RetentionRecord:
    """What a retention run removed: every row up to ``last_seq`` except the ``kept`` ones."""

    first_seq: int
    last_seq: int
    removed: int
    kept: int
    kept_digest: str
    anchor_hash: str  # hash of row ``last_seq``: the chain resumes from it
    cutoff: str
    created_at: str
    signature: str = ""
    chain: int | None = None  # set only in a store of several chains: the chain whose range it covers

    def message_row(self) -> dict[str, Any]:
        out = self.message()
        del out["kind"]
        return {**out, "chain": self.chain or 0, "signature": self.signature}

    def message(self) -> dict[str, Any]:
        out = {"kind": "retention", "first_seq": self.first_seq, "last_seq": self.last_seq,
               "removed": self.removed, "kept": self.kept, "kept_digest": self.kept_digest,
               "anchor_hash": self.anchor_hash, "cutoff": self.cutoff, "created_at": self.created_at}
        return out if self.chain is None else {**out, "chain": self.chain}


@dataclass(frozen=True)
class Head:
    """The chain head: the last row, the last checkpoint, and the writer's signature over both (the same
    signed value is appended to the external anchor)."""

    seq: int
    hash: str
    checkpoint_seq: int = 0
    signed_at: str = ""
    signature: str = ""
    key_id: str = ""
    chain: int | None = None  # set only in a store of several chains (docs/audit.md, "Several chains")

    def message(self) -> dict[str, Any]:
        return signing.head_message(self.seq, self.hash, self.checkpoint_seq, self.signed_at, self.chain)

    def to_dict(self) -> dict[str, Any]:
        return {**self.message(), "signature": self.signature, "key_id": self.key_id}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Head:
        chain = d.get("chain")
        return cls(seq=int(d["seq"]), hash=str(d["hash"]), checkpoint_seq=int(d.get("checkpoint_seq") or 0),
                   signed_at=str(d.get("signed_at") or ""), signature=str(d.get("signature") or ""),
                   key_id=str(d.get("key_id") or ""), chain=None if chain is None else int(chain))


@dataclass(frozen=True)
class Root:
    """The heads of every chain of a store of several, signed together at a checkpoint."""

    heads: tuple[tuple[int, int, str], ...]  # (chain, seq, hash) in chain order
    created_at: str
    signature: str = ""
    key_id: str = ""

    def message(self) -> dict[str, Any]:
        return signing.root_message(self.heads, self.created_at)


@dataclass
class VerifyResult:
    ok: bool = True
    checked: int = 0
    first_broken: int | None = None
    problem: str | None = None
    last_seq: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "checked": self.checked, "last_seq": self.last_seq}
        if not self.ok:
            out["first_broken"] = self.first_broken
            out["problem"] = self.problem
            out["problems"] = [{"seq": s, "problem": p} for s, p in sorted(self.problems)[:50]]
        return out


class KeptDigest:
    """Digest of the rows a retention run kept (``seq:hash`` lines in order)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0

    def add(self, seq: int, hash_: str) -> None:
        self._h.update(f"{seq}:{hash_}\n".encode())
        self.count += 1

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def verify_chain(rows: Iterable[Mapping[str, Any]], *, verifier: signing.Verifier,
                 checkpoints: Sequence[Checkpoint] = (), head: Head | None = None,
                 retention: RetentionRecord | None = None, anchored: Head | None = None,
                 anchor_required: bool = True, legacy_key: bytes | None = None,
                 retention_days: int | None = None) -> VerifyResult:
    """``anchored``: the highest head in the external anchor. ``legacy_key``: accept HMAC signatures made
    with it and do not ask for the links, head signature and anchor they predate (``portal audit resign``
    only). ``retention_days``: the retention period a retention record's cut-off must respect."""
    result = VerifyResult()
    legacy_mode = legacy_key is not None

    def broken(seq: int, problem: str) -> None:
        result.problems.append((seq, problem))

    def signed(message: Mapping[str, Any], signature: str, what: str, seq: int, by: str | None = None) -> bool:
        if is_legacy(signature):
            if legacy_key is not None and signing.legacy_verify(legacy_key, message, signature):
                return True
            broken(seq, f"{what} carries the old HMAC signature: {RESIGN}" if legacy_key is None
                   else f"{what} signature is invalid")
            return False
        if not verifier.verify(message, signature, by):
            broken(seq, f"{what} signature is invalid")
            return False
        return True

    boundary = 0
    expected, running = 1, GENESIS
    kept = KeptDigest()
    if retention is not None:
        signed(retention.message(), retention.signature, "retention record", retention.first_seq)
        if retention_days is not None and cut_too_young(retention, retention_days):
            broken(retention.first_seq, f"retention record cuts too young: cut-off {retention.cutoff}, made "
                                        f"{retention.created_at}, retention period {retention_days} days")
        boundary = retention.last_seq
        expected, running = boundary + 1, retention.anchor_hash
    by_seq = checked_checkpoints(checkpoints, signed, broken, head, legacy_mode)
    if head is not None and not legacy_mode and (head.seq > 0 or head.signature):
        signed(head.message(), head.signature, "chain head", head.seq + 1, head.key_id)
    if anchored is not None:
        signed(anchored.message(), anchored.signature, f"anchored head at {anchored.seq}", anchored.seq,
               anchored.key_id)
        if anchored.checkpoint_seq and anchored.checkpoint_seq not in by_seq and anchored.checkpoint_seq > boundary:
            broken(anchored.checkpoint_seq, f"signed checkpoint at {anchored.checkpoint_seq} missing "
                                            f"(the anchored head at {anchored.seq} names it)")
    elif anchor_required and not legacy_mode and head is not None and head.seq > 0:
        broken(head.seq + 1, "the external anchor holds no signed head (anchor missing or emptied)")
    anchor_at = anchored.seq if anchored is not None else -1
    if anchored is not None and anchor_at == boundary and boundary and anchored.hash != running:
        broken(anchor_at, "the anchored head disagrees with the retention record")

    retention_checked = retention is None
    for row in rows:
        seq = row["seq"]
        result.checked += 1
        if seq <= boundary:
            if chain_hash(row["prev_hash"], row) != row["hash"]:
                broken(seq, "row kept by retention was altered")
                break
            kept.add(seq, row["hash"])
            continue
        if not retention_checked:
            retention_checked = True
            if not kept_matches(retention, kept, broken):
                break
        if seq != expected:
            broken(expected, "row missing" if seq > expected else "sequence out of order")
            break
        if row["prev_hash"] != running:
            broken(seq, "row does not link to the previous row (inserted or reordered)")
            break
        digest = chain_hash(running, row)
        if digest != row["hash"]:
            broken(seq, "row was altered (hash mismatch)")
            break
        if seq in by_seq and by_seq[seq] != digest:
            broken(seq, "row differs from its signed checkpoint (chain recomputed)")
            break
        if seq == anchor_at and anchored is not None and anchored.hash != digest:
            broken(seq, "row differs from the anchored head (chain recomputed)")
            break
        running, expected = digest, expected + 1
    else:
        if not retention_checked:
            kept_matches(retention, kept, broken)
        last = expected - 1
        result.last_seq = last
        beyond = [s for s in by_seq if s > last]
        if beyond:
            broken(last + 1, f"rows missing at the end: signed checkpoint at {max(beyond)}")
        if anchor_at > last:
            broken(last + 1, f"rows missing at the end: the anchor holds a signed head at {anchor_at}")
        if head is not None and (head.seq, head.hash) != (last, running):
            broken(min(head.seq, last) + 1, f"chain head is at {head.seq}, rows end at {last}")
    if result.problems:
        result.ok = False
        result.first_broken, result.problem = min(result.problems, key=lambda p: p[0])
    return result


def checked_checkpoints(checkpoints: Sequence[Checkpoint], signed, broken, head: Head | None,
                         legacy_mode: bool) -> dict[int, str]:
    """Signed checkpoints by seq; every checkpoint names the one before it, and the head names the last,
    so a dropped checkpoint is named by its successor (or by the head)."""
    by_seq: dict[int, str] = {}
    for cp in checkpoints:
        message = cp.legacy_message() if cp.prev_seq is None else cp.message()
        if signed(message, cp.signature, f"checkpoint at {cp.seq}", cp.seq, cp.key_id or None):
            by_seq[cp.seq] = cp.hash
    present = {cp.seq for cp in checkpoints}
    for cp in checkpoints:
        if cp.prev_seq is None:
            if not legacy_mode:
                broken(cp.seq, f"checkpoint at {cp.seq} is not linked to the one before it: {RESIGN}")
        elif cp.prev_seq and cp.prev_seq not in present:
            broken(cp.prev_seq, f"signed checkpoint at {cp.prev_seq} missing (the checkpoint at {cp.seq} names it)")
    if head is not None and head.checkpoint_seq and head.checkpoint_seq not in present and not legacy_mode:
        broken(head.checkpoint_seq, f"signed checkpoint at {head.checkpoint_seq} missing (the chain head names it)")
    beyond = sorted(s for s in present if head is not None and s > head.checkpoint_seq)
    if head is not None and beyond and not legacy_mode:
        broken(beyond[0], f"checkpoint at {beyond[0]} is beyond the last one the chain head names")
    return by_seq


def cut_too_young(record: RetentionRecord, days: int) -> bool:
    try:
        age = datetime.fromisoformat(record.created_at) - datetime.fromisoformat(record.cutoff)
    except ValueError:
        return True  # an unreadable cut-off cannot show it respected the period
    return age < timedelta(days=days)


def kept_matches(retention: RetentionRecord | None, kept: KeptDigest, broken) -> bool:
    assert retention is not None
    if kept.count != retention.kept or kept.hexdigest() != retention.kept_digest:
        broken(retention.first_seq, f"rows kept by retention changed ({kept.count} of {retention.kept})")
        return False
    return True
