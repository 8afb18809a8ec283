"""The server log store at scale: search p95, streamed export and chain verification over N generated
events (default 1,000,000), each beside a same-run raw SQL baseline on the same database.

Figures and their goals (issue "performance and scale"): search p95 <= 3x the bare query, export <= 5x a raw
scan of the same rows, verification <= 3x reading the same rows and hashing them with SHA-256 (the physical
floor of verification), memory flat (the export's and the verifier's RSS growth are reported too).

``run(report)`` is called by the benchmark runner; ``python bench/bench_audit_scale.py --events N [--pg]``
runs alone (``BENCH_AUDIT_EVENTS`` and ``BENCH_AUDIT_PG=1`` do the same under ``python -m bench audit_scale``).
SQLite in a temporary directory; ``--pg`` a fresh database on the machine's PostgreSQL (``BENCH_PG_URL``), or
``BENCH_AUDIT_DATABASE_URL`` names any. On PostgreSQL the events are written by the COPY loader
(``bench/audit_loader.py``: sealed, chained, checkpointed and signed as the worker would, ~10-20x faster);
elsewhere, or with ``BENCH_AUDIT_LOAD=ingest``, through the ingestion use case in batches of
``BENCH_AUDIT_BATCH`` (default 5,000): the real chain, sealing, checkpoints and projections.
``--keep DIR`` (``BENCH_AUDIT_KEEP``) keeps the store and its keys; a later run with the same DIR and size
measures it again without loading; ``--load-only`` stops after loading; ``--slice ROWS``
(``BENCH_AUDIT_SLICE``) measures export and verification over the first ROWS rows only (search still over all).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_SECRET = "bench-" + "4e7a1c9d" * 5  # a throwaway run's internal secret
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import audit_loader  # noqa: E402
from shared.events import Event  # noqa: E402

Report = Callable[..., None]
USERS = 20_000
START = datetime(2025, 1, 1, tzinfo=UTC)
TYPES = ["gateway.request.completed"] * 8 + ["identity.session.started", "content.item.viewed"]


def generate(n: int, seed: int = 11):
    """Events spread over a year: 20,000 people, a few hundred paths, one request id each."""
    rnd = random.Random(seed)
    step = timedelta(days=365) / n
    for i in range(n):
        user = f"user-{rnd.randrange(USERS)}"
        path = f"/api/content/items/item-{rnd.randrange(500)}"
        type_ = rnd.choice(TYPES)
        yield Event(event_id=str(uuid.uuid4()), type=type_, version=1, occurred_at=(START + step * i).isoformat(),
                    producer=type_.split(".")[0], actor=user, subject=path, correlation_id=f"req-{i}",
                    payload={"method": "GET", "path": path, "status": 200, "duration_ms": 2.5,
                             "user_agent": "Mozilla/5.0", "client_ip": "198.51.100.4"})


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def run(report: Report, n: int | None = None, pg: bool | None = None) -> None:
    n = n or int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))
    pg = bool(os.environ.get("BENCH_AUDIT_PG")) if pg is None else pg
    batch_size = int(os.environ.get("BENCH_AUDIT_BATCH", "5000"))
    keep = os.environ.get("BENCH_AUDIT_KEEP")  # a folder: the store and its keys outlive the run, for the next
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-audit-scale-"))
    saved = dict(os.environ)
    from tests.support.audit_keys import audit_keys_env
    from tests.support.databases import MACHINE_PG_URL, drop_database_url, new_pg_database_url
    from tests.support.processes import MASTER_ENV, TEST_EVENT_MASTER_KEY

    kept_env = workdir / "env.json"
    private_pg = None
    if kept_env.exists():
        env = json.loads(kept_env.read_text())
    else:
        private_pg = new_pg_database_url("audit_scale", os.environ.get("BENCH_PG_URL") or MACHINE_PG_URL) \
            if pg and not os.environ.get("BENCH_AUDIT_DATABASE_URL") else None
        workdir.mkdir(parents=True, exist_ok=True)
        env = {"PORTAL_INTERNAL_SECRET": BENCH_SECRET, **audit_keys_env(workdir),
               "AUDIT_DATABASE_URL": os.environ.get("BENCH_AUDIT_DATABASE_URL") or private_pg
               or f"sqlite:///{workdir / 'audit.db'}"}
        if keep:
            kept_env.write_text(json.dumps(env))
    os.environ.setdefault(MASTER_ENV, TEST_EVENT_MASTER_KEY)  # audit signs its own audit.log.* events
    os.environ.update(env)
    from services.audit.bootstrap import bootstrap
    from services.audit.domain.search import EventFilter
    from services.audit.handlers import integrity, search, store_events

    container = bootstrap()
    engine = container.runtime.engine
    try:
        with container.read_uow() as uow:
            present = uow.search.last_seq()
        started = time.perf_counter()
        if present and present != n:
            raise SystemExit(f"the kept store holds {present:,} events, not {n:,}")
        if present:
            how = "kept from an earlier run"
        elif engine.dialect.name == "postgresql" and os.environ.get("BENCH_AUDIT_LOAD") != "ingest":
            how = "COPY loader (bench/audit_loader.py)"
            audit_loader.load(container, generate(n), [f"user-{i}" for i in range(USERS)],
                              progress=lambda done: print(f"   {done:,} rows ({_load()})", flush=True))
        else:
            how = f"ingestion use case, batches of {batch_size:,}"
            batch: list[Event] = []
            for event in generate(n):
                batch.append(event)
                if len(batch) == batch_size:
                    store_events(container, batch)
                    batch = []
            if batch:
                store_events(container, batch)
        load_rate = n / (time.perf_counter() - started)
        print(f"   {n:,} events: {how}" + ("" if present else f", {load_rate:,.0f} events/s") + f" ({_load()})",
              flush=True)
        if os.environ.get("BENCH_AUDIT_LOAD_ONLY"):
            return
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.execute(text("ANALYZE audit_events"))
                conn.commit()

        # --- search ------------------------------------------------------------------------------
        rnd = random.Random(5)
        key = container.settings.cursor_key
        queries = []
        for i in range(200):
            kind = i % 5
            day = START + timedelta(days=rnd.randrange(360))
            if kind == 0:
                queries.append(EventFilter(actor=f"user-{rnd.randrange(USERS)}"))
            elif kind == 1:
                queries.append(EventFilter(subject=f"/api/content/items/item-{rnd.randrange(500)}",
                                           since=day, until=day + timedelta(days=7)))
            elif kind == 2:
                queries.append(EventFilter(correlation_id=f"req-{rnd.randrange(n)}"))
            elif kind == 3:
                queries.append(EventFilter(type="identity.session.started", since=day, until=day + timedelta(days=1)))
            else:
                queries.append(EventFilter(actor=f"user-{rnd.randrange(USERS)}", since=day,
                                           until=day + timedelta(days=30)))
        timings, raw_timings = [], []
        for f in queries:
            t = time.perf_counter()
            search.search_events(container, key, f, limit=50)
            timings.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            with container.read_uow() as uow:
                uow.search.search(f, None, 51)
            raw_timings.append((time.perf_counter() - t) * 1000)
        where = engine.dialect.name
        report(f"audit search p95 over {n:,} events, {where} (handler: query + its own audit event; {_load()})",
               round(percentile(timings, 95), 2), "ms", "the same query alone (no audit event, no JSON)",
               round(percentile(raw_timings, 95), 2))

        # --- export ------------------------------------------------------------------------------
        # With a slice, export and verification cover the first ``part`` rows (seq <= part) and so do their
        # baselines: on a loaded machine a whole 10 M-row run may not fit the time there is.
        part = min(n, int(os.environ.get("BENCH_AUDIT_SLICE") or n))
        rows_of = f"{part:,} rows" if part == n else f"the first {part:,} rows of {n:,}"
        base_rss = rss_mb()
        peak = base_rss
        cpu = Cpu(engine)
        t = time.perf_counter()
        size = rows = 0
        # A slice: the export's stream bounded by seq (``export_events`` less its own audit record).
        chunks = search.export_events(container, EventFilter(), "jsonl") if part == n else \
            search._stream(container, EventFilter(), "jsonl", part)
        for chunk in chunks:
            size += len(chunk)
            rows += chunk.count("\n")
            peak = max(peak, rss_mb())
        export_s = time.perf_counter() - t
        export_cpu = cpu.lap()
        t = time.perf_counter()
        with engine.connect() as conn:
            scanned = sum(1 for _ in conn.exec_driver_sql(_SCAN[_MARK[conn.dialect.paramstyle]], (part,)))
        scan_s = time.perf_counter() - t
        scan_cpu = cpu.lap()
        assert rows == scanned == part, (rows, scanned, part)
        report(f"audit export of {rows_of}, {where} (JSON Lines, streamed; RSS growth {peak - base_rss:.0f} MB; "
               f"{_load()})",
               round(export_s, 2), "s", "raw SQL scan of the same rows", round(scan_s, 2))
        report(f"audit export CPU per row, {where} ({cpu.what})", round(export_cpu / part * 1e6, 2), "µs",
               "raw SQL scan of the same rows", round(scan_cpu / part * 1e6, 2))

        # --- verify ------------------------------------------------------------------------------
        base_rss = rss_mb()
        cpu.lap()
        t = time.perf_counter()
        result = integrity.verify(container) if part == n else verify_slice(container, part)
        verify_s = time.perf_counter() - t
        verify_cpu = cpu.lap()
        assert result.ok and result.checked == part, result.to_dict()
        verify_rss = rss_mb() - base_rss
        t = time.perf_counter()
        counted = read_and_hash(engine, part)
        floor_s = time.perf_counter() - t
        floor_cpu = cpu.lap()
        report(f"audit chain verification of {rows_of}, {where} (RSS growth {verify_rss:.0f} MB; {_load()})",
               round(verify_s, 2), "s", "reading the same rows and SHA-256 over each row's bytes", round(floor_s, 2))
        report(f"audit verification CPU per row, {where} ({cpu.what})", round(verify_cpu / counted * 1e6, 2), "µs",
               "reading the same rows and SHA-256 over each row's bytes", round(floor_cpu / counted * 1e6, 2))
        # How the store was filled: a rate of its own, no baseline (a search's time is not one).
        if not present:
            report(f"audit store load of {n:,} events ({how})", round(load_rate), "events/s")
    finally:
        engine.dispose()
        if not keep:
            if private_pg:
                drop_database_url(private_pg)
            shutil.rmtree(workdir, ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)


class Cpu:
    """CPU seconds of this process plus, when the database is a PostgreSQL server on this machine, of its
    backends serving this database (``/proc``): the work a figure costs, which moves less than wall time
    on a machine shared with other jobs (a CPU-bound reader gets a slice of a core, a scan waiting on the
    server does not compete the same way)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.server = engine.dialect.name == "postgresql" and Path("/proc/self/stat").exists()
        self.what = "this process + its PostgreSQL backends" if self.server else "this process"
        self.last = self._now()

    def _now(self) -> float:
        total = time.process_time()
        if self.server:
            with self.engine.connect() as conn:
                pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                for (pid,) in pids.all():
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:  # not on this machine, or gone
                        continue
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def lap(self) -> float:
        now = self._now()
        spent, self.last = now - self.last, now
        return spent


