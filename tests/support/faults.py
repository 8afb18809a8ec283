"""Fault injection on a running platform (``portal run``): steady load through the gateway, a fault, then
every answered request id looked up in the audit store.

``Load`` keeps a few clients busy at a steady pace and records each answer's ``X-Request-ID``, status and
time. ``run_fault`` starts the load, injects one fault (kill -9, or SIGSTOP for a while then SIGCONT), waits
for the supervisor to bring the process back, stops the load and waits until the audit store holds every
answered request exactly once. The figures (lost, duplicated, 5xx, time to recover, time to catch up)
are what ``docs/reliability.md`` records.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from services.audit.adapters.tables import audit_events
from services.cli.secret_files import read_env_file
from services.gateway.handlers import UNRECORDED_MESSAGE
from tests.support.platform import Platform

ACCESS = "gateway.request.completed"
SLOW_S = 2.0  # an answer slower than this counts as the platform not serving
PATHS = ("/api/content/items", "/api/identity/policy", "/api/linking/companies?q=a", "/api/content/items/nope")


@dataclass
class Answer:
    request_id: str
    status: int
    at: float  # monotonic, when the answer arrived
    took: float  # seconds the request waited for it
    unrecorded: bool = False  # the gateway refused it (503) because it could not record it: not in the store


def refused_unrecorded(resp: requests.Response) -> bool:
    """The gateway's 503 when its spool cannot take the access event (a full disk): nothing was served."""
    if resp.status_code != 503:
        return False
    try:
        return resp.json()["error"]["message"] == UNRECORDED_MESSAGE
    except (ValueError, KeyError, TypeError):
        return False


@dataclass
class Load:
    """``clients`` threads, each at most ``rate`` requests a second, GETs through the gateway: anonymous, except
    the first client's when ``logged_in`` (a session with its cookie) is given."""

    base_url: str
    clients: int = 3
    rate: float = 10.0
    logged_in: requests.Session | None = None
    answers: list[Answer] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # no answer at all (connection cut)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self, index: int) -> None:
        http = self.logged_in if index == 0 and self.logged_in is not None else requests.Session()
        period = 1.0 / self.rate
        n = index
        while not self._stop.is_set():
            started = time.monotonic()
            path = PATHS[n % len(PATHS)]
            n += 1
            try:
                resp = http.get(self.base_url + path, timeout=30)
            except requests.RequestException as exc:
                with self._lock:
                    self.failures.append((time.monotonic(), type(exc).__name__))
                if http is not self.logged_in:
                    http = requests.Session()
            else:
                rid = resp.headers.get("X-Request-ID")
                with self._lock:
                    if rid:
                        now = time.monotonic()
                        self.answers.append(Answer(rid, resp.status_code, now, now - started,
                                                   refused_unrecorded(resp)))
                    else:  # an answer without a request id never came from the gateway's handler
                        self.failures.append((time.monotonic(), f"status {resp.status_code} without request id"))
            self._stop.wait(max(0.0, period - (time.monotonic() - started)))

    def __enter__(self) -> Load:
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def snapshot(self) -> tuple[list[Answer], list[tuple[float, str]]]:
        with self._lock:
            return list(self.answers), list(self.failures)


class AuditStore:
    """Reads the audit service's own database (the store itself, not its API: no rate limit, no paging)."""

    def __init__(self, platform: Platform) -> None:
        env = read_env_file(platform.var_dir / "portal.env")
        self.engine: Engine = create_engine(env["AUDIT_DATABASE_URL"])

    def counts(self) -> dict[str, int]:
        """How many access events the store holds per request id."""
        t = audit_events
        query = select(t.c.correlation_id, func.count()).where(t.c.type == ACCESS).group_by(t.c.correlation_id)
        with self.engine.connect() as conn:
            return {rid: n for rid, n in conn.execute(query)}

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Figures:
    fault: str
    answered: int
    per_second: float
    lost: int
    duplicated: int
    server_errors: int
    unrecorded: int  # refused with 503 because the access could not be recorded (spool disk full)
    unanswered: int
    recover_s: float
    back_s: float  # from the fault until the process is back (ready), or continued after a stop
    catch_up_s: float | None

    def line(self) -> str:
        catch_up = f"{self.catch_up_s:.1f}" if self.catch_up_s is not None else "never"
        return (f"{self.fault:<32} answered {self.answered:>6} ({self.per_second:5.1f}/s)  lost {self.lost}  "
                f"duplicated {self.duplicated}  5xx {self.server_errors}"
                + (f" ({self.unrecorded} unrecorded)" if self.unrecorded else "")
                + f"  unanswered {self.unanswered}  "
                f"recover {self.recover_s:.1f}s  back {self.back_s:.1f}s  catch-up {catch_up}s")


@dataclass(frozen=True)
class Fault:
    """``target`` names a child of ``portal run`` (its pid file in ``var/run``); ``gateway-worker`` is one
    of the gateway master's workers, ``audit-worker`` the process running audit's worker (``child``). ``down``
    0 is kill -9 (the supervisor restarts it); otherwise the process is stopped (SIGSTOP) for that many
    seconds and then continued."""

    name: str
    target: str
    down: float = 0.0
    inject: Callable[[], None] | None = None  # instead of a signal: e.g. restart a database (back when it returns)


