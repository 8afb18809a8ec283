"""Login latency under 20 concurrent logins, beside the raw argon2id hash that every login pays.

Same run, same machine: identity runs under gunicorn (the web server settings of `portal run`) on
free ports, with a private Redis and a fresh SQLite file in a temporary directory; 20 users are
registered, then they log in with headers signed as the gateway signs them, twice over: in bursts (all 20
log in at the same moment, wait for each other, again) and in a closed loop (each logs in again as soon
as its login returns: 20 logins always in flight). The baselines are one argon2id hash at the production
parameters (``services/identity/adapters/passwords.py``) timed in this process, and the hashes per second
this machine manages with one thread per core. Goal: p95 < 300 ms.

``run(report)`` is called by the benchmark runner; ``python bench/bench_login.py`` runs alone.
Environment: BENCH_LOGIN_CLIENTS (default 20), BENCH_LOGIN_ROUNDS (logins per client, default 10),
BENCH_KEEP=1 keeps the work directory and logs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from services.identity.adapters import passwords  # noqa: E402
from services.identity.adapters.passwords import Argon2Hasher  # noqa: E402
from shared.identity import Identity  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until  # noqa: E402
from tests.support.redis_server import start_redis  # noqa: E402
from tests.support.signing import signed_send  # noqa: E402

Report = Callable[..., None]
SECRET = "bench-login-secret-" + "7b2d94e1" * 2  # noqa: S105 - signs requests to a throwaway process
PASSWORD = "bench password that is long enough"  # noqa: S105 - a throwaway account in a temp database
HASH_LABEL = f"one argon2id hash (m={passwords.MEMORY_KIB},t={passwords.TIME_COST},p={passwords.PARALLELISM})"
# portal run's web tier (services/cli/run_plan.py): the shared gunicorn settings, one process of 8 threads.
# BENCH_LOGIN_WORKERS / BENCH_LOGIN_THREADS try other shapes (the Kubernetes pods run 2 x 4).
GUNICORN = ["-c", "python:shared.web.gunicorn_conf", "--no-control-socket", "--timeout", "60",
            "--log-level", "warning"]


def server_shape() -> tuple[int, int]:
    return int(os.environ.get("BENCH_LOGIN_WORKERS", "1")), int(os.environ.get("BENCH_LOGIN_THREADS", "8"))


def clients() -> int:
    return int(os.environ.get("BENCH_LOGIN_CLIENTS", "20"))


def rounds() -> int:
    return int(os.environ.get("BENCH_LOGIN_ROUNDS", "10"))


def hash_ms(samples: int = 15) -> tuple[float, float]:
    """Median wall time and median CPU time of one argon2id hash at the production parameters, in this process."""
    hasher = Argon2Hasher()
    hasher.hash("warm up")
    times, cpu = [], []
    for n in range(samples):
        started, began = time.perf_counter(), time.thread_time()
        hasher.hash(f"password number {n}")
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - began) * 1000)
    return statistics.median(times), statistics.median(cpu)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and everything under it (gunicorn's master and workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def measure(base: str, emails: list[str], *, burst: bool) -> tuple[list[float], float]:
    """Latencies (ms) of ``rounds()`` logins per client and the wall time. ``burst``: every client logs in
    once, then waits for all the others (so each round is that many logins arriving at the same moment);
    else a closed loop (each client logs in again as soon as its last login returns)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    together = threading.Barrier(len(emails))

    def client(address: str) -> None:
        mine: list[float] = []
        try:
            with requests.Session() as http:
                _call(http, base, "POST", "/sessions", {"email": address, "password": PASSWORD})  # warm connection
                together.wait()
                for _ in range(rounds()):
                    started = time.perf_counter()
                    resp = _call(http, base, "POST", "/sessions", {"email": address, "password": PASSWORD})
                    mine.append((time.perf_counter() - started) * 1000)
                    if resp.status_code != 200:
                        with lock:
                            failures.append(f"{resp.status_code} {resp.text[:120]}")
                    if burst:
                        together.wait()
        except threading.BrokenBarrierError:
            return  # another client failed: its error is the one reported
        except Exception as exc:  # noqa: BLE001 - reported below; the other clients must not wait for this one
            with lock:
                failures.insert(0, f"client error: {exc!r}")
            together.abort()
            return
        with lock:
            latencies.extend(mine)

    wall = run_threads(client, emails)
    if failures:
        raise RuntimeError(f"{len(failures)} failed logins, e.g. {failures[0]}")
    return latencies, wall