def _load() -> str:
    return "load avg " + " ".join(f"{x:.1f}" for x in os.getloadavg())


# The raw scan, through the driver (no SQLAlchemy row processing): the export's baseline, by placeholder style.
_SCAN_COLUMNS = ("SELECT seq, event_id, type, actor, subject, correlation_id, occurred_at, stored_at, producer, "
                 "version, payload, prev_hash, hash FROM audit_events ")
_SCAN = {"?": _SCAN_COLUMNS + "WHERE seq <= ? ORDER BY seq", "%s": _SCAN_COLUMNS + "WHERE seq <= %s ORDER BY seq"}
_MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_CHUNK = text("SELECT seq, event_id, type, actor, subject, correlation_id, occurred_at, stored_at, producer, "
              "version, payload, prev_hash, hash FROM audit_events WHERE seq > :last AND seq <= :upto "
              "ORDER BY seq LIMIT 5000")


def read_and_hash(engine, upto: int) -> int:
    """The physical floor of verification: every row up to ``upto`` read in seq order, in keyset chunks as the
    verifier reads them, and one SHA-256 over each row's previous hash and stored fields."""
    count, last = 0, 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(_CHUNK, {"last": last, "upto": upto}).all()
            for row in rows:
                hashlib.sha256("\x1f".join(str(v) for v in row).encode()).hexdigest()
            count += len(rows)
            if len(rows) < 5000:
                return count
            last = rows[-1][0]


