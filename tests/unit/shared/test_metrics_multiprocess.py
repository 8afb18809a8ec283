"""Multiprocess mode in a fresh pod or container: ``PROMETHEUS_MULTIPROC_DIR`` names a directory on an empty
``emptyDir`` or tmpfs that nothing has made yet; the first count must still land there and be served."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO, base_env

PROGRAM = """
from shared import metrics
metrics.EVENTS_CONSUMED.labels("audit", "x.y.z").inc(3)
print(metrics.exposition().decode())
"""


def test_a_missing_multiprocess_directory_is_made_before_the_first_count(tmp_path: Path):
    directory = tmp_path / "tmp" / "metrics"
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=base_env({"PROMETHEUS_MULTIPROC_DIR": str(directory)}), check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'portal_events_consumed_total{service="audit",type="x.y.z"} 3.0' in done.stdout
    assert list(directory.glob("counter_*.db"))
