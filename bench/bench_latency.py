"""Access → searchable: how long after the gateway answers a request its access event is returned by
``GET /api/audit/events?correlation_id=``, at 50 % and 100 % of the rate the platform sustains.

Same run, same machine: the whole platform under ``portal run`` with ``make run``'s own process counts
(tests/support/platform.py, ``test_sizing=False``), rate limits off. The sustainable rate is what
``BENCH_LATENCY_CLIENTS`` (default 16) clients in a closed loop get through the gateway on
``GET /api/identity/policy`` in ``BENCH_LATENCY_SECONDS`` (default 10). Then, for each share of it, an
open loop sends requests at that fixed rate for ``BENCH_LATENCY_SECONDS`` (``BENCH_LATENCY_FULL_SECONDS``,
default the same, at 100 %: set minutes for the soak the goal asks for); a few requests a second are
probes: the answer's ``X-Request-ID`` is the access event's ``correlation_id``, which a compliance
officer's session searches for every 50 ms until it is found. A probe still missing 60 s after the load
stopped counts as missing (and fails the benchmark). Reported: p50 beside one search request's own p50
(the probe's floor), p99 beside the goal (1 s at 50 %).

``run(report)`` is called by the benchmark runner; ``python bench/bench_latency.py`` runs alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.bench_login import percentile  # noqa: E402
from tests.support.people import person  # noqa: E402
from tests.support.platform import running_platform  # noqa: E402

Report = Callable[..., None]
T = 30
TARGET = "/api/identity/policy"
PROBES_PER_SECOND = 4
POLL_SECONDS = 0.05
GIVE_UP_SECONDS = 60.0
GOAL_P99_MS = 1000.0


def clients() -> int:
    return int(os.environ.get("BENCH_LATENCY_CLIENTS", "16"))


def seconds() -> float:
    return float(os.environ.get("BENCH_LATENCY_SECONDS", "10"))


def full_seconds() -> float:
    return float(os.environ.get("BENCH_LATENCY_FULL_SECONDS", str(seconds())))


def sustainable_rate(url: str, duration: float) -> float:
    """Requests/s of ``clients()`` threads each asking again as soon as answered."""
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def client() -> None:
        n = 0
        with requests.Session() as http:
            while time.perf_counter() < deadline:
                if http.get(url, timeout=T).status_code == 200:
                    n += 1
        with lock:
            done[0] += n

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - started)


class Prober:
    """Searches for each probe's access event until it is found; keeps the latencies (ms)."""

    def __init__(self, base: str, searcher: requests.Session) -> None:
        self.base = base
        self.searcher = searcher
        self.pending: dict[str, float] = {}  # request id -> when the gateway answered (perf_counter)
        self.latencies: list[float] = []
        self.found_ids: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def add(self, request_id: str, answered: float) -> None:
        with self.lock:
            self.pending[request_id] = answered

    def _found(self, request_id: str) -> bool:
        resp = self.searcher.get(f"{self.base}/api/audit/events", params={"correlation_id": request_id, "limit": 5},
                                 timeout=T)
        return resp.status_code == 200 and any(e["correlation_id"] == request_id for e in resp.json()["items"])

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                waiting = list(self.pending.items())
            for request_id, answered in waiting:
                if self._found(request_id):
                    now = time.perf_counter()
                    with self.lock:
                        self.pending.pop(request_id, None)
                    self.latencies.append((now - answered) * 1000)
                    self.found_ids.append(request_id)
            self.stop.wait(POLL_SECONDS)

    def drain(self, timeout: float) -> int:
        """Wait for the probes still pending; return how many never showed up."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.1)
        self.stop.set()
        self.thread.join(timeout=T)
        return len(self.pending)


def open_loop(base: str, rate: float, duration: float, prober: Prober) -> int:
    """Send ``rate`` requests/s for ``duration`` seconds whatever the answers' pace; every
    ``rate / PROBES_PER_SECOND``-th request is a probe. Returns the failed requests."""
    every = max(1, round(rate / PROBES_PER_SECOND))
    failed = [0]
    local = threading.local()

    def send(n: int) -> None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
        try:
            resp = http.get(base + TARGET, timeout=T)
        except requests.RequestException:
            failed[0] += 1
            return
        answered = time.perf_counter()
        if resp.status_code != 200:
            failed[0] += 1
        elif n % every == 0:
            prober.add(resp.headers["X-Request-ID"], answered)

    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.perf_counter()
        n = 0
        while (due := started + n / rate) < started + duration:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, n)
            n += 1
    return failed[0]


def search_floor_ms(base: str, searcher: requests.Session, request_id: str) -> float:
    """p50 of one search request for an event already stored: what a probe costs at the least."""
    times = []
    for _ in range(20):
        began = time.perf_counter()
        searcher.get(f"{base}/api/audit/events", params={"correlation_id": request_id, "limit": 5}, timeout=T)
        times.append((time.perf_counter() - began) * 1000)
    return percentile(times, 50)


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    try:
        with running_platform(workdir, {"GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off"},
                              test_sizing=False) as platform:
            base = platform.url
            officer = person(platform, "Rita", "compliance").http
            sustainable_rate(base + TARGET, 2)  # warm-up
            rate = sustainable_rate(base + TARGET, seconds())
            print(f"   sustainable: {rate:.0f} req/s ({clients()} clients, closed loop)", flush=True)
            floor = None
            for share, duration in ((0.5, seconds()), (1.0, full_seconds())):
                prober = Prober(base, officer)
                prober.thread.start()
                failed = open_loop(base, rate * share, duration, prober)
                missing = prober.drain(GIVE_UP_SECONDS)
                if failed or missing or not prober.latencies:
                    raise RuntimeError(f"at {share:.0%}: {failed} failed requests, {missing} probes never "
                                       f"searchable after {GIVE_UP_SECONDS:.0f} s")
                if floor is None:
                    floor = search_floor_ms(base, officer, prober.found_ids[0])
                label = f"at {share:.0%} of the sustainable rate ({rate * share:.0f} req/s, {duration:.0f} s)"
                report(f"access -> searchable p50 {label}", round(percentile(prober.latencies, 50)), "ms",
                       "one search request p50 (the probe's floor)", round(floor, 1))
                report(f"access -> searchable p99 {label}", round(percentile(prober.latencies, 99)), "ms",
                       "goal (at 50 %)", GOAL_P99_MS)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    from bench import print_report

    run(print_report)
