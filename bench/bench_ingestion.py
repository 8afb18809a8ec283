"""Audit ingestion end to end: outbox relay → Redis → a real Celery audit worker → chained store.

Same run, same machine, three figures:
- batched ingestion (the platform's design): N events put in an outbox, relayed in batches (many events
  per broker message), stored by the audit worker a batch per transaction; timed from the relay's start
  until the chain head reaches N, then the chain is verified;
- the naive baseline: the same code path with one event per broker message (one Celery task and one
  transaction per event), on fewer events;
- the ceiling: raw pipelined Redis LPUSH of the same event bodies.

``run(report)`` is called by the benchmark runner; ``python bench/bench_ingestion.py [N]`` runs alone.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_SECRET = "bench-" + "4e7a1c9d" * 5  # a throwaway run's internal secret
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import MetaData, select  # noqa: E402

from shared.bus.celery_app import make_celery  # noqa: E402
from shared.bus.publisher import CeleryPublisher  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.events import Event  # noqa: E402
from shared.outbox import OutboxRelay, add_events, outbox_table  # noqa: E402
from tests.support.audit_keys import audit_keys_env  # noqa: E402
from tests.support.processes import (  # noqa: E402
    MASTER_ENV,
    TEST_EVENT_MASTER_KEY,
    base_env,
    celery_worker,
    wait_until,
)
from tests.support.redis_server import start_redis  # noqa: E402

Report = Callable[..., None]
RELAY_INTERVAL = 0.05  # the platform's (PORTAL_RELAY_INTERVAL): an idle relay's polls count in its CPU
GOAL_CPU_US = 50.0  # end to end (relay + worker); and >= 0.25x the same run's pipelined LPUSH
PATHS = ["/api/identity/me", "/api/identity/policy", "/api/content/items", "/api/linking/companies"]


def make_events(n: int, seed: int = 7) -> list[Event]:
    """Access events as the gateway writes them, a few in ten being content views or downloads."""
    rnd = random.Random(seed)
    now = time.time()
    out = []
    for i in range(n):
        user = f"user-{rnd.randrange(5000)}"
        roll = rnd.random()
        if roll < 0.2:
            path = f"/api/content/items/item-{rnd.randrange(200)}"
        elif roll < 0.25:
            path = f"/api/content/collaterals/file-{rnd.randrange(100)}/download"
        else:
            path = rnd.choice(PATHS)
        occurred = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - (n - i) * 0.001)) + ".000000+00:00"
        out.append(Event(
            event_id=str(uuid.uuid4()), type="gateway.request.completed", version=1, occurred_at=occurred,
            producer="gateway", actor=user, subject=path, correlation_id=str(uuid.uuid4()),
            payload={"method": "GET", "path": path, "query": "", "status": 200, "duration_ms": 3.5,
                     "service": path.split("/")[2], "user_id": user, "anonymous_id": None,
                     "session_hash": uuid.uuid4().hex, "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
                     "client_ip": "203.0.113.7", "bytes_sent": 512},
        ))
    return out


class Rig:
    """A private Redis, an outbox to relay from, and a real audit worker on its own SQLite store."""

    def __init__(self, workdir: Path, redis_url: str) -> None:
        self.workdir = workdir
        self.redis_url = redis_url
        self.outbox_engine = make_engine(f"sqlite:///{workdir / 'producer.db'}")
        self.outbox = outbox_table(MetaData())
        self.outbox.metadata.create_all(self.outbox_engine)
        self.audit_url = f"sqlite:///{workdir / 'audit.db'}"
        self.keys = audit_keys_env(workdir)
        self.env = base_env({"AUDIT_DATABASE_URL": self.audit_url, "REDIS_URL": redis_url,
                             "PORTAL_INTERNAL_SECRET": BENCH_SECRET,
                             "PYTHONPATH": str(REPO), **self.keys})
        os.environ.setdefault(MASTER_ENV, TEST_EVENT_MASTER_KEY)  # the producer signs as the worker expects
        self.worker = None
        self._container = None

    def container(self):
        if self._container is None:
            os.environ.update({"AUDIT_DATABASE_URL": self.audit_url, "REDIS_URL": self.redis_url,
                               "PORTAL_INTERNAL_SECRET": BENCH_SECRET,
                               **self.keys})
            from services.audit.bootstrap import bootstrap

            self._container = bootstrap()
        return self._container

    def start_worker(self) -> None:
        self.container()  # migrate before the worker starts
        # The pool `portal run` gives a worker of concurrency 1 (services/cli/run_plan.py).
        pool = os.environ.get("BENCH_POOL", "solo")
        self.worker = celery_worker("audit", self.env, self.workdir, pool=pool).start()
        wait_until(lambda: "ready" in self.worker.output(), timeout=60, message="audit worker ready")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self._container is not None:
            self._container.runtime.engine.dispose()
        self.outbox_engine.dispose()

    def head_seq(self) -> int:
        from services.audit.adapters.tables import chain_head

        with self.container().runtime.engine.connect() as conn:
            return int(conn.execute(select(chain_head.c.seq)).scalar_one())

    def fill_outbox(self, events: list[Event]) -> None:
        for i in range(0, len(events), 5000):
            with self.outbox_engine.begin() as conn:
                from sqlalchemy.orm import Session

                with Session(bind=conn) as session:
                    add_events(session, self.outbox, events[i:i + 5000])
                    session.flush()

    def worker_cpu_seconds(self) -> float:
        """CPU time used so far by the worker (parent and pool children, if any)."""
        parent = psutil.Process(self.worker.pid)
        procs = [parent, *parent.children(recursive=True)]
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    def ingest(self, events: list[Event], per_message: int, timeout: float, relay_batch: int = 1000) -> float:
        """Relay the events from the outbox and return events/s until the chain holds all of them."""
        start_seq = self.head_seq()
        self.fill_outbox(events)
        worker_before = self.worker_cpu_seconds()
        app = make_celery("bench.relay", self.redis_url)
        relay = OutboxRelay(self.outbox_engine, self.outbox, CeleryPublisher(app, max_per_message=per_message),
                            batch_size=relay_batch)
        stop = threading.Event()
        relay_cpu: list[float] = []

        def relay_thread() -> None:  # the relay's own CPU time (this process also polls the chain head)
            began = time.thread_time()
            relay.run_forever(stop, RELAY_INTERVAL)
            relay_cpu.append(time.thread_time() - began)

        thread = threading.Thread(target=relay_thread, daemon=True)
        started = time.perf_counter()
        thread.start()
        target = start_seq + len(events)
        try:
            wait_until(lambda: self.head_seq() >= target, timeout=timeout, interval=0.05,
                       message=f"{len(events)} events stored")
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
            thread.join(timeout=10)
        spent = {"worker": self.worker_cpu_seconds() - worker_before, "relay": sum(relay_cpu)}
        self.cpu_per_event = {k: v / len(events) * 1e6 for k, v in spent.items()}
        return len(events) / elapsed

    def verify(self) -> dict:
        from services.audit.handlers.integrity import verify

        container = self.container()
        return verify(container).to_dict()


def lpush_rate(redis_url: str, events: list[Event]) -> float:
    client = redis.Redis.from_url(redis_url)
    bodies = [json.dumps(e.to_dict()) for e in events]
    started = time.perf_counter()
    for i in range(0, len(bodies), 1000):
        pipe = client.pipeline(transaction=False)
        for body in bodies[i:i + 1000]:
            pipe.lpush("bench:lpush", body)
        pipe.execute()
    elapsed = time.perf_counter() - started
    client.delete("bench:lpush")
    return len(bodies) / elapsed


def run(report: Report, n: int = 100_000, naive_n: int = 3_000) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingestion-"))
    saved = dict(os.environ)
    server = start_redis()
    rig = Rig(workdir, server.url)
    try:
        rig.start_worker()
        naive = rig.ingest(make_events(naive_n, seed=1), per_message=1, timeout=600)
        naive_cpu = rig.cpu_per_event
        batched = rig.ingest(make_events(n, seed=2), per_message=1000, timeout=600, relay_batch=2000)
        batched_cpu = rig.cpu_per_event
        # The same path with bigger messages and relay batches (a proposal: see docs/audit.md).
        big = rig.ingest(make_events(n // 2, seed=4), per_message=2000, timeout=600, relay_batch=2000)
        big_cpu = rig.cpu_per_event
        check = rig.verify()
        if not check["ok"] or check["checked"] != n + n // 2 + naive_n:
            raise RuntimeError(f"chain verification failed after the run: {check}")
        ceiling = lpush_rate(server.url, make_events(n, seed=3))
        report("audit ingestion, batched (relay→Redis→worker→chained store)", round(batched), "events/s",
               "naive: one Celery task per event", round(naive))
        report("audit ingestion, batched, against the broker ceiling", round(batched), "events/s",
               "raw pipelined Redis LPUSH", round(ceiling))
        # CPU per event is what contention on a shared machine does not distort: the capacity of the
        # machine's cores for this path, whatever else runs.
        report("audit ingestion CPU per event, batched (worker + relay)",
               round(batched_cpu["worker"] + batched_cpu["relay"], 1), "µs CPU/event",
               "naive: one Celery task per event", round(naive_cpu["worker"] + naive_cpu["relay"], 1))
        report(f"audit ingestion CPU per event against the goal (worker {batched_cpu['worker']:.1f} + relay "
               f"{batched_cpu['relay']:.1f})", round(batched_cpu["worker"] + batched_cpu["relay"], 1), "µs CPU/event",
               "goal", GOAL_CPU_US)
        report("audit ingestion, 2,000 events per message and relay batch", round(big), "events/s",
               "1,000 per message, relay batch 2,000 (platform defaults)", round(batched))
        report("audit ingestion CPU per event, 2,000 per message (worker + relay)",
               round(big_cpu["worker"] + big_cpu["relay"], 1), "µs CPU/event",
               "1,000 per message (platform defaults)", round(batched_cpu["worker"] + batched_cpu["relay"], 1))
    finally:
        rig.stop()
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept", workdir)


def _print_report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float) -> None:
    ratio = value / baseline_value if baseline_value else float("nan")
    print(f"{name}: {value:,} {unit}  |  {baseline_name}: {baseline_value:,} {unit}  (x{ratio:.2f})")


if __name__ == "__main__":
    run(_print_report, n=int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
