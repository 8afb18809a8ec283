"""Real processes for integration and end-to-end tests, with their output kept in files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.events.signing import MASTER_ENV

REPO = Path(__file__).resolve().parents[2]
TEST_EVENT_MASTER_KEY = "test-event-master-key"
VENV_BIN = Path(sys.executable).parent


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(self.args, env=self.env, cwd=REPO, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group (a Celery worker and its children die together)."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)  # type: ignore[union-attr]

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)  # type: ignore[union-attr]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "REDIS_URL"))
           and not k.endswith("_DATABASE_URL")}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env[MASTER_ENV] = TEST_EVENT_MASTER_KEY  # every test process signs and verifies events with the same keys
    env.update(extra)
    return env


def celery_worker(service: str, env: dict[str, str], log_dir: Path, concurrency: int = 1,
                  name: str | None = None, pool: str = "prefork") -> Proc:
    return Proc(name or f"{service}-worker", [
        str(VENV_BIN / "celery"), "-A", f"services.{service}.worker", "worker",
        "-Q", f"events.{service}", "--concurrency", str(concurrency), "--pool", pool,
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"{name or service}@%h",
    ], env, log_dir)


def portal_workers(services: tuple[str, ...], env: dict[str, str], log_dir: Path, name: str = "workers") -> Proc:
    """``portal workers``: the named services' workers in one process, as ``portal run`` starts them."""
    return Proc(name, [str(VENV_BIN / "portal"), "workers", *services], {**env, "PORTAL_SUPERVISED": "1"}, log_dir)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} not met after {timeout}s")
