"""A killed gunicorn master under ``portal run``'s supervisor: its workers serve until the restarted master's
take over (shared/web/gunicorn_worker.py, ``ChildSpec.handover``), so a steady stream of requests — each on a
new connection, as the gateway's after a failure — never finds the port closed or a connection reset."""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from services.cli.supervisor import Backoff, ChildSpec, LogMux, Supervisor
from tests.support.net import free_port
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

APP = '''
import os

def app(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def get(port: int) -> int:
    """One request on a new connection; the pid of the worker that answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    return int(body)


def test_a_killed_master_hands_over_without_refusing_or_cutting_a_request(tmp_path: Path):
    (tmp_path / "handover_app.py").write_text(APP)
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    env = {**os.environ, "PORTAL_WEB_HANDOVER": "30", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    spec = ChildSpec("web", (gunicorn, "-c", "python:shared.web.gunicorn_conf", "--workers", "1", "--threads", "2",
                             "--pythonpath", str(tmp_path), "handover_app:app", "--bind", f"127.0.0.1:{port}",
                             "--no-control-socket"), env, handover=30)
    out = io.StringIO()
    sup = Supervisor([spec], tmp_path / "run", LogMux(out, ["web"], color=False), Backoff(), grace=5)
    sup.start_all()
    answers: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                answers.append(get(port))
            except (OSError, AssertionError) as exc:
                failures.append(repr(exc))
            time.sleep(0.01)

    try:
        wait_until(lambda: _serves(port), timeout=60, message=lambda: out.getvalue())
        old_worker = get(port)
        client = threading.Thread(target=load, daemon=True)
        client.start()
        time.sleep(0.5)
        os.kill(sup.children["web"].pid, signal.SIGKILL)

        def new_worker_serves() -> bool:
            sup.poll()
            return bool(answers) and answers[-1] != old_worker

        wait_until(new_worker_serves, timeout=60, interval=0.05, message=lambda: out.getvalue())
        wait_until(lambda: _gone(old_worker), timeout=20, message=lambda: out.getvalue())
        time.sleep(0.5)
        stop.set()
        client.join(timeout=20)
        assert failures == [], (failures[:5], out.getvalue()[-3000:])
        assert old_worker in answers  # it served after its master died, until the new one took over
        assert "master gone: serving until a new master's workers take over" in out.getvalue()
    finally:
        stop.set()
        sup.stop()
    assert _gone(old_worker)


def _serves(port: int) -> bool:
    try:
        get(port)
        return True
    except (OSError, AssertionError):
        return False


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # An exited worker whose parent died is reaped by init; until then it is a zombie.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True
