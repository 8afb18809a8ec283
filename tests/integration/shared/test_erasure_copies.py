"""The copies an erasure must reach beyond the tables, each against the real thing: SQLite's write-ahead
log after a consumer's erasure transaction, Redis's append-only file (a private redis-server with AOF on), the
gateway's spool (SQLite, the erased person announced in a real Redis) and identity's mail spool files."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import Column, MetaData, String, Table, delete, insert, select

from services.gateway.adapters.spool import SpoolEraser
from services.identity.adapters.mailer import FileMailer
from shared import clock
from shared.bus.consumer import erasure_handlers, inbox_batch_handler
from shared.db import make_engine, make_session_factory
from shared.events import new_event
from shared.inbox import processed_events_table
from shared.leftovers import announce_erased, compact_redis_log
from shared.outbox import outbox_table
from tests.support.net import free_port, wait_for_port
from tests.support.redis_server import redis_binary

pytestmark = pytest.mark.integration


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes())


def test_a_consumers_erasure_leaves_nothing_in_the_wal(tmp_path):
    secret = f"wal-{uuid.uuid4().hex}"
    engine = make_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    meta = MetaData()
    people = Table("people", meta, Column("id", String(64), primary_key=True), Column("note", String(200)))
    processed = processed_events_table(meta)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(people).values(id="u-1", note=secret))
    assert files_holding(tmp_path, secret.encode()), "the row is on disk before"

    def erase(session, request) -> None:
        session.execute(delete(people).where(people.c.id == request.user_id))

    handle = inbox_batch_handler(make_session_factory(engine), processed, erasure_handlers(erase))
    handle([new_event("identity.privacy.erasure_requested", actor="system:identity", subject="u-1",
                      payload={"request_id": "er-1", "user_id": "u-1"}, producer="identity")])
    with engine.connect() as conn:
        assert conn.execute(select(people)).all() == []
    assert files_holding(tmp_path, secret.encode()) == []  # neither the database's pages nor the WAL
    engine.dispose()


@pytest.fixture
def aof_redis(tmp_path):
    port = free_port()
    (tmp_path / "redis").mkdir()
    proc = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path / "redis"),
                             "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    wait_for_port(port)
    yield f"redis://127.0.0.1:{port}/0", tmp_path / "redis"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_append_only_file_forgets_consumed_messages_once_rewritten(aof_redis):
    url, folder = aof_redis
    secret = f"aof-{uuid.uuid4().hex}".encode()
    client = redis.Redis.from_url(url)
    client.lpush("events.audit", b'{"payload":{"path":"/x/' + secret + b'"}}')
    client.lpush("events.audit", b"someone else's event")
    assert client.rpop("events.audit")  # consumed: the data set no longer holds it
    assert files_holding(folder, secret), "the AOF holds the consumed message"

    assert compact_redis_log(url) is True
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (int(client.info("persistence")["aof_rewrite_in_progress"])
                                           or files_holding(folder, secret)):
        time.sleep(0.2)
    assert files_holding(folder, secret) == []
    assert client.lrange("events.audit", 0, -1) == [b"someone else's event"]  # nothing else was lost
    assert compact_redis_log("amqp://guest:guest@127.0.0.1:5672//") is False  # RabbitMQ: not a Redis


def spool_store(tmp_path: Path, redis_url: str) -> tuple:
    """A spool database, the Redis where erasures are announced (none yet), and a text to look for on disk."""
    engine = make_engine(f"sqlite:///{tmp_path / 'spool.db'}")
    meta = MetaData()
    outbox = outbox_table(meta)
    meta.create_all(engine)
    client = redis.Redis.from_url(redis_url)
    client.delete("portal:privacy:erased")
    return engine, outbox, client, f"spool-{uuid.uuid4().hex}"


def test_the_spool_forgets_published_rows_of_an_erased_person(tmp_path, redis_url):
    engine, outbox, client, secret = spool_store(tmp_path, redis_url)

    def row(user: str, sent: bool) -> dict:
        body = json.dumps({"payload": {"user_id": user, "path": f"/api/content/items/{secret}-{user}"}})
        return {"event_id": str(uuid.uuid4()), "type": "gateway.request.completed", "body": body,
                "created_at": clock.now(), "sent_at": clock.now() if sent else None}

    with engine.begin() as conn:
        conn.execute(insert(outbox), [row("u-erased", True), row("u-erased", True), row("u-erased", False),
                                      row("u-other", True)])
    eraser = SpoolEraser(engine, outbox, client)
    assert eraser.run_once() == 0  # nobody erased yet
    announce_erased(client, "u-erased")
    assert eraser.run_once() == 2
    with engine.connect() as conn:
        left = [(json.loads(b)["payload"]["user_id"], s is not None)
                for b, s in conn.execute(select(outbox.c.body, outbox.c.sent_at).order_by(outbox.c.id))]
    assert left == [("u-erased", False), ("u-other", True)]  # an unpublished row must reach the log store first

    # Published later (in flight during the erasure): removed at the next cycle.
    with engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.sent_at.is_(None)).values(sent_at=clock.now()))
    assert eraser.run_once() == 1
    assert files_holding(tmp_path, f"{secret}-u-erased".encode()) == []
    assert files_holding(tmp_path, f"{secret}-u-other".encode())
    engine.dispose()


def test_the_mail_spool_forgets_the_erased_address(tmp_path):
    mailer = FileMailer(tmp_path / "mail", "portal@example.com")
    mailer.send(to="Ann@Example.com", subject="Welcome Ann", body="Hello Ann", mail_id=str(uuid.uuid4()))
    mailer.send(to="bob@example.com", subject="Welcome Bob", body="Hello Bob", mail_id=str(uuid.uuid4()))
    assert mailer.forget("ann@example.com") == 1
    names = [p.read_text() for p in (tmp_path / "mail").glob("*.eml")]
    assert len(names) == 1 and "bob@example.com" in names[0]
    assert files_holding(tmp_path, b"Ann") == []




def test_the_gateways_own_writes_and_a_busy_checkpoint_leave_no_copy_of_an_erased_person(tmp_path, redis_url):
    """The spool as the gateway writes it (its raw connection, pages filling and splitting under many rows), and
    a checkpoint that a reader keeps from finishing: the eraser tries it again on its next passes, and neither
    the database file nor the WAL holds the person afterwards."""
    import sqlite3

    from services.gateway.adapters.spool import AccessSpool

    engine, outbox, client, secret = spool_store(tmp_path, redis_url)
    spool = AccessSpool(engine, outbox)
    for n in range(600):  # interleaved, so the person's rows share pages with others' that stay
        user = "u-erased" if n % 3 == 0 else "u-other"
        body = json.dumps({"payload": {"user_id": user, "path": f"/api/content/items/{secret}-{user}-{n:04d}"}})
        spool.write(str(uuid.uuid4()), "gateway.request.completed", body)
    with engine.begin() as conn:
        conn.execute(outbox.update().values(sent_at=clock.now()))
    eraser = SpoolEraser(engine, outbox, client)
    announce_erased(client, "u-erased")

    reader = sqlite3.connect(tmp_path / "spool.db")  # an open read transaction: the checkpoint cannot truncate
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM outbox").fetchone()
    assert eraser.run_once() == 200
    assert eraser.unflushed
    reader.rollback()
    reader.close()
    for n in range(3):  # later writes copy pages into the WAL again
        spool.write(str(uuid.uuid4()), "gateway.request.completed", json.dumps({"payload": {"n": n}}))
    assert eraser.run_once() == 0 and not eraser.unflushed
    spool.close()
    assert files_holding(tmp_path, f"{secret}-u-erased".encode()) == []
    assert files_holding(tmp_path, f"{secret}-u-other".encode())
    engine.dispose()
