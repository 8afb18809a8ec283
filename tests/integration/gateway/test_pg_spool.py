"""The access-event spool on PostgreSQL: several gateways share one spool database (nothing on their own
disks), several relays drain it side by side, and every answered request reaches the broker."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter

import pytest
import requests
from sqlalchemy import create_engine, select, text

from services.gateway.adapters import tables
from services.gateway.adapters.spool import AccessSpool
from services.gateway.bootstrap import MIGRATIONS
from shared.db import migrate
from shared.outbox import OutboxRelay
from tests.integration.gateway.test_limits_and_durability import _published_correlation_ids
from tests.support.databases import drop_database_url, new_pg_database_url
from tests.support.processes import VENV_BIN, Proc, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_spool():
    url = new_pg_database_url("spool")
    yield url
    drop_database_url(url)


def test_two_gateways_on_one_postgres_spool_survive_kill_9_and_two_relays_publish_every_access(stack, pg_spool):
    gateways = [stack.start_gateway(f"gateway-pg-{n}", GATEWAY_SPOOL_URL=pg_spool) for n in range(2)]
    ids: set[str] = set()
    for _proc, url in gateways:
        http = requests.Session()
        for _ in range(30):
            answer = http.get(url + "/api/content/echo", timeout=10)
            assert answer.status_code == 200
            ids.add(answer.headers["X-Request-ID"])
    for proc, _url in gateways:
        proc.kill9()  # answered means committed in PostgreSQL, whatever happens to the gateway after
    engine = create_engine(pg_spool)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM outbox")).scalars().all()
    engine.dispose()
    spooled = Counter(json.loads(body)["correlation_id"] for body in rows)
    assert set(spooled) >= ids and all(spooled[i] == 1 for i in ids)

    relays = [Proc(f"relay-pg-{n}", [str(VENV_BIN / "portal"), "relay", "gateway"],
                   {**stack.env, "GATEWAY_SPOOL_URL": pg_spool}, stack.log_dir).start() for n in range(2)]
    stack.procs.update({r.name: r for r in relays})
    try:
        wait_until(lambda: ids <= _published_correlation_ids(stack.redis_url), timeout=30,
                   message="every access published to the audit queue")
    except TimeoutError:
        raise AssertionError("\n".join(r.output()[-2000:] for r in relays)) from None
    finally:
        for relay in relays:
            relay.stop()


class RecordingPublisher:
    """Stands in for the broker: remembers every event body published, by the relay that published it."""

    def __init__(self, sink: list, name: str) -> None:
        self.sink, self.name = sink, name

    def broker_epoch(self) -> str:
        return "one-broker-run"

    def publish_raw(self, items) -> None:
        self.sink.extend((self.name, json.loads(body)["event_id"]) for _type, body in items)


def test_relays_side_by_side_on_one_postgres_spool_publish_each_event_once(pg_spool):
    """Gateways writing while two relays drain: rows locked by one relay (FOR UPDATE SKIP LOCKED) are skipped
    by the other, so without a broker restart nothing is published twice and both relays share the work."""
    engine = create_engine(pg_spool)
    migrate(engine, MIGRATIONS, "gateway")
    spool = AccessSpool(engine, tables.outbox)
    written: list[str] = []
    published: list[tuple[str, str]] = []
    stop = threading.Event()

    def write(n: int) -> None:
        for _ in range(n):
            event_id = str(uuid.uuid4())
            spool.write(event_id, "gateway.request.completed", json.dumps({"event_id": event_id}))
            written.append(event_id)

    relays = []
    for name in ("a", "b"):
        relay = OutboxRelay(engine, tables.outbox, RecordingPublisher(published, name), batch_size=50)
        relay.check_broker()  # the broker run is known: no start-up republishing in this test
        relays.append(threading.Thread(target=relay.run_forever, args=(stop, 0.01)))
    writers = [threading.Thread(target=write, args=(400,)) for _ in range(4)]
    for thread in relays + writers:
        thread.start()
    for thread in writers:
        thread.join()
    try:
        wait_until(lambda: len(published) >= len(written), timeout=60, message="spool drained")
    finally:
        stop.set()
        for thread in relays:
            thread.join()
        spool.close()
    with engine.connect() as conn:
        pending = conn.execute(select(tables.outbox.c.id).where(tables.outbox.c.sent_at.is_(None))).all()
    engine.dispose()
    counts = Counter(event_id for _relay, event_id in published)
    assert sorted(counts) == sorted(written) and set(counts.values()) == {1}
    assert {relay for relay, _ in published} == {"a", "b"}
    assert pending == []


def test_a_postgres_spool_connection_that_died_is_replaced_for_the_next_request(pg_spool):
    engine = create_engine(pg_spool)
    migrate(engine, MIGRATIONS, "gateway")
    spool = AccessSpool(engine, tables.outbox)
    try:
        spool.write(str(uuid.uuid4()), "gateway.request.completed", "{}")
        with engine.connect() as conn:  # the database drops the spool's connections (a restart, a failover)
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            conn.commit()
        outcomes = []
        for _ in range(2):
            try:
                spool.write(str(uuid.uuid4()), "gateway.request.completed", "{}")
                outcomes.append("ok")
            except Exception:  # noqa: BLE001 - the request that met the dead connection is refused (503)
                outcomes.append("refused")
        assert outcomes[-1] == "ok"
        engine.dispose()  # its own pooled connections were dropped too
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 1 + outcomes.count("ok")
    finally:
        spool.close()
        engine.dispose()
