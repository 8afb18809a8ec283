"""Tamper evidence end to end on a real database: what someone who can rewrite the database (but holds
neither the audit writer's private key nor the external anchor) can no longer hide, seen by the verifier
and by ``portal audit verify`` run as its own process; the public key published; the old HMAC-signed
checkpoints moved to Ed25519 by ``portal audit resign``."""

from __future__ import annotations

import json
import subprocess

import pytest
from sqlalchemy import delete, func, select, update

from services.audit.adapters import tables
from services.audit.domain import signing
from services.audit.domain.chain import GENESIS, chain_hash
from services.audit.domain.verify import KeptDigest, RetentionRecord
from services.audit.handlers import integrity
from tests.integration.audit.conftest import events_at, store
from tests.support.processes import REPO, VENV_BIN, base_env

pytestmark = pytest.mark.integration
E, C, H = tables.audit_events, tables.checkpoints, tables.chain_head


def portal(audit_env, tmp_path, *args):
    env = base_env({**audit_env, "PORTAL_VAR_DIR": str(tmp_path / "var")})
    return subprocess.run([str(VENV_BIN / "portal"), "audit", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def head_row(conn):
    return conn.execute(select(H).where(H.c.id == 1)).one()._asdict()


def test_tail_deleted_with_its_checkpoints_and_an_earlier_signed_head_put_back(container, audit_env, tmp_path):
    """Everything the database holds agrees (rows, checkpoints, a genuinely signed head); the anchor
    outside it holds the later head."""
    store(container, events_at(25))
    with container.runtime.engine.connect() as conn:
        earlier = head_row(conn)
    store(container, events_at(15, subject="/later"))
    with container.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.seq > 25))
        conn.execute(delete(C).where(C.c.seq > 25))
        conn.execute(update(H).where(H.c.id == 1).values(**earlier))
    result = integrity.verify(container)
    assert (result.ok, result.first_broken) == (False, 26)
    assert "the anchor holds a signed head at 40" in result.problem

    run = portal(audit_env, tmp_path, "verify")
    assert run.returncode == 1, run.stderr[-2000:]
    answer = json.loads(run.stdout.splitlines()[-1])
    assert answer["first_broken"] == 26
    assert any("signed head at 40" in p["problem"] for p in answer["problems"])


def test_tail_deleted_and_head_moved_back_without_the_key(container):
    store(container, events_at(35))
    with container.runtime.engine.begin() as conn:
        last = conn.execute(select(E.c.seq, E.c.hash).where(E.c.seq == 22)).one()
        conn.execute(delete(E).where(E.c.seq > 22))
        conn.execute(delete(C).where(C.c.seq > 22))
        conn.execute(update(H).where(H.c.id == 1).values(seq=last.seq, hash=last.hash, checkpoint_seq=20))
    result = integrity.verify(container)
    assert (result.ok, result.first_broken) == (False, 23)
    problems = " | ".join(p for _, p in result.problems)
    assert "chain head signature is invalid" in problems and "signed head at 35" in problems


def test_rewrite_from_a_row_with_recomputed_hashes(container):
    """After the last checkpoint no signed checkpoint disagrees; the head's signature and the anchor do."""
    store(container, events_at(35))
    with container.runtime.engine.begin() as conn:
        rows = [r._asdict() for r in conn.execute(select(E).where(E.c.seq >= 32).order_by(E.c.seq))]
        prev = conn.execute(select(E.c.hash).where(E.c.seq == 31)).scalar_one()
        for r in rows:
            r["subject"] = "/rewritten"
            r["prev_hash"], r["hash"] = prev, chain_hash(prev, r)
            prev = r["hash"]
            conn.execute(update(E).where(E.c.seq == r["seq"]).values(subject=r["subject"], prev_hash=r["prev_hash"],
                                                                      hash=r["hash"]))
        conn.execute(update(H).where(H.c.id == 1).values(hash=prev))
    result = integrity.verify(container)
    assert not result.ok
    problems = " | ".join(p for _, p in result.problems)
    assert "chain head signature is invalid" in problems
    assert "row differs from the anchored head" in problems


def test_one_dropped_checkpoint(container):
    store(container, events_at(35))
    with container.runtime.engine.begin() as conn:
        conn.execute(delete(C).where(C.c.seq == 20))
    result = integrity.verify(container)
    assert (result.ok, result.first_broken) == (False, 20)
    assert result.problem == "signed checkpoint at 20 missing (the checkpoint at 30 names it)"