def hashes_per_second(seconds: float = 2.0) -> float:
    """argon2id verifications per second with one thread per core (argon2-cffi releases the GIL): the most
    logins per second this machine could do if a login cost nothing but its hash."""
    hasher = Argon2Hasher()
    stored = hasher.hash("ceiling")
    done = [0] * (os.cpu_count() or 1)
    stop = time.perf_counter() + seconds

    def work(slot: int) -> None:
        while time.perf_counter() < stop:
            hasher.verify(stored, "ceiling")
            done[slot] += 1

    wall = run_threads(work, range(len(done)))  # first: the sum is read once every thread has ended
    return sum(done) / wall


def run_threads(target: Callable[[Any], None], args: Iterable[Any]) -> float:
    """Run ``target(arg)`` on a thread per argument, all at once; the wall time until the last ends."""
    threads = [threading.Thread(target=target, args=(arg,)) for arg in args]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - began


def _call(http: requests.Session, base: str, method: str, path: str, body: dict) -> requests.Response:
    return signed_send(http, SECRET.encode(), "identity", Identity(client_ip="127.0.0.1"), method, base + path,
                       json=body, timeout=60)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-login-"))
    server = start_redis()
    proc: Proc | None = None
    try:
        port = free_port()
        env = base_env({"PORTAL_INTERNAL_SECRET": SECRET, "PORTAL_VAR_DIR": str(workdir), "REDIS_URL": server.url})
        workers, threads = server_shape()
        proc = Proc("identity", [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN,
                                 "--workers", str(workers), "--threads", str(threads),
                                 "services.identity.wsgi:app"], env, workdir).start()
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(base), timeout=60, message="identity up")

        emails = [f"bench{n}@example.com" for n in range(clients())]
        with requests.Session() as http:
            for address in emails:
                resp = _call(http, base, "POST", "/users", {"name": "Bench", "email": address, "password": PASSWORD})
                if resp.status_code != 201:
                    raise RuntimeError(f"register failed: {resp.status_code} {resp.text[:200]}")

        assert proc.popen is not None
        cpu_before, client_before = cpu_seconds(proc.popen.pid), time.process_time()
        sustained, wall = measure(base, emails, burst=False)
        logins = len(sustained) + len(emails)
        login_cpu_ms = (cpu_seconds(proc.popen.pid) - cpu_before) * 1000 / logins
        client_cpu_ms = (time.process_time() - client_before) * 1000 / logins
        bursts, _ = measure(base, emails, burst=True)
        baseline, baseline_cpu = hash_ms()
        ceiling = hashes_per_second()
        server_label = f"gunicorn {workers}x{threads} threads, SQLite"
        for name, values in ((f"{clients()} logins at once, {rounds()} bursts", bursts),
                             (f"{clients()} clients in a closed loop", sustained)):
            for pct in (50, 95):
                report(f"login p{pct} ({name}; {server_label})", round(percentile(values, pct), 1), "ms",
                       HASH_LABEL, round(baseline, 1))
        cores = os.cpu_count() or 1
        report(f"logins/s ({clients()} clients in a closed loop; {server_label})", round(len(sustained) / wall, 1),
               "logins/s", f"argon2id hashes/s, {cores} threads hashing (ceiling)", round(ceiling, 1))
        # The server's CPU per login (warm-up logins included) beside one hash's: the load of other processes
        # on the machine moves it far less than the logins/s above. Its inverse ratio is the share of the
        # ceiling a machine with idle cores could reach.
        report(f"identity CPU per login (closed loop; {server_label})", round(login_cpu_ms, 1), "ms CPU",
               "one argon2id hash, CPU", round(baseline_cpu, 1))
        # The load generator (this process: requests, signing) runs on the same cores: on a machine with no
        # other load the closed loop's share of the ceiling can be no more than hash CPU / (identity + client).
        report(f"load generator CPU per login (closed loop; {server_label})", round(client_cpu_ms, 1), "ms CPU",
               "one argon2id hash, CPU", round(baseline_cpu, 1))
    finally:
        if proc is not None:
            proc.stop()
        server.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"bench work directory kept: {workdir}")


def _print_report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float) -> None:
    ratio = value / baseline_value if baseline_value else float("nan")
    print(f"{name}: {value:,} {unit}  |  {baseline_name}: {baseline_value:,} (x{ratio:.2f})")


if __name__ == "__main__":
    run(_print_report)
