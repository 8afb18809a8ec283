"""The gateway's spool disk full under load: the spool (SQLite, as ``make run`` has it) is on a small tmpfs of
its own, filled to the last byte for a while and then freed. While it is full the gateway refuses with 503
(``Retry-After``) every request it cannot record, and serves none unrecorded; afterwards every request it
answered otherwise is in the audit store exactly once, and it serves again within 5 s of the space coming
back.

A real full file system (ENOSPC from the kernel), not a stand-in: mounting the tmpfs needs root, as
tests/integration/gateway/test_limits_and_durability.py's full-disk test does on this kind of machine."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import FAULT_ENV, FIGURES
from tests.faults.test_faults import CATCH_UP_S, LONG, RECOVER_S, TIME_FACTOR
from tests.support.faults import Fault, run_fault
from tests.support.platform import Platform, running_platform
from tests.support.redis_user import RedisUser

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]

FULL_FOR_S = 30.0 if LONG else 6.0
# Room for the spool and its write-ahead log at this load (the relay empties it as it goes), and little
# enough to fill in a moment.
DISK = "32m"


@pytest.fixture(scope="module")
def spool_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    disk = tmp_path_factory.mktemp("spool-disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)
    assert mounted.returncode == 0, f"this test mounts a tmpfs for the spool (root): {mounted.stderr}"
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture(scope="module")
def platform(shared_redis: RedisUser | None, spool_disk: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {**FAULT_ENV, "GATEWAY_SPOOL_URL": f"sqlite:///{spool_disk / 'gateway-spool.db'}"}
    with running_platform(tmp_path_factory.mktemp("portal-spool-full"), extra_env=env) as running:
        yield running


def fill(disk: Path, seconds: float) -> None:
    """Fill ``disk`` to its last byte, keep it full for ``seconds``, then free the space."""
    filler = disk / "filler"
    try:
        with open(filler, "wb", buffering=0) as fh:
            for block in (1 << 20, 4096, 1):
                try:
                    while True:
                        fh.write(b"\0" * block)
                except OSError:
                    pass
        time.sleep(seconds)
    finally:
        filler.unlink(missing_ok=True)


def test_a_full_spool_disk_refuses_rather_than_serves_unrecorded(platform: Platform, spool_disk: Path):
    name = f"spool disk full {FULL_FOR_S:g} s"
    figures = run_fault(platform, Fault(name, "spool", inject=lambda: fill(spool_disk, FULL_FOR_S)))
    FIGURES.append(figures.line())
    assert figures.answered > 0
    assert figures.unrecorded > 0, f"the disk never refused a write: {figures.line()}"
    assert figures.lost == 0, figures.line()
    assert figures.duplicated == 0, figures.line()
    assert figures.catch_up_s is not None and figures.catch_up_s < CATCH_UP_S * TIME_FACTOR, figures.line()
    # Refusals are the point while the disk is full: the target is serving again once there is room.
    assert figures.recover_s - figures.back_s < RECOVER_S * TIME_FACTOR, figures.line()