# What a restarted process writes once it works again (supervisor log: ``name | line``); a process without
# such a line is back when its new process exists.
READY_LINES = {
    "audit-worker": ("audit-worker", "ready."),
    "content-web": ("content-web", "Booting worker"),
    "gateway-worker": ("gateway", "Booting worker"),
    "redis": ("redis", "Ready to accept connections"),
    "relay": ("relay", "relay: gateway outbox -> broker"),
}


def child(platform: Platform, target: str) -> str:
    """The child of ``portal run`` that ``target`` is: a service's worker runs in the process of every service's
    worker (``workers``) unless the platform runs one per service."""
    if target.endswith("-worker") and target != "gateway-worker":
        return platform.worker_child(target.removesuffix("-worker"))
    return target


def ready_count(platform: Platform, target: str) -> int:
    if target not in READY_LINES:
        return 0
    name, marker = READY_LINES[target]
    name = child(platform, name)
    return sum(1 for line in platform.proc.output().splitlines()
               if marker in line and line[9:].startswith(name + " "))


def target_pid(platform: Platform, target: str) -> int:
    pids = platform.pids()
    if target == "gateway-worker":
        workers = psutil.Process(pids["gateway"]).children()
        assert workers, "the gateway master has no workers"
        return workers[0].pid
    return pids[child(platform, target)]


def back(platform: Platform, target: str, old_pid: int, readies: int) -> bool:
    """The supervisor (or gunicorn's master) runs the target again, as a new process, and it said it is
    ready when it has a way to say so."""
    try:
        pid = target_pid(platform, target)
    except (KeyError, AssertionError, psutil.NoSuchProcess, FileNotFoundError, ValueError):
        return False
    return pid != old_pid and psutil.pid_exists(pid) and (
        target not in READY_LINES or ready_count(platform, target) > readies)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def run_fault(platform: Platform, fault: Fault, *, before: float = 4.0, after: float = 4.0,
              catch_up_timeout: float = 120.0, load: Load | None = None) -> Figures:
    """Load for ``before`` seconds, the fault, load on until the store holds every request answered before
    the process was back (that moment minus the process being back is the catch-up time) and at least
    ``after`` seconds more; then every answered request is looked up."""
    store = AuditStore(platform)
    load = load or Load(platform.url)
    try:
        with load:
            time.sleep(before)
            pid = target_pid(platform, fault.target) if fault.inject is None else 0
            readies = ready_count(platform, fault.target)
            struck = time.monotonic()
            if fault.inject is not None:
                fault.inject()
            elif fault.down:
                os.kill(pid, signal.SIGSTOP)
                time.sleep(fault.down)
                os.kill(pid, signal.SIGCONT)
            else:
                os.kill(pid, signal.SIGKILL)
                assert wait_for(lambda: back(platform, fault.target, pid, readies), timeout=60), \
                    f"{fault.target} was not started again"
            returned = time.monotonic()
            backlog = {a.request_id for a in load.snapshot()[0] if not a.unrecorded}

            def drained() -> bool:
                counts = store.counts()
                return all(counts.get(rid, 0) >= 1 for rid in backlog)

            caught = wait_for(drained, timeout=catch_up_timeout, interval=0.2)
            catch_up = time.monotonic() - returned if caught else None
            time.sleep(max(0.0, returned + after - time.monotonic()))
        answers, failures = load.snapshot()
        answered = {a.request_id for a in answers}
        recorded = {a.request_id for a in answers if not a.unrecorded}  # what must be in the store
        wait_for(lambda: all(n >= 1 for n in _counts_of(store, recorded)), timeout=catch_up_timeout, interval=0.25)
        time.sleep(1.0)  # late duplicates, if any, would land now
        counts = store.counts()
        # Not serving: a 5xx, no answer at all, or an answer that kept the client waiting (a hang).
        bad = [a.at for a in answers if a.status >= 500 or a.took > SLOW_S] + [at for at, _ in failures]
        first, last = answers[0].at if answers else struck, answers[-1].at if answers else struck
        return Figures(
            fault=fault.name, answered=len(answered),
            per_second=len(answers) / max(0.001, last - first),
            lost=sum(1 for rid in recorded if counts.get(rid, 0) == 0),
            duplicated=sum(1 for rid in answered if counts.get(rid, 0) > 1),
            server_errors=sum(1 for a in answers if a.status >= 500),
            unrecorded=sum(1 for a in answers if a.unrecorded),
            unanswered=len(failures),
            recover_s=max((at - struck for at in bad if at >= struck), default=0.0),
            back_s=returned - struck,
            catch_up_s=catch_up,
        )
    finally:
        store.close()


def _counts_of(store: AuditStore, request_ids: set[str]) -> list[int]:
    counts = store.counts()
    return [counts.get(rid, 0) for rid in request_ids]
