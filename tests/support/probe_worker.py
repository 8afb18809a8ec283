"""A tiny consuming service used only by the tests of the shared event spine.

It is built from the same shared pieces as the real services (runtime, inbox handler, consumer task)
and binds its own queue ``events.probe`` to ``probe.#``. A handler fails while the file named by
``PROBE_FAIL_FILE`` exists and the event asks for it, so tests can drive retries and dead letters; every
batch finds its database unreachable while the file named by ``PROBE_OUTAGE_FILE`` exists.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import OperationalError

from shared.bus import topology
from shared.bus.consumer import inbox_batch_handler, register_consumer
from shared.config import CommonSettings
from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table
from shared.runtime import build_runtime

topology.QUEUE_BINDINGS.setdefault("probe", ("probe.#",))

metadata = MetaData()
outbox = outbox_table(metadata)
processed = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)
seen = Table("probe_seen", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
             Column("event_id", String(36), nullable=False), Column("value", Integer, nullable=False))


def settings() -> CommonSettings:
    return CommonSettings(service="probe", database_url=os.environ["PROBE_DATABASE_URL"],
                          broker_url=os.environ["REDIS_URL"], internal_secret=b"x",
                          max_content_length=1024, outbox_batch_size=1000, relay_interval=0.05)


def runtime():
    rt = build_runtime(settings(), metadata, Path("/nonexistent"), run_migrations=False)
    metadata.create_all(rt.engine)
    return rt


def _store(session, event):
    outage_file = os.environ.get("PROBE_OUTAGE_FILE")
    if outage_file and Path(outage_file).exists():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("probe's database is down"))
    if event.payload.get("sleep"):  # a long batch
        time.sleep(float(event.payload["sleep"]))
    fail_file = os.environ.get("PROBE_FAIL_FILE")
    if event.payload.get("fail") and fail_file and Path(fail_file).exists():
        raise RuntimeError("probe asked to fail")
    session.execute(insert(seen).values(event_id=event.event_id, value=event.payload["value"]))


def create_worker():
    rt = runtime()
    app = rt.celery(consume=True)
    handle = inbox_batch_handler(rt.write_session, processed, {"probe.thing.happened": _store})
    register_consumer(app, "probe", handle, rt.dead_letters(), max_attempts=int(os.environ.get("PROBE_ATTEMPTS", "3")))
    return app


if os.environ.get("PROBE_DATABASE_URL") and os.environ.get("REDIS_URL"):
    app = create_worker()
