"""``portal schedule``: the platform's periodic duties, so that the retention periods and deadlines the privacy
policy announces hold without anyone remembering a cron line.

Each duty is an existing ``portal`` command, run as its own process (a crash or a leak stays in it), one at a
time (two cores are shared with the services). When each last started, and how it ended, is kept in
``var/schedule.json``, so a restart neither repeats a daily duty at once nor forgets one. A failed duty is
logged loudly (``audit verify`` failing means the server log was tampered with) and tried again at its next
interval, not in a tight loop.

Every interval can be changed with ``PORTAL_SCHEDULE_<NAME>_SECONDS`` (``0`` switches the duty off), e.g.
``PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS=3600``. docs/operations.md lists them.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import metrics
from shared.config import ConfigError, env_int

log = logging.getLogger("portal.schedule")
DAY = 86_400


@dataclass(frozen=True)
class Duty:
    name: str  # also the environment suffix: audit-retain -> PORTAL_SCHEDULE_AUDIT_RETAIN_SECONDS
    service: str  # whose command it is (skipped when that service is not deployed here)
    args: tuple[str, ...]  # the ``portal`` command line
    every: int  # seconds between starts
    why: str

    @property
    def env_name(self) -> str:
        return f"PORTAL_SCHEDULE_{self.name.upper().replace('-', '_')}_SECONDS"


def duties(env: Mapping[str, str], services: Sequence[str] | None = None) -> list[Duty]:
    """The duties, with their configured intervals; switched-off duties and other services' left out."""
    known = [
        Duty("privacy-retry-exports", "identity", ("privacy", "retry-exports"), 15 * 60,
             "export sections still missing after a service was down (exports are due within a month)"),
        Duty("privacy-purge-exports", "identity", ("privacy", "purge-exports"), 3600,
             "copied export data deleted once its keeping time is over"),
        Duty("content-purge-complaints", "content", ("content", "purge-complaints"), DAY,
             "complaints kept after an erasure deleted when their retention ends"),
        Duty("content-sweep-files", "content", ("content", "sweep-files"), DAY,
             "stored files of uploads that died before they were recorded deleted"),
        Duty("audit-retain", "audit", ("audit", "retain"), DAY,
             "server log events older than audit's retention period removed (legal holds kept)"),
        Duty("audit-verify", "audit", ("audit", "verify"), DAY,
             "the server log's hash chain checked; a failure is a tamper alarm"),
    ]
    chosen = []
    for duty in known:
        if services is not None and duty.service not in services:
            continue
        every = _int(env, duty.env_name, duty.every)
        if every > 0:
            chosen.append(Duty(duty.name, duty.service, duty.args, every, duty.why))
    return chosen


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_int(name, default, env)
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


