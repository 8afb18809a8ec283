"""PostgreSQL restarted (``pg_ctl restart -m immediate``, as a crash) under load: every service's database is
on a private cluster the test starts, so restarting it touches nothing else. The gateway's spool (SQLite)
keeps every access while audit's database is down; afterwards each is stored exactly once, and the
platform serves again within 5 s of PostgreSQL being back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.conftest import FAULT_ENV, FIGURES
from tests.faults.test_faults import CATCH_UP_S, RECOVER_S, TIME_FACTOR
from tests.support.faults import Fault, run_fault
from tests.support.pg_cluster import Cluster, private_cluster
from tests.support.platform import Platform, running_platform

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as running:
        yield running


@pytest.fixture(scope="module")
def platform(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PORTAL_TEST_PG_URL", cluster.admin_url)
        with running_platform(tmp_path_factory.mktemp("portal-pg-fault"), extra_env=FAULT_ENV) as running:
            yield running


def test_a_postgresql_restart_loses_and_duplicates_nothing(platform: Platform, cluster: Cluster):
    figures = run_fault(platform, Fault("PostgreSQL restart", "postgres", inject=cluster.restart))
    FIGURES.append(figures.line())
    assert figures.answered > 0
    assert figures.lost == 0, figures.line()
    assert figures.duplicated == 0, figures.line()
    assert figures.catch_up_s is not None and figures.catch_up_s < CATCH_UP_S * TIME_FACTOR, figures.line()
    # Requests needing the database fail while it is down (its own restart took 16-21 s on a loaded
    # machine): the target is serving again within 5 s of it being back.
    assert figures.recover_s - figures.back_s < RECOVER_S * TIME_FACTOR, figures.line()
