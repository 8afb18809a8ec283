"""Tamper detection by the verifier: edited, deleted, inserted, reordered rows, truncated tail,
recomputed chains, dropped checkpoints, moved heads, a rolled-back head caught by the external anchor,
and forged signatures — on plain rows, without a database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, canonical_payload, chain_hash, iso
from services.audit.domain.verify import Checkpoint, Head, KeptDigest, RetentionRecord, verify_chain

SIGNER = signing.Signer(Ed25519PrivateKey.generate())
VERIFIER = signing.Verifier([SIGNER.public])
LEGACY_KEY = b"test-signing-key"
START = datetime(2026, 3, 1, tzinfo=UTC)


def signed_head(seq: int, hash_: str, checkpoint_seq: int, signer: signing.Signer = SIGNER) -> Head:
    head = Head(seq, hash_, checkpoint_seq, "2026-03-02T00:00:00+00:00")
    return Head(**{**head.__dict__, "signature": signer.sign(head.message()), "key_id": signer.key_id})


def forged_head(rows, checkpoints) -> Head:
    """What someone without the key writes: the head moved to the last row, unsigned."""
    last_cp = max((c.seq for c in checkpoints if c.seq <= rows[-1]["seq"]), default=0)
    return Head(rows[-1]["seq"], rows[-1]["hash"], last_cp, "2026-03-02T00:00:00+00:00", "0" * 128)


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
            previous = checkpoints[-1].seq if checkpoints else 0
            message = signing.checkpoint_message(seq, r["hash"], created, previous)
            checkpoints.append(Checkpoint(seq, r["hash"], created, SIGNER.sign(message), previous, SIGNER.key_id))
    return rows, checkpoints, signed_head(n, prev, checkpoints[-1].seq if checkpoints else 0)


def run(rows, checkpoints, head, **kw):
    kw.setdefault("anchor_required", False)
    return verify_chain(rows, verifier=VERIFIER, checkpoints=checkpoints, head=head, **kw)


def rehash_from(rows, index, checkpoints=()):
    """What a forger without the key does: recompute every hash from ``index`` on."""
    prev = rows[index - 1]["hash"] if index else GENESIS
    for r in rows[index:]:
        r["prev_hash"], r["hash"] = prev, chain_hash(prev, r)
        prev = r["hash"]
    return forged_head(rows, checkpoints)


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
    result = run(rows, cps, forged_head(rows, cps))
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
    result = run(truncated, cps, forged_head(truncated, cps))
    assert (result.ok, result.first_broken) == (False, 14)
    assert any("checkpoint at 20" in p for _, p in result.problems)


def test_truncated_tail_is_found_against_the_head_between_checkpoints():
    rows, cps, head = build(23)
    result = run(rows[:21], cps, head)
    assert (result.ok, result.first_broken) == (False, 22)


def test_recomputed_chain_is_caught_by_the_next_signed_checkpoint():
    rows, cps, _ = build(20)
    rows[6]["actor"] = "nobody"
    head = rehash_from(rows, 6, cps)
    result = run(rows, cps, head)
    assert (result.ok, result.first_broken) == (False, 10)
    assert "checkpoint" in result.problem


def test_forged_checkpoint_signature_is_found():
    rows, cps, head = build(20)
    bad = Checkpoint(cps[1].seq, cps[1].hash, cps[1].created_at, "0" * 128, cps[1].prev_seq)
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
    signed = RetentionRecord(**{**record.__dict__, "signature": SIGNER.sign(record.message())})
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


def test_a_dropped_checkpoint_is_named_by_the_next_one():
    rows, cps, head = build(23)
    result = run(rows, [c for c in cps if c.seq != 10], head)
    assert (result.ok, result.first_broken) == (False, 10)
    assert "checkpoint at 10 missing" in result.problem


def test_a_dropped_last_checkpoint_is_named_by_the_head():
    rows, cps, head = build(23)
    result = run(rows, cps[:-1], head)
    assert (result.ok, result.first_broken) == (False, 20)
    assert "chain head names it" in result.problem


def test_a_moved_head_fails_its_signature():
    rows, cps, _ = build(23)
    result = run(rows[:21], cps, forged_head(rows[:21], cps))
    assert (result.ok, result.first_broken) == (False, 22)
    assert "chain head signature is invalid" in result.problem


def test_a_rewritten_tail_after_the_last_checkpoint_is_found():
    rows, cps, _ = build(23)
    rows[21]["subject"] = "someone-else"
    result = run(rows, cps, rehash_from(rows, 21, cps))
    assert not result.ok and result.first_broken == 24


def test_a_rolled_back_head_is_caught_by_the_anchor_only():
    """Tail deleted with its checkpoints and an earlier genuinely signed head put back: everything in the
    database agrees; the anchor, kept elsewhere, holds the later head."""
    rows, cps, final = build(23)
    earlier_rows, earlier_cps = rows[:16], cps[:3]
    earlier = signed_head(16, earlier_rows[-1]["hash"], 15)
    assert run(earlier_rows, earlier_cps, earlier).ok  # the database alone is consistent
    result = run(earlier_rows, earlier_cps, earlier, anchored=final)
    assert (result.ok, result.first_broken) == (False, 17)
    assert "the anchor holds a signed head at 23" in result.problem


def test_anchor_disagreeing_with_a_row_or_unsigned_or_missing_is_found():
    rows, cps, head = build(23)
    assert run(rows, cps, head, anchored=signed_head(21, rows[20]["hash"], 20)).ok
    other = run(rows, cps, head, anchored=signed_head(21, "f" * 64, 20))
    assert (other.ok, other.first_broken) == (False, 21) and "anchored head" in other.problem
    forged = Head(**{**signed_head(21, rows[20]["hash"], 20).__dict__, "signature": "0" * 128})
    assert "anchored head at 21 signature is invalid" in run(rows, cps, head, anchored=forged).problem
    missing = run(rows, cps, head, anchor_required=True)
    assert not missing.ok and "anchor holds no signed head" in missing.problem


def test_a_signature_by_another_key_is_refused():
    rows, cps, _ = build(10)
    stranger = signing.Signer(Ed25519PrivateKey.generate())
    result = run(rows, cps, signed_head(10, rows[-1]["hash"], 10, stranger))
    assert not result.ok and "chain head signature is invalid" in result.problem


def test_legacy_hmac_checkpoints_need_resigning_and_verify_with_the_old_key():
    rows, _, head = build(20)
    legacy = []
    for r in rows:
        if r["seq"] % 5 == 0:
            created = iso(r["stored_at"])
            sig = signing.legacy_sign(LEGACY_KEY, signing.legacy_checkpoint_message(r["seq"], r["hash"], created))
            legacy.append(Checkpoint(r["seq"], r["hash"], created, sig))
    unsigned_head = Head(20, rows[-1]["hash"], 20)
    result = run(rows, legacy, unsigned_head)
    assert not result.ok and "portal audit resign" in result.problem
    assert run(rows, legacy, unsigned_head, legacy_key=LEGACY_KEY).ok
    rows[3]["subject"] = "edited"
    rehash_from(rows, 3)
    assert not run(rows, legacy, unsigned_head, legacy_key=LEGACY_KEY).ok


def test_a_retention_record_cutting_younger_than_the_retention_period_is_refused():
    rows, cps, head = build(20)
    survivors, record = retention_over(rows, 12, keep={3})  # cut-off 31 days before it was made
    assert run(survivors, cps, head, retention=record, retention_days=31).ok
    result = run(survivors, cps, head, retention=record, retention_days=32)
    assert (result.ok, result.first_broken) == (False, 1)
    assert "retention record cuts too young" in result.problem