class Schedule:
    """When each duty is due. ``now`` is wall-clock seconds (the state survives restarts)."""

    def __init__(self, duties_: Sequence[Duty], state_path: Path, *, start_delay: float, now: float) -> None:
        self.duties = list(duties_)
        self.path = state_path
        self.state: dict[str, dict[str, Any]] = self._load()
        self.first_at = now + start_delay  # nothing runs before the platform has settled

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("schedule state %s unreadable (%s); every duty is due", self.path, exc)
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def due_at(self, duty: Duty) -> float:
        last = self.state.get(duty.name, {}).get("started")
        return self.first_at if not isinstance(last, int | float) else max(self.first_at, last + duty.every)

    def due(self, now: float) -> list[Duty]:
        """The duties due now, the longest overdue first."""
        return sorted((d for d in self.duties if self.due_at(d) <= now), key=self.due_at)

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, min((self.due_at(d) for d in self.duties), default=3600.0) - now)

    def record(self, duty: Duty, started: float, finished: float, exit_code: int, tail: str) -> None:
        self.state[duty.name] = {"started": started, "finished": finished, "exit_code": exit_code,
                                 "output": tail[-2000:]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        os.replace(tmp, self.path)  # a reader never sees half a file


    def metrics_state(self) -> Iterable[metrics.GaugeMetricFamily]:
        """Gauges of each duty's last run and next start (``portal schedule``'s ``/metrics``): alert on a
        duty whose last run failed, or that has not run for twice its interval."""
        last = [(d, self.state.get(d.name, {})) for d in self.duties]
        yield metrics.gauge("portal_schedule_duty_last_start_timestamp_seconds", "When a duty last started",
                            ["duty"], [([d.name], float(s["started"])) for d, s in last if "started" in s])
        yield metrics.gauge("portal_schedule_duty_last_ok", "1 when a duty's last run succeeded, else 0", ["duty"],
                            [([d.name], float(s.get("exit_code") == 0)) for d, s in last if "started" in s])
        yield metrics.gauge("portal_schedule_duty_next_start_timestamp_seconds", "When a duty is due next",
                            ["duty"], [([d.name], self.due_at(d)) for d in self.duties])


Runner = Callable[[Duty], tuple[int, str]]


def run_portal(duty: Duty, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """Run ``portal <args>`` to its end (with ``env``, else this process's environment): (exit code, its output).
    A duty that hangs is stopped after its interval (at most an hour) and counts as failed."""
    portal = Path(sys.executable).parent / "portal"
    argv = [str(portal) if portal.exists() else "portal", *duty.args]
    timeout = max(60, min(duty.every, 3600))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,  # noqa: S603
                              env=None if env is None else dict(env))
    except subprocess.TimeoutExpired as exc:
        output = exc.output if isinstance(exc.output, str) else ""
        return 124, f"{output}\nstopped after {timeout} s"
    # Its log lines first, its answer (stdout) last: the last line is what the schedule's log line shows.
    return done.returncode, "\n".join(part for part in (done.stderr.strip(), done.stdout.strip()) if part)


def serve(schedule: Schedule, stop: threading.Event, runner: Runner = run_portal,
          clock: Callable[[], float] = time.time) -> None:
    """Run due duties one at a time until ``stop`` is set."""
    while not stop.is_set():
        for duty in schedule.due(clock()):
            if stop.is_set():
                return
            started = clock()
            code, output = runner(duty)
            finished = clock()
            schedule.record(duty, started, finished, code, output)
            metrics.DUTY_RUNS.labels(duty.name, "ok" if code == 0 else "failed").inc()
            metrics.DUTY_DURATION.labels(duty.name).observe(max(0.0, finished - started))
            last = output.strip().splitlines()[-1][:300] if output.strip() else ""
            if code == 0:
                log.info("%s ok in %.1f s: %s", duty.name, finished - started, last)
            else:
                log.error("%s FAILED (exit %d) in %.1f s; next try in %d s: %s", duty.name, code,
                          finished - started, duty.every, output[-1500:])
        stop.wait(min(60.0, schedule.seconds_to_next(clock())))


def start_in_thread(services: Sequence[str], env: Mapping[str, str], stop: threading.Event) -> threading.Thread:
    """The schedule on a thread of the calling process (``portal run``'s supervisor, which holds every secret
    already), not an interpreter of its own: each duty still runs as its own ``portal`` process, with ``env``
    (the secrets and Redis user ``portal schedule`` would have had), and its figures are served on
    ``env``'s ``PORTAL_METRICS_PORT``. A duty that raises is logged and the schedule goes on."""
    from shared.metrics import serve_in_background

    chosen = duties(env, services)
    plan = Schedule(chosen, Path(env["PORTAL_VAR_DIR"]) / "schedule.json",
                    start_delay=float(env.get("PORTAL_SCHEDULE_START_DELAY", "60")), now=time.time())
    for duty in chosen:
        log.info("schedule: %s every %s s (%s)", duty.name, duty.every, duty.why)
    port = int(env.get("PORTAL_METRICS_PORT") or 0)
    if port:
        serve_in_background(port, [plan.metrics_state], addr=env.get("PORTAL_METRICS_ADDR", "127.0.0.1"))

    def runner(duty: Duty) -> tuple[int, str]:
        try:
            return run_portal(duty, env)
        except Exception as exc:  # noqa: BLE001 - the schedule outlives one duty's failure to start
            return 1, f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=serve, args=(plan, stop, runner), name="schedule", daemon=True)
    thread.start()
    return thread
