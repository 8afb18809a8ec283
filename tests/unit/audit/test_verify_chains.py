"""The verifier of a store of several chains after retention: each chain resumes after its own signed record,
and what is wrong with one chain's range or record is named with that chain — on plain rows, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, canonical_payload, chain_hash
from services.audit.domain.verify import Head, KeptDigest, RetentionRecord
from services.audit.domain.verify_chains import verify_chains

SIGNER = signing.Signer(Ed25519PrivateKey.generate())
VERIFIER = signing.Verifier([SIGNER.public])
START = datetime(2026, 3, 1, tzinfo=UTC)


def two_chains(n: int) -> tuple[list[dict], dict[int, Head]]:
    """Rows 1..n, odd numbers in chain 0 and even ones in chain 1, each linked to the one before in its chain."""
    rows, prev = [], {0: GENESIS, 1: GENESIS}
    for seq in range(1, n + 1):
        chain = 1 - seq % 2
        r = {"seq": seq, "chain": chain, "event_id": f"00000000-0000-4000-8000-{seq:012d}",
             "type": "identity.user.registered", "actor": f"user-{seq % 3}", "subject": f"user-{seq}",
             "correlation_id": f"req-{seq}", "occurred_at": START + timedelta(seconds=seq),
             "stored_at": START + timedelta(seconds=seq, milliseconds=5), "producer": "identity", "version": 1,
             "payload": canonical_payload({"n": seq})}
        r["prev_hash"], r["hash"] = prev[chain], chain_hash(prev[chain], r)
        prev[chain] = r["hash"]
        rows.append(r)
    heads = {}
    for chain in (0, 1):
        last = max(r["seq"] for r in rows if r["chain"] == chain)
        head = Head(last, prev[chain], 0, "2026-03-02T00:00:00+00:00", chain=chain)
        heads[chain] = replace(head, signature=SIGNER.sign(head.message()), key_id=SIGNER.key_id)
    return rows, heads


def cut(rows: list[dict], chain: int, last_seq: int, keep: set[int],
        cutoff: str = "2026-03-01T00:00:00+00:00") -> tuple[list[dict], RetentionRecord]:
    """Retention of ``chain`` up to ``last_seq``, keeping ``keep``: the rows left and the signed record."""
    kept, left, removed = KeptDigest(), [], 0
    for r in rows:
        if r["chain"] == chain and r["seq"] <= last_seq:
            if r["seq"] not in keep:
                removed += 1
                continue
            kept.add(r["seq"], r["hash"])
        left.append(r)
    anchor = next(r["hash"] for r in rows if r["seq"] == last_seq)
    record = RetentionRecord(1, last_seq, removed, kept.count, kept.hexdigest(), anchor, cutoff,
                             "2026-04-01T00:00:00+00:00", chain=chain)
    return left, replace(record, signature=SIGNER.sign(record.message()))


def run(rows, heads, records):
    return verify_chains(rows, verifier=VERIFIER, heads=heads, checkpoints={}, anchored={}, root=None,
                         retention=records, retention_days=30, anchor_required=False)


def test_each_chain_resumes_after_its_own_retention_record():
    rows, heads = two_chains(30)
    rows, zero = cut(rows, 0, 13, keep={5})
    rows, one = cut(rows, 1, 20, keep={4, 18})
    result = run(rows, heads, {0: zero, 1: one})
    assert result.ok, result.problems
    assert result.checked == 8 + 1 + 5 + 2  # chain 0: 15..29 and 5; chain 1: 22..30 and 4, 18
    assert result.last_seq == 30


@pytest.mark.parametrize("tamper", ["delete_after", "delete_kept", "edit_kept", "forge_record", "move_record",
                                    "too_young"])
def test_tampering_with_one_chains_retention_is_named_with_that_chain(tamper):
    rows, heads = two_chains(30)
    rows, zero = cut(rows, 0, 13, keep={5})
    cutoff = "2026-03-31T00:00:00+00:00" if tamper == "too_young" else "2026-03-01T00:00:00+00:00"
    rows, one = cut(rows, 1, 20, keep={4, 18}, cutoff=cutoff)
    records = {0: zero, 1: one}
    expected = {"delete_after": "chain 1: row does not link to the row before it in its chain (a row missing after 20",
                "delete_kept": "chain 1: rows kept by retention changed (1 of 2)",
                "edit_kept": "chain 1: row kept by retention was altered",
                "forge_record": "chain 1: retention record signature is invalid",
                "move_record": "chain 1: retention record signature is invalid",
                "too_young": "chain 1: retention record cuts too young"}[tamper]
    if tamper == "delete_after":
        rows = [r for r in rows if r["seq"] != 22]
    elif tamper == "delete_kept":
        rows = [r for r in rows if r["seq"] != 18]
    elif tamper == "edit_kept":
        rows = [{**r, "subject": "edited"} if r["seq"] == 4 else r for r in rows]
    elif tamper == "forge_record":
        records[1] = replace(one, last_seq=22, removed=one.removed + 1)
        rows = [r for r in rows if r["seq"] != 22]
    else:
        records[1] = replace(zero, chain=1) if tamper == "move_record" else one
    result = run(rows, heads, records)
    assert not result.ok
    assert any(p.startswith(expected) for _s, p in result.problems), result.problems
    assert all(p.startswith("chain 1: ") for _s, p in result.problems), result.problems
