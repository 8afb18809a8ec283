"""``make bench``: run every ``bench/bench_*.py`` module's ``run(report)`` and print one line per figure
with its same-run baseline beside it and the ratio, after the machine's description and the date.

    python -m bench                 every benchmark
    python -m bench gateway login   only bench_gateway.py and bench_login.py
    python -m bench --json out.json also write the figures as JSON (for docs/performance.md)

A benchmark module calls ``report(name, value, unit, baseline_name, baseline_value)`` once per figure;
the ratio printed is ``value / baseline_value``. A benchmark that raises is reported and the others
still run; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    baseline_name: str | None
    baseline_value: float | None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def ratio_text(ratio: float | None) -> str:
    return "-" if ratio is None else f"x{ratio:.2f}"


class Reporter:
    """The ``report`` callable handed to each benchmark: prints at once, keeps every figure."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.bench = ""

    def __call__(self, name: str, value: float, unit: str, baseline_name: str | None = None,
                 baseline_value: float | None = None) -> None:
        figure = Figure(self.bench, name, float(value), unit, baseline_name,
                        None if baseline_value is None else float(baseline_value))
        self.figures.append(figure)
        print(f"  = {name}: {number(figure.value)} {unit} | {baseline_name or 'no baseline'}: "
              f"{number(figure.baseline_value)} {unit} | {ratio_text(figure.ratio)}", flush=True)


def table(figures: list[Figure]) -> list[str]:
    """One aligned line per figure: name, value, unit | baseline name, baseline value | ratio."""
    if not figures:
        return []
    rows = [("figure", "value", "unit", "baseline (same run)", "value", "ratio")]
    rows += [(f.name, number(f.value), f.unit, f.baseline_name or "-", number(f.baseline_value),
              ratio_text(f.ratio)) for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}} {r[2]:<{widths[2]}}  |  "
            f"{r[3]:<{widths[3]}}  {r[4]:>{widths[4]}}  |  {r[5]:>{widths[5]}}" for r in rows]


def machine() -> dict[str, str]:
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "memory": "?",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
    }
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        models = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                  if ln.startswith("model name")]
        info["cpu"] = models[0] if models else info["cpu"]
    if hasattr(os, "sched_getaffinity"):
        info["cores"] += f" ({len(os.sched_getaffinity(0))} usable)"
    if meminfo.exists():
        kib = next((int(ln.split()[1]) for ln in meminfo.read_text().splitlines() if ln.startswith("MemTotal")), 0)
        info["memory"] = f"{kib / 1024 / 1024:.1f} GiB"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=5, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        info["commit"] = (commit + (" (with local changes)" if dirty else "")) or "?"
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "?"
    return info


def discover(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if not selected:
        return names
    wanted = {s.removeprefix("bench_").removesuffix(".py") for s in selected}
    unknown = wanted - {n.removeprefix("bench_") for n in names}
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(names)})")
    return [n for n in names if n.removeprefix("bench_") in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. ingestion")
    parser.add_argument("--json", type=Path, help="also write machine info and figures to this file")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))

    names = discover(args.names)
    info = machine()
    print("portal benchmarks")
    for key, value in info.items():
        print(f"  {key:<7} {value}")
    reporter = Reporter()
    failed: list[str] = []
    for name in names:
        reporter.bench = name
        print(f"\n-- {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").run(reporter)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.perf_counter() - started:.0f}s)", flush=True)

    print("\nsummary (ratio = value / baseline)")
    for line in table(reporter.figures):
        print(line)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "failed": failed,
                                         "figures": [asdict(f) | {"ratio": f.ratio} for f in reporter.figures]},
                                        indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
