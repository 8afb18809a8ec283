"""Past one machine: what a second audit writer and a second gateway add, on the machine's PostgreSQL.

Audit writers: a fresh PostgreSQL database per configuration (on ``BENCH_PG_URL``, default the machine's
server), the same generated events stored by 1 writer process into a store of one chain, by 2 writer
processes into a store of two chains (``PORTAL_AUDIT_CHAINS=2``, docs/audit.md "Several chains"), and by 2
writers into one chain (they queue on its head: the contention baseline). Each writer calls the ingestion
use case (``store_events``, the audit worker's transaction: dedupe, sealing, hashing, COPY, checkpoints,
signed head, projections) on batches of 1,000; the broker is left out, so the figure is the store's own
scaling. Every store is verified afterwards. Also reported: the store's CPU per event and its PostgreSQL
WAL bytes per event (for the projection in docs/performance.md).

Gateways: 1 and then 2 gateway processes (gunicorn, 1 worker x 8 threads each) on one PostgreSQL spool
(``GATEWAY_SPOOL_URL``) and one private Redis, in front of a stand-in service; ``wrk`` (or the Python
generator) drives each gateway with the same total connections. Reported with the gateways' CPU per request.
Also the Redis memory one queued access event takes (what a backlog costs).

On a 2-core machine a second process finds no idle core: the scaling factor here says whether anything
serialises the writers (a lock, a single chain), not what a second machine would add; docs/performance.md
projects that from the per-event costs. ``python -m bench scale``; BENCH_SCALE_EVENTS (default 20,000),
BENCH_GATEWAY_SECONDS (5) and BENCH_GATEWAY_CONNECTIONS (32) size it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.bench_audit_scale import generate  # noqa: E402
from bench.bench_gateway import connections, find_wrk, python_rate, seconds, wrk_rate  # noqa: E402
from tests.support.audit_keys import audit_keys_env  # noqa: E402
from tests.support.databases import MACHINE_PG_URL, drop_database_url, new_pg_database_url  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until  # noqa: E402
from tests.support.redis_server import start_redis  # noqa: E402

Report = Callable[..., None]
SECRET = "bench-scale-" + secrets.token_hex(16)
BATCH = 1000


def events_total() -> int:
    return int(os.environ.get("BENCH_SCALE_EVENTS", "20000"))


def load() -> str:
    return "load avg " + " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- audit writers ------------------------------------------------------------------------------------

def _writer(env: dict[str, str], events: list, start: Any, results: Any) -> None:
    os.environ.update(env)
    from services.audit.bootstrap import bootstrap
    from services.audit.handlers import store_events

    container = bootstrap(run_migrations=False)
    start.wait()
    cpu = time.process_time()
    began = time.perf_counter()
    for i in range(0, len(events), BATCH):
        store_events(container, events[i:i + BATCH])
    results.put((time.perf_counter() - began, time.process_time() - cpu))
    container.runtime.engine.dispose()


def _wal_lsn(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one()
    engine.dispose()
    return int(lsn)


def audit_writers(workdir: Path, chains: int, writers: int, events: list) -> dict[str, float]:
    """Events/s of ``writers`` processes storing ``events`` (split between them) into a fresh store of
    ``chains`` chains; CPU µs and WAL bytes per event; the store verified."""
    url = new_pg_database_url("scale_audit", os.environ.get("BENCH_PG_URL") or MACHINE_PG_URL)
    env = {"PORTAL_INTERNAL_SECRET": SECRET, "AUDIT_DATABASE_URL": url, "PORTAL_AUDIT_CHAINS": str(chains),
           "PORTAL_VAR_DIR": str(workdir), **audit_keys_env(workdir / f"keys-{chains}-{writers}")}
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from services.audit.bootstrap import bootstrap
        from services.audit.handlers.integrity import verify

        container = bootstrap()  # migrations and the chains, before the writers start
        ctx = multiprocessing.get_context("spawn")
        start, results = ctx.Event(), ctx.Queue()
        shares = [events[i::writers] for i in range(writers)]
        procs = [ctx.Process(target=_writer, args=(env, share, start, results)) for share in shares]
        for proc in procs:
            proc.start()
        time.sleep(3)  # every writer imported and connected
        wal = _wal_lsn(url)
        began = time.perf_counter()
        start.set()
        outcomes = [results.get(timeout=1800) for _ in procs]
        wall = time.perf_counter() - began
        wal_bytes = _wal_lsn(url) - wal  # the whole server's WAL: other databases' writes count too
        for proc in procs:
            proc.join()
        result = verify(container)
        assert result.ok and result.checked == len(events), result.to_dict()
        container.runtime.engine.dispose()
        return {"rate": len(events) / wall, "cpu_us": 1e6 * sum(c for _w, c in outcomes) / len(events),
                "wal_bytes": wal_bytes / len(events)}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        drop_database_url(url)


# --- gateways -------------------------------------------------------------------------------------------

GUNICORN = ["--workers", "1", "--worker-class", "gthread", "--threads", "8", "--no-control-socket",
            "--timeout", "60", "--log-level", "warning"]


def _gunicorn(name: str, app: str, port: int, env: dict[str, str], log_dir: Path, *extra: str) -> Proc:
    return Proc(name, [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN, *extra, app], env,
                log_dir)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _cpu(procs: list[Proc]) -> float:
    total = 0.0
    for proc in procs:
        try:
            parent = psutil.Process(proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def gateways(workdir: Path, report: Report) -> None:
    saved = os.environ.get("BENCH_GATEWAY_CONNECTIONS")
    server = start_redis()
    spool = new_pg_database_url("scale_spool", os.environ.get("BENCH_PG_URL") or MACHINE_PG_URL)
    procs: list[Proc] = []
    try:
        upstream_port = free_port()
        env = base_env({
            "PORTAL_INTERNAL_SECRET": SECRET, "PORTAL_VAR_DIR": str(workdir), "REDIS_URL": server.url,
            "GATEWAY_SPOOL_URL": spool, "IDENTITY_URL": f"http://127.0.0.1:{upstream_port}",
            **{f"{s.upper()}_URL": f"http://127.0.0.1:{free_port()}" for s in ("linking", "content", "audit", "web")},
            "GATEWAY_RATE_LIMIT_IP": "100000000/min", "GATEWAY_RATE_LIMIT_USER": "100000000/min",
            "UPSTREAM_NAME": "identity",
        })
        upstream = _gunicorn("stand-in", "tests.integration.gateway.upstream_app:create()", upstream_port, env,
                             workdir, "--threads", "16").start()
        procs.append(upstream)
        ports = [free_port(), free_port()]
        gws = [_gunicorn(f"gateway-{n}", "services.gateway.wsgi:app", port, env, workdir).start()
               for n, port in enumerate(ports)]
        procs += gws
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in [f"http://127.0.0.1:{upstream_port}", *urls]:
            wait_until(lambda url=url: _up(url), timeout=60, message=f"{url} up")
        wrk = None if os.environ.get("BENCH_GATEWAY_TOOL") == "python" else find_wrk()
        duration = seconds()

        def drive(targets: list[str]) -> tuple[float, int]:
            """Requests/s over ``targets`` at once (one load generator each, the connections split)."""
            ctx = multiprocessing.get_context("fork")
            out = ctx.Queue()

            def one(target: str) -> None:
                out.put(wrk_rate(wrk, target, dict, duration) if wrk else python_rate(target, dict, duration))

            runners = [ctx.Process(target=one, args=(t,)) for t in targets]
            for runner in runners:
                runner.start()
            rates = [out.get(timeout=duration + 120) for _ in runners]
            for runner in runners:
                runner.join()
            return sum(r for r, _bad in rates), sum(bad for _r, bad in rates)

        path = "/api/identity/policy"
        total = connections()
        os.environ["BENCH_GATEWAY_CONNECTIONS"] = str(max(2, total // 2))  # per generator
        drive([urls[0] + path])  # warm-up
        drive([urls[1] + path])
        figures: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        for _ in range(2):
            for n, targets in ((1, [urls[0] + path, urls[0] + path]), (2, [u + path for u in urls])):
                cpu = _cpu(gws)
                rate, bad = drive(targets)
                if bad:
                    raise RuntimeError(f"{bad} failed responses through {n} gateway(s)")
                figures[n].append((rate, (_cpu(gws) - cpu) / (rate * duration)))
        best = {n: max(v, key=lambda f: f[0]) for n, v in figures.items()}
        tool = "wrk" if wrk else "python threads"
        report(f"2 gateways on one PostgreSQL spool ({tool}, {total} connections in all, best of 2; "
               f"gateway CPU {1e3 * best[2][1]:.2f} ms/request; {load()})", round(best[2][0]), "req/s",
               f"1 gateway (CPU {1e3 * best[1][1]:.2f} ms/request)", round(best[1][0]))
        report_queue_memory(server.url, env, report)
    finally:
        for proc in procs:
            proc.stop()
        server.stop()
        drop_database_url(spool)
        if saved is None:
            os.environ.pop("BENCH_GATEWAY_CONNECTIONS", None)
        else:
            os.environ["BENCH_GATEWAY_CONNECTIONS"] = saved


def report_queue_memory(redis_url: str, env: dict[str, str], report: Report) -> None:
    """Redis memory per access event waiting in a queue: batches of 1,000 as the relay publishes them (the
    kombu message around a JSON list of events, base64 as kombu sends it)."""
    import base64

    from services.gateway.handlers import Access, access_event

    keys = {k: v for k, v in env.items() if k.startswith("PORTAL_EVENT_")}  # the gateway's event signing key
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    client = redis.Redis.from_url(redis_url)
    key = f"bench:scale:{uuid.uuid4().hex}"
    before = int(client.info("memory")["used_memory"])
    n = 20_000
    for _ in range(n // BATCH):
        bodies = [json.loads(access_event(Access(method="GET", path="/api/content/items/42", query="",
                                                 client_ip="198.51.100.4", user_agent="Mozilla/5.0 (X11)",
                                                 request_id=str(uuid.uuid4()), service="content", status=200,
                                                 bytes_sent=512, duration_ms=3.2))[1]) for _ in range(BATCH)]
        body = base64.b64encode(json.dumps([[bodies], {}, {}]).encode()).decode()
        client.lpush(key, json.dumps({"body": body, "content-encoding": "utf-8", "content-type": "application/json",
                                      "headers": {"task": "portal.consume", "id": str(uuid.uuid4())},
                                      "properties": {"body_encoding": "base64", "delivery_tag": str(uuid.uuid4())}}))
    used = int(client.info("memory")["used_memory"]) - before
    client.delete(key)
    client.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    report("Redis memory per queued access event (batches of 1,000)", round(used / n), "bytes",
           "the event's JSON", len(json.dumps(bodies[0])))


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        n = events_total()
        events = list(generate(n, seed=int(time.time())))
        print(f"   audit writers, {n:,} events each configuration ({load()})", flush=True)
        one = audit_writers(workdir, 1, 1, events)
        events = list(generate(n, seed=int(time.time()) + 1))
        two = audit_writers(workdir, 2, 2, events)
        events = list(generate(n, seed=int(time.time()) + 2))
        crowded = audit_writers(workdir, 1, 2, events)
        report(f"2 audit writers, 2 chains, PostgreSQL ({two['cpu_us']:.0f} µs CPU/event; {load()})",
               round(two["rate"]), "events/s", f"1 writer, 1 chain ({one['cpu_us']:.0f} µs CPU/event)",
               round(one["rate"]))
        report(f"2 audit writers on 1 chain (they queue on its head; {load()})", round(crowded["rate"]), "events/s",
               "1 writer, 1 chain", round(one["rate"]))
        report("PostgreSQL WAL per stored event (1 writer, whole server)", round(one["wal_bytes"]), "bytes",
               "2 writers, 2 chains", round(two["wal_bytes"]))
        gateways(workdir, report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _print_report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float) -> None:
    ratio = f"x{value / baseline_value:.2f}" if baseline_value else "-"
    print(f"{name}: {value:,} {unit}  |  {baseline_name}: {baseline_value:,}  |  {ratio}")


if __name__ == "__main__":
    run(_print_report)
