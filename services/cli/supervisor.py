"""A small process supervisor, in the spirit of honcho/foreman, for ``portal run``.

It starts child processes in their own process groups (so a terminal's Ctrl-C reaches only us and
we decide the stop order), prefixes every line they print with their name, keeps a pid file per
child, restarts a child that dies unexpectedly (at once the first time, then with exponential
backoff), and stops groups of children in order: SIGTERM to the whole process group, then SIGKILL
after a grace period.

A child may hand over (``ChildSpec.handover``): when its leader dies, what is left of its process group (a
gunicorn master's workers) keeps running beside the replacement, which is told the old group
(``HANDOVER_ENV``) and ends it once it serves itself; the supervisor kills that group after ``handover``
seconds in any case. So a killed gunicorn master costs no refused request: its workers serve until the new
master's take over (shared/web/gunicorn_worker.py).

It knows nothing about the portal; ``services/cli/run.py`` decides what to run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shared.process_groups import signal_leaderless_group

COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94", "31")
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    """What to run. ``env`` is the complete environment of the child."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    cwd: str | None = None
    # The pause before restarting after a first crash, when it must differ from the supervisor's Backoff.
    first_restart: float | None = None
    # Seconds the rest of a dead leader's process group may run beside its replacement (0: killed at once).
    handover: float = 0.0


HANDOVER_ENV = "PORTAL_HANDOVER_FROM"  # the process group a restarted child takes over from


@dataclass(frozen=True)
class Backoff:
    """Restart delays. The first unexpected exit of a child that was running is restarted after ``first``
    (at once by default: a crash of a working process should cost seconds of service, not a pause on
    top); each further exit in a row waits ``initial``, doubling up to ``maximum``. A child that ran
    ``stable_after`` seconds is considered healthy again and its next exit counts as a first one."""

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 30.0
    first: float = 0.0

    def delay(self, consecutive_failures: int) -> float:
        if consecutive_failures <= 1:
            return min(self.first, self.maximum)
        return min(self.maximum, self.initial * (2 ** (consecutive_failures - 2)))


class LogMux:
    """Writes ``HH:MM:SS name | line`` for every child and for the supervisor itself."""

    def __init__(self, out: IO[str], names: Iterable[str], color: bool | None = None) -> None:
        self.out = out
        self.width = max([len(n) for n in names] + [6])
        if color is None:
            color = out.isatty() and "NO_COLOR" not in os.environ
        self.color = color
        self._colors: dict[str, str] = {}
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = f"{stamp} {name:<{self.width}} | "
        if self.color:
            code = self._colors.setdefault(name, COLORS[len(self._colors) % len(COLORS)])
            prefix = f"\033[{code}m{prefix}\033[0m"
        with self._lock:
            self.out.write(prefix + text.rstrip("\r\n") + "\n")
            self.out.flush()

    def pump(self, name: str, stream: IO[bytes]) -> threading.Thread:
        """Copy a child's output, line by line, until every process holding the pipe closed it."""

        def copy() -> None:
            with stream:
                for raw in iter(stream.readline, b""):
                    self.line(name, raw.decode("utf-8", errors="replace"))

        thread = threading.Thread(target=copy, name=f"log-{name}", daemon=True)
        thread.start()
        return thread


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: make Linux send SIGTERM to the child if the
    supervisor itself is killed (kill -9 included), so no orphan keeps ports or files busy."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _load_prctl():  # resolved once, before any fork: nothing is looked up inside the child
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


