"""``make bench`` runs every ``bench/bench_*.py`` through its ``run(report)`` (bench/__main__.py): a module
without one is reported as a failed benchmark and ``make bench`` exits 1. Read from the source, not imported
(the benchmarks set their own environment when imported)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_benchmark_module_has_run_taking_the_reporter():
    modules = sorted(BENCH.glob("bench_*.py"))
    assert modules
    missing = []
    for path in modules:
        tree = ast.parse(path.read_text())
        runs = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "run"]
        if not runs or len(runs[0].args.args) - len(runs[0].args.defaults) != 1:  # the reporter, the rest optional
            missing.append(path.name)
    assert missing == []
