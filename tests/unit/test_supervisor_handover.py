"""The supervisor's handover (``ChildSpec.handover``), with tiny real processes: what is left of a dead
leader's process group runs beside its replacement, which is told that group, and is killed after the
handover time at the latest. tests/integration/shared/test_gunicorn_handover.py does it with gunicorn."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

from services.cli.supervisor import HANDOVER_ENV, Backoff, ChildSpec, LogMux, Supervisor
from tests.support.processes import wait_until

# A leader with a helper in its process group (as a gunicorn master and its worker); each prints the group it
# is told to take over from, then its helper's pid.
LEADER = (
    "import os, subprocess, sys, time\n"
    f"print('from', os.environ.get('{HANDOVER_ENV}', '-'), flush=True)\n"
    "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print('helper', helper.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return not fh.read().split(") ", 1)[1].startswith("Z")


def helpers(out: io.StringIO) -> list[int]:
    return [int(line.rsplit(" ", 1)[1]) for line in out.getvalue().splitlines() if "| helper " in line]


def test_a_dead_leaders_group_runs_beside_its_replacement_until_the_handover_time(tmp_path: Path):
    spec = ChildSpec("web", (sys.executable, "-c", LEADER), dict(os.environ), handover=2.0)
    out = io.StringIO()
    sup = Supervisor([spec], tmp_path / "run", LogMux(out, ["web"], color=False), Backoff(), grace=2)
    sup.start_all()
    try:
        wait_until(lambda: len(helpers(out)) == 1, timeout=20, message=out.getvalue)
        first = sup.children["web"].pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()

        def replaced() -> bool:
            sup.poll()
            return len(helpers(out)) == 2

        wait_until(replaced, timeout=20, interval=0.05, message=out.getvalue)
        assert f"| from {first}" in out.getvalue()  # the replacement is told whom it takes over from
        old_helper, new_helper = helpers(out)
        if time.monotonic() - killed < 1.5:
            assert alive(old_helper)  # still there beside the replacement

        def handed_over() -> bool:
            sup.poll()
            return not alive(old_helper)

        wait_until(handed_over, timeout=20, interval=0.05, message=out.getvalue)
        assert time.monotonic() - killed >= 1.9
        assert alive(new_helper)
    finally:
        sup.stop()
    # The helper is a grandchild in the group: the signal reaches it at stop, its exit follows shortly.
    wait_until(lambda: not alive(new_helper), timeout=5, interval=0.05, message="the replacement's helper gone")


def test_portal_run_has_the_services_web_tiers_hand_over_and_nothing_else(tmp_path: Path):
    from services.cli.run_plan import WEB_HANDOVER_S, plan
    from tests.unit.test_supervisor import full_layout, settings

    specs = {s.name: s for s in plan(settings(tmp_path), full_layout(), ("identity",), {})}
    for name, spec in specs.items():
        if name.endswith("-web"):
            assert spec.handover == WEB_HANDOVER_S and spec.env["PORTAL_WEB_HANDOVER"] == f"{WEB_HANDOVER_S:g}"
        else:  # the gateway (its own sizing), the workers and the relay are restarted plainly
            assert spec.handover == 0 and "PORTAL_WEB_HANDOVER" not in spec.env, name