class Child:
    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.failures = 0  # consecutive unexpected exits
        self.restart_at: float | None = None
        self.pump: threading.Thread | None = None
        self.previous: tuple[int, float] | None = None  # a dead leader's group left to hand over, and until when

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Supervisor:
    """Start, watch, restart and stop named children. Not thread-safe: call it from the main thread
    only (the parent-death signal is tied to the thread that forked the child)."""

    def __init__(self, specs: Sequence[ChildSpec], run_dir: Path, log: LogMux,
                 backoff: Backoff = Backoff(), grace: float = 10.0) -> None:
        self.children = {spec.name: Child(spec) for spec in specs}
        self.run_dir = run_dir
        self.log = log
        self.backoff = backoff
        self.grace = grace
        self.stopping = False
        self.hurry: Callable[[], bool] = lambda: False  # e.g. a second Ctrl-C: skip the grace period
        run_dir.mkdir(parents=True, exist_ok=True)

    def say(self, text: str) -> None:
        self.log.line("portal", text)

    # -- starting ------------------------------------------------------------------------------

    def add(self, spec: ChildSpec) -> None:
        self.children[spec.name] = Child(spec)

    def start(self, name: str) -> Child:
        child = self.children[name]
        spec = child.spec
        env = spec.env or None
        if child.previous is not None:
            env = {**(spec.env or os.environ), HANDOVER_ENV: str(child.previous[0])}
        child.popen = subprocess.Popen(
            list(spec.argv), env=env, cwd=spec.cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent if _PRCTL is not None else None,  # noqa: PLW1509 - see _die_with_parent
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        assert child.popen.stdout is not None
        child.pump = self.log.pump(name, child.popen.stdout)
        self._pid_path(name).write_text(f"{child.popen.pid}\n")
        return child

    def start_all(self, names: Iterable[str] | None = None) -> None:
        for name in names or list(self.children):
            self.start(name)
            self.say(f"started {name} (pid {self.children[name].pid})")

    # -- watching ------------------------------------------------------------------------------

    def poll(self, now: float | None = None) -> None:
        """Notice unexpected exits and restart children whose backoff has elapsed."""
        if self.stopping:
            return
        now = time.monotonic() if now is None else now
        for child in self.children.values():
            if child.popen is None:
                continue
            code = child.popen.poll()
            if child.previous is not None and now >= child.previous[1]:
                signal_leaderless_group(child.previous[0], signal.SIGKILL)
                child.previous = None
            if code is not None and child.restart_at is None:
                if child.spec.handover > 0 and child.pid is not None:
                    # One generation is left to hand over: the newest that left anything running (a
                    # replacement that died starting leaves nothing; the one before it serves on).
                    if _has_members(child.pid):
                        if child.previous is not None:
                            signal_leaderless_group(child.previous[0], signal.SIGKILL)
                        child.previous = (child.pid, now + child.spec.handover)
                else:
                    self._reap_group(child)
                ran = now - child.started_at
                child.failures = 1 if ran >= self.backoff.stable_after else child.failures + 1
                delay = self.backoff.delay(child.failures)
                if child.failures <= 1 and child.spec.first_restart is not None:
                    delay = child.spec.first_restart
                child.restart_at = now + delay
                self.say(f"{child.name} exited unexpectedly ({describe_exit(code)}) after {ran:.1f}s; "
                         f"restarting in {delay:.1f}s (failure {child.failures} in a row)")
            if child.restart_at is not None and now >= child.restart_at:
                self.start(child.name)
                self.say(f"restarted {child.name} (pid {child.pid})")

    def any_alive(self) -> bool:
        return any(c.alive() for c in self.children.values())

    # -- stopping ------------------------------------------------------------------------------

    def stop(self, stages: Sequence[Sequence[str]] | None = None, grace: float | None = None) -> None:
        """Stop every child, stage by stage (each stage: SIGTERM to all, wait, SIGKILL leftovers).
        Children not named in ``stages`` are stopped in a first stage of their own."""
        self.stopping = True
        stages = [list(s) for s in stages or []]
        named = {n for s in stages for n in s}
        rest = [n for n in self.children if n not in named]
        for stage in ([rest] if rest else []) + stages:
            self._stop_stage([self.children[n] for n in stage if n in self.children],
                             self.grace if grace is None else grace)

    def _stop_stage(self, children: list[Child], grace: float) -> None:
        running = [c for c in children if c.alive()]
        for child in running:
            self.say(f"stopping {child.name} (pid {child.pid})")
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(c.alive() for c in running) and time.monotonic() < deadline and not self.hurry():
            time.sleep(0.05)
        for child in running:
            assert child.popen is not None
            if child.alive():
                why = "asked to hurry" if self.hurry() else f"did not stop within {grace:g}s"
                self.say(f"{child.name} {why}; killing it")
                _signal_group(child, signal.SIGKILL)
            child.popen.wait()
        for child in children:
            self._reap_group(child)
            if child.previous is not None:
                signal_leaderless_group(child.previous[0], signal.SIGKILL)
                child.previous = None
            if child.pump is not None:
                child.pump.join(timeout=2)
            self._pid_path(child.name).unlink(missing_ok=True)
            if child in running:
                self.say(f"stopped {child.name} ({describe_exit(child.popen.returncode)})")  # type: ignore[union-attr]

    def _reap_group(self, child: Child) -> None:
        """A dead leader may leave helpers (gunicorn workers, celery pool processes) behind: kill
        whatever is left in its process group so a restart starts clean."""
        if child.pid is not None:
            _signal_group(child, signal.SIGKILL)

    def _pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"


def _signal_group(child: Child, sig: int) -> None:
    if child.pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)  # the child leads its own session, so its pgid is its pid


def _has_members(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def describe_exit(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