def test_an_untouched_store_verifies_and_publishes_its_public_key(container, client, audit_env, tmp_path):
    store(container, events_at(23))
    body = client.get("/integrity").get_json()
    assert body["ok"] is True and body["checked"] == 23
    published = body["public_key"]
    assert published["algorithm"] == "ed25519"
    assert published["key_id"] == container.settings.signer.key_id
    assert body["anchor"]["anchored_seq"] == 23 and body["anchor"]["exists"] is True
    run = portal(audit_env, tmp_path, "public-key")
    assert run.returncode == 0, run.stderr[-2000:]
    printed = json.loads(run.stdout.splitlines()[-1])
    assert printed["key_id"] == published["key_id"] and printed["pem"] == published["pem"]
    assert signing.key_id(signing.load_public(printed["raw"])) == published["key_id"]


def test_the_verifier_needs_no_private_key(container, audit_env, tmp_path, monkeypatch):
    store(container, events_at(12))
    public_only = {**audit_env, "PORTAL_AUDIT_SIGNING_KEY_FILE": ""}
    run = portal(public_only, tmp_path, "verify")
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1])["ok"] is True
    monkeypatch.delenv("PORTAL_AUDIT_SIGNING_KEY_FILE")
    from services.audit.bootstrap import bootstrap
    reader = bootstrap()
    try:
        assert reader.settings.signer is None
        assert integrity.verify(reader).ok
        with pytest.raises(Exception, match="holds no audit signing key"):
            store(reader, events_at(1))
    finally:
        reader.runtime.engine.dispose()


def test_checkpoints_signed_with_the_old_hmac_key_are_signed_again(container, audit_env, tmp_path):
    """A store from before Ed25519: HMAC checkpoints without links and an unsigned head."""
    store(container, events_at(25))
    legacy_key = container.settings.legacy_hmac_key
    with container.runtime.engine.begin() as conn:
        for cp in conn.execute(select(C)).all():
            old = signing.legacy_sign(legacy_key, signing.legacy_checkpoint_message(cp.seq, cp.hash, cp.created_at))
            conn.execute(update(C).where(C.c.seq == cp.seq).values(signature=old, prev_seq=None, key_id="legacy"))
        conn.execute(update(H).where(H.c.id == 1).values(signature=None, signed_at=None, key_id=None))
    container.anchor.path.unlink()
    before = integrity.verify(container)
    assert not before.ok and "portal audit resign" in before.problem

    run = portal(audit_env, tmp_path, "resign")
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1]) == {"resigned": True, "checkpoints": 2,
                                                       "retention_record": False, "head": 25}
    assert integrity.verify(container).ok
    store(container, events_at(10, subject="/after"))
    assert integrity.verify(container).ok


def test_resign_refuses_a_chain_broken_under_the_old_key(container):
    store(container, events_at(25))
    with container.runtime.engine.begin() as conn:
        conn.execute(update(C).where(C.c.seq == 10).values(signature="0" * 64, prev_seq=None))
    answer = integrity.resign(container)
    assert answer["resigned"] is False and answer["first_broken"] == 10


def test_retention_refuses_a_cut_off_younger_than_the_retention_period(container, audit_env, tmp_path):
    store(container, events_at(12))
    run = portal(audit_env, tmp_path, "retain", "--older-than", "4")
    assert run.returncode == 1
    assert "shorter than the retention period of 5 days" in run.stderr
    assert "Traceback" not in run.stderr
    with container.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.retention_records)).scalar_one() == 0


def test_the_verifier_refuses_a_retention_record_that_cuts_too_young(container):
    """Even signed with the writer's key (a bypassed command, a wrong configuration elsewhere)."""
    store(container, events_at(12))
    with container.uow() as uow:
        head = uow.chain.lock_head()
        uow.chain.add_retention(RetentionRecord(first_seq=1, last_seq=0, removed=0, kept=0,
                                                kept_digest=KeptDigest().hexdigest(), anchor_hash=GENESIS,
                                                cutoff="2026-03-01T00:00:00+00:00",
                                                created_at="2026-03-03T00:00:00+00:00"))
        uow.commit()
    assert head.seq == 12
    result = integrity.verify(container)
    assert not result.ok and "retention record cuts too young" in result.problem
