"""The platform's footprint at rest: how many processes ``make run`` starts and their memory.

The whole platform under ``portal run`` with ``make run``'s own process and thread counts
(tests/support/platform.py, ``test_sizing=False``), left idle for ``BENCH_FOOTPRINT_SETTLE`` seconds
(default 10) after it is ready. Memory is the proportional set size (PSS: each page shared by n
processes counts 1/n in each), summed from ``/proc/<pid>/smaps_rollup`` over the supervisor and every
process under it, so pages shared by forked workers count once. The baseline is the figure measured
on the same kind of machine before the platform's process layout was reworked (27 processes,
1,360 MiB; docs/performance.md), since the old layout cannot be started from this checkout.

``run(report)`` is called by the benchmark runner; ``python bench/bench_footprint.py`` runs alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from tests.support.platform import running_platform  # noqa: E402

Report = Callable[..., None]
PREVIOUS_PROCESSES = 27
PREVIOUS_PSS_MIB = 1360.0


def pss_kib(pid: int) -> int:
    """The process's PSS in KiB (0 if it is gone or unreadable)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def footprint(pid: int) -> tuple[int, float, dict[str, float]]:
    """(processes, PSS MiB, PSS MiB by command) of ``pid`` and everything under it."""
    procs = tree(pid)
    by_name: dict[str, float] = {}
    total = 0
    for proc in procs:
        kib = pss_kib(proc.pid)
        total += kib
        try:
            cmd = f"{proc.pid:>7} " + " ".join(a.rsplit("/", 1)[-1] for a in proc.cmdline()[:6])[:90]
        except psutil.Error:
            cmd = "?"
        by_name[cmd] = by_name.get(cmd, 0.0) + kib / 1024
    return len(procs), total / 1024, by_name


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-footprint-"))
    try:
        with running_platform(workdir, test_sizing=False) as platform:
            time.sleep(float(os.environ.get("BENCH_FOOTPRINT_SETTLE", "10")))
            count, mib, by_name = footprint(platform.proc.pid)
            for cmd, value in sorted(by_name.items(), key=lambda kv: -kv[1]):
                print(f"     {value:7.1f} MiB  {cmd}")
            report("make run at rest: processes", count, "processes", "previous layout", PREVIOUS_PROCESSES)
            report("make run at rest: PSS of every process", round(mib), "MiB", "previous layout",
                   PREVIOUS_PSS_MIB)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    from bench import print_report

    run(print_report)
