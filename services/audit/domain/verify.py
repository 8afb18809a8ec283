"""Verifying the chain: walk the rows in sequence order and report the first broken position.

Detects an edited row (its hash no longer matches), a deleted row (a gap in the sequence), an inserted
or reordered row (its ``prev_hash`` does not link to the row before), a recomputed chain (a signed
checkpoint disagrees) and a truncated tail (a signed checkpoint, or the chain head, points past the
last row). Rows removed by retention are covered by the latest signed retention record: what is kept
of that range must match its digest, and the chain resumes from its anchor hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, chain_hash


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: str
    signature: str

    def message(self) -> dict[str, Any]:
        return signing.checkpoint_message(self.seq, self.hash, self.created_at)


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

    def message_row(self) -> dict[str, Any]:
        out = self.message()
        del out["kind"]
        return {**out, "signature": self.signature}

    def message(self) -> dict[str, Any]:
        return {"kind": "retention", "first_seq": self.first_seq, "last_seq": self.last_seq,
                "removed": self.removed, "kept": self.kept, "kept_digest": self.kept_digest,
                "anchor_hash": self.anchor_hash, "cutoff": self.cutoff, "created_at": self.created_at}


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


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


def verify_chain(rows: Iterable[Mapping[str, Any]], *, key: bytes, checkpoints: Sequence[Checkpoint] = (),
                 head: Head | None = None, retention: RetentionRecord | None = None) -> VerifyResult:
    result = VerifyResult()

    def broken(seq: int, problem: str) -> None:
        result.problems.append((seq, problem))

    boundary = 0
    expected, running = 1, GENESIS
    kept = KeptDigest()
    if retention is not None:
        if not signing.verify(key, retention.message(), retention.signature):
            broken(retention.first_seq, "retention record signature is invalid")
        boundary = retention.last_seq
        expected, running = boundary + 1, retention.anchor_hash
    by_seq = {}
    for cp in checkpoints:
        if not signing.verify(key, cp.message(), cp.signature):
            broken(cp.seq, "checkpoint signature is invalid")
        elif cp.seq > boundary:
            by_seq[cp.seq] = cp.hash

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
            if not _kept_matches(retention, kept, broken):
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
        running, expected = digest, expected + 1
    else:
        if not retention_checked:
            _kept_matches(retention, kept, broken)
        last = expected - 1
        result.last_seq = last
        beyond = [s for s in by_seq if s > last]
        if beyond:
            broken(last + 1, f"rows missing at the end: signed checkpoint at {max(beyond)}")
        if head is not None and (head.seq, head.hash) != (last, running):
            broken(min(head.seq, last) + 1, f"chain head is at {head.seq}, rows end at {last}")
    if result.problems:
        result.ok = False
        result.first_broken, result.problem = min(result.problems, key=lambda p: p[0])
    return result


def _kept_matches(retention: RetentionRecord | None, kept: KeptDigest, broken) -> bool:
    assert retention is not None
    if kept.count != retention.kept or kept.hexdigest() != retention.kept_digest:
        broken(retention.first_seq, f"rows kept by retention changed ({kept.count} of {retention.kept})")
        return False
    return True
