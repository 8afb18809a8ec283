"""Tamper detection by the verifier: edited, deleted, inserted, reordered rows, truncated tail,
recomputed chains and forged signatures — on plain rows, without a database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, canonical_payload, chain_hash, iso
from services.audit.domain.verify import Checkpoint, Head, KeptDigest, RetentionRecord, verify_chain

KEY = b"test-signing-key"
START = datetime(2026, 3, 1, tzinfo=UTC)


def build(n: int, every: int = 5):
    rows, checkpoints, prev = [], [], GENESIS
    for seq in range(1, n + 1):
        r = {"seq": seq, "event_id": f"00000000-0000-4000-8000-{seq:012d}", "type": "identity.user.registered",
             "actor": f"user-{seq % 3}", "subject": f"user-{seq}", "correlation_id": f"req-{seq}",
             "occurred_at": START + timedelta(seconds=seq), "stored_at": START + timedelta(seconds=seq, milliseconds=5),
             "producer": "identity", "version": 1, "payload": canonical_payload({"n": seq})}
        r["prev_hash"], r["hash"] = prev, chain_hash(prev, r)
        prev = r["hash"]
        rows.append(r)
        if seq % every == 0:
            created = iso(r["stored_at"])
            checkpoints.append(Checkpoint(seq, r["hash"], created,
                                          signing.sign(KEY, signing.checkpoint_message(seq, r["hash"], created))))
    return rows, checkpoints, Head(n, prev)


def run(rows, checkpoints, head, **kw):
    return verify_chain(rows, key=KEY, checkpoints=checkpoints, head=head, **kw)


def rehash_from(rows, index):
    """What a forger without the key does: recompute every hash from ``index`` on."""
    prev = rows[index - 1]["hash"] if index else GENESIS
    for r in rows[index:]:
        r["prev_hash"], r["hash"] = prev, chain_hash(prev, r)
        prev = r["hash"]
    return Head(rows[-1]["seq"], prev)


def test_an_untouched_chain_verifies():
    rows, cps, head = build(23)
    result = run(rows, cps, head)
    assert (result.ok, result.checked, result.first_broken, result.last_seq) == (True, 23, None, 23)
    assert result.to_dict() == {"ok": True, "checked": 23, "last_seq": 23}


def test_edited_row_is_found():
    rows, cps, head = build(20)
    rows[11]["payload"] = canonical_payload({"n": 999})
    result = run(rows, cps, head)
    assert (result.ok, result.first_broken) == (False, 12)
    assert "altered" in result.problem


def test_deleted_row_is_found():
    rows, cps, head = build(20)
    del rows[6]
    result = run(rows, cps, head)
    assert (result.ok, result.first_broken) == (False, 7)
    assert "missing" in result.problem


def test_inserted_row_is_found():
    rows, cps, head = build(20)
    forged = copy.deepcopy(rows[8])
    forged["subject"] = "someone-else"
    forged["hash"] = chain_hash(forged["prev_hash"], forged)
    for r in rows[8:]:
        r["seq"] += 1
    rows.insert(8, forged)  # seq 9 is the forged row, the old 9 became 10
    result = run(rows, cps, Head(21, rows[-1]["hash"]))
    assert (result.ok, result.first_broken) == (False, 10)


def test_two_reordered_rows_are_found():
    rows, cps, head = build(20)
    rows[4], rows[5] = rows[5], rows[4]
    rows[4]["seq"], rows[5]["seq"] = 5, 6
    result = run(rows, cps, head)
    assert (result.ok, result.first_broken) == (False, 5)


def test_truncated_tail_is_found_against_the_last_checkpoint():
    rows, cps, _head = build(20)
    truncated = rows[:13]
    # Even with the head moved back, the signed checkpoints at 15 and 20 point past the end.
    result = run(truncated, cps, Head(13, truncated[-1]["hash"]))
    assert (result.ok, result.first_broken) == (False, 14)
    assert "checkpoint" in result.problem


def test_truncated_tail_is_found_against_the_head_between_checkpoints():
    rows, cps, head = build(23)
    result = run(rows[:21], cps, head)
    assert (result.ok, result.first_broken) == (False, 22)


def test_recomputed_chain_is_caught_by_the_next_signed_checkpoint():
    rows, cps, _ = build(20)
    rows[6]["actor"] = "nobody"
    head = rehash_from(rows, 6)
    result = run(rows, cps, head)
    assert (result.ok, result.first_broken) == (False, 10)
    assert "checkpoint" in result.problem


def test_forged_checkpoint_signature_is_found():
    rows, cps, head = build(20)
    bad = Checkpoint(cps[1].seq, cps[1].hash, cps[1].created_at, "0" * 64)
    result = run(rows, [cps[0], bad, *cps[2:]], head)
    assert (result.ok, result.first_broken) == (False, 10)
    assert "signature" in result.problem


def retention_over(rows, last_seq, keep):
    kept = KeptDigest()
    survivors = []
    for r in rows:
        if r["seq"] <= last_seq and r["seq"] not in keep:
            continue
        if r["seq"] <= last_seq:
            kept.add(r["seq"], r["hash"])
        survivors.append(r)
    record = RetentionRecord(1, last_seq, last_seq - len(keep), len(keep), kept.hexdigest(),
                             rows[last_seq - 1]["hash"], "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")
    signed = RetentionRecord(**{**record.__dict__, "signature": signing.sign(KEY, record.message())})
    return survivors, signed


def test_retention_keeps_the_chain_verifiable():
    rows, cps, head = build(20)
    survivors, record = retention_over(rows, 12, keep={3, 8})
    result = run(survivors, cps, head, retention=record)
    assert result.ok, result.problem
    assert result.checked == 10 and result.last_seq == 20


@pytest.mark.parametrize("tamper", ["delete_kept", "edit_kept", "forge_record"])
def test_retention_range_tampering_is_found(tamper):
    rows, cps, head = build(20)
    survivors, record = retention_over(rows, 12, keep={3, 8})
    if tamper == "delete_kept":
        survivors = [r for r in survivors if r["seq"] != 8]
    elif tamper == "edit_kept":
        survivors[0]["subject"] = "edited"
    else:
        record = RetentionRecord(**{**record.__dict__, "removed": 1})
    result = run(survivors, cps, head, retention=record)
    assert not result.ok
    assert result.first_broken <= 12