def verify_slice(container, upto: int):
    """The verifier's work over the rows up to ``upto``: each row's link and hash, and the signed checkpoints
    among them (not the head and anchor, which sign the chain's end)."""
    from itertools import takewhile

    from services.audit.domain.verify import verify_chain

    with container.read_uow(snapshot=True) as uow:
        chain = uow.chain
        rows = takewhile(lambda row: row["seq"] <= upto, chain.iter_rows())
        checkpoints = [c for c in chain.checkpoints() if c.seq <= upto]
        return verify_chain(rows, verifier=uow.settings.verifier, checkpoints=checkpoints)


def _print_report(name: str, value: float, unit: str, baseline_name: str | None = None,
                  baseline_value: float | None = None) -> None:
    print(f"{name}: {value:,} {unit}" + (f"  |  {baseline_name}: {baseline_value:,}" if baseline_name else ""),
          flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="audit store at scale: search, export, verify")
    parser.add_argument("events", nargs="?", type=int, help="how many events (default 1,000,000)")
    parser.add_argument("--events", dest="events_opt", type=int)
    parser.add_argument("--pg", action="store_true", help="a fresh database on the machine's PostgreSQL")
    parser.add_argument("--keep", metavar="DIR", help="keep the store and its keys in DIR; a later run with the "
                        "same DIR and size measures it again without loading (BENCH_AUDIT_KEEP)")
    parser.add_argument("--load-only", action="store_true", help="load (with --keep) and stop")
    parser.add_argument("--slice", type=int, metavar="ROWS", help="export and verify only the first ROWS rows "
                        "(BENCH_AUDIT_SLICE)")
    args = parser.parse_args()
    if args.slice:
        os.environ["BENCH_AUDIT_SLICE"] = str(args.slice)
    if args.load_only:
        os.environ["BENCH_AUDIT_LOAD_ONLY"] = "1"
    if args.keep:
        os.environ["BENCH_AUDIT_KEEP"] = args.keep
    run(_print_report, n=args.events_opt or args.events or 1_000_000, pg=args.pg or None)
