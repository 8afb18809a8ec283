"""The periodic duties in a real platform (``portal run`` starts ``portal schedule``): every duty runs the real
command against the running services and records how it ended; a short-interval duty keeps running; and
when someone edits the server log behind the platform's back, the scheduled verification raises the alarm."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from services.cli.run_plan import local_env_path
from services.cli.secret_files import read_env_file
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DUTIES = {"privacy-retry-exports", "privacy-purge-exports", "content-purge-complaints", "content-sweep-files",
          "audit-retain", "audit-verify"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-run"), {
            "PORTAL_SCHEDULE_START_DELAY": "0",
            "PORTAL_SCHEDULE_PRIVACY_RETRY_EXPORTS_SECONDS": "2",
            "PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS": "3"}) as running:
        yield running


def state(platform: Platform) -> dict[str, dict]:
    try:
        return json.loads((platform.var_dir / "schedule.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def answer(duty: dict) -> dict:
    """The JSON answer a duty's command printed: the last line (its log lines come first)."""
    return json.loads(duty["output"].splitlines()[-1])


def test_every_duty_runs_against_the_platform_and_records_its_outcome(platform: Platform):
    done = wait_until(lambda: (s := state(platform)) and set(s) >= DUTIES and s, timeout=120, interval=1.0,
                      message="every duty run once")
    failed = {name: d for name, d in done.items() if d["exit_code"] != 0}
    assert not failed, failed
    assert "removed" in answer(done["audit-retain"])  # the commands' own JSON answers
    assert answer(done["audit-verify"])["ok"] is True
    first = done["privacy-retry-exports"]["started"]
    later = wait_until(lambda: state(platform)["privacy-retry-exports"]["started"] > first and state(platform),
                       timeout=60, interval=1.0, message="the 2-second duty run again")
    assert later["privacy-retry-exports"]["exit_code"] == 0
    log = platform.proc.output()
    assert "audit-verify ok" in log and "FAILED" not in log, log[-3000:]


def test_a_tampered_server_log_fails_the_scheduled_verification(platform: Platform):
    base = platform.url
    for _ in range(3):
        assert requests.get(f"{base}/api/identity/policy", timeout=30).status_code == 200
    url = read_env_file(local_env_path(platform.var_dir))["AUDIT_DATABASE_URL"]
    engine = create_engine(url)
    try:
        def stored() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()

        wait_until(lambda: stored() >= 3, timeout=90, interval=1.0, message="access events in the audit store")
        with engine.begin() as conn:  # someone with database access hides what a request did
            changed = conn.execute(text(
                "UPDATE audit_events SET subject = 'nothing to see' "
                "WHERE seq = (SELECT max(seq) FROM audit_events WHERE type = 'gateway.request.completed')"))
            assert changed.rowcount == 1
    finally:
        engine.dispose()
    alarm = wait_until(lambda: (d := state(platform).get("audit-verify")) and d["exit_code"] != 0 and d,
                       timeout=90, interval=1.0, message="the scheduled verification failing")
    assert alarm["exit_code"] == 1 and answer(alarm)["ok"] is False, alarm
    log = platform.proc.output()
    assert "audit-verify FAILED" in log, log[-3000:]
