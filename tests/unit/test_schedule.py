"""``portal schedule``: which duties run, when they are due, what survives a restart, how failures are
handled. The clock is a number here; ``run_portal`` is tested against the real ``portal`` command."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from services.cli.schedule import DAY, Duty, Schedule, duties, run_portal, serve
from shared import metrics
from shared.config import ConfigError

START = 1_800_000_000.0


def test_the_default_duties_and_their_intervals():
    chosen = {d.name: d for d in duties({})}
    assert {name: d.every for name, d in chosen.items()} == {
        "privacy-retry-exports": 900, "privacy-purge-exports": 3600, "content-purge-complaints": DAY,
        "content-sweep-files": DAY, "audit-retain": DAY, "audit-verify": DAY}
    assert chosen["audit-retain"].args == ("audit", "retain")  # audit applies its own retention period
    assert chosen["audit-verify"].env_name == "PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS"


def test_intervals_and_services_come_from_the_environment():
    env = {"PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS": "3600", "PORTAL_SCHEDULE_PRIVACY_PURGE_EXPORTS_SECONDS": "0"}
    chosen = {d.name: d for d in duties(env)}
    assert chosen["audit-verify"].every == 3600
    assert "privacy-purge-exports" not in chosen  # 0 switches a duty off
    assert {d.service for d in duties(env, ["audit"])} == {"audit"}
    assert duties({}, ["linking", "gateway"]) == []


@pytest.mark.parametrize("env", [{"PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS": "daily"},
                                 {"PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS": "-5"}])
def test_bad_settings_are_refused_by_name(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        duties(env)


def duty(name: str, every: int) -> Duty:
    return Duty(name, "audit", ("audit", name), every, "test")


def test_nothing_runs_before_the_start_delay_then_each_duty_at_its_interval(tmp_path: Path):
    fast, slow = duty("fast", 60), duty("slow", DAY)
    schedule = Schedule([slow, fast], tmp_path / "schedule.json", start_delay=30, now=START)
    assert schedule.due(START) == [] and schedule.seconds_to_next(START) == 30
    assert set(schedule.due(START + 30)) == {fast, slow}
    schedule.record(fast, START + 30, START + 31, 0, "ok")
    schedule.record(slow, START + 31, START + 40, 0, "ok")
    assert schedule.due(START + 89) == []
    assert schedule.due(START + 90) == [fast]
    assert schedule.seconds_to_next(START + 40) == 50


def test_a_restart_remembers_when_each_duty_last_ran(tmp_path: Path):
    path = tmp_path / "var" / "schedule.json"
    daily = duty("daily", DAY)
    first = Schedule([daily], path, start_delay=0, now=START)
    first.record(daily, START, START + 2, 0, "removed 10")
    saved = json.loads(path.read_text())
    assert saved["daily"]["exit_code"] == 0 and saved["daily"]["output"] == "removed 10"
    again = Schedule([daily], path, start_delay=0, now=START + 3600)  # restarted an hour later
    assert again.due(START + 3600) == []  # not repeated at once
    assert again.due(START + DAY) == [daily]  # nor forgotten


def test_an_unreadable_state_file_makes_every_duty_due(tmp_path: Path):
    path = tmp_path / "schedule.json"
    path.write_text("{not json")
    daily = duty("daily", DAY)
    assert Schedule([daily], path, start_delay=0, now=START).due(START) == [daily]


def test_serve_runs_due_duties_one_by_one_and_a_failure_waits_for_its_interval(tmp_path: Path):
    ok, broken = duty("ok", 600), duty("broken", 600)
    schedule = Schedule([ok, broken], tmp_path / "schedule.json", start_delay=0, now=START)
    now = [START]
    ran: list[str] = []
    stop = threading.Event()

    def runner(d: Duty) -> tuple[int, str]:
        ran.append(d.name)
        now[0] += 5
        return (0, "done") if d is ok else (1, "Traceback ...\nchain broken at seq 17")

    serve(schedule, stop_after(stop, schedule, 2), runner, clock=lambda: now[0])
    assert sorted(ran) == ["broken", "ok"]
    state = json.loads((tmp_path / "schedule.json").read_text())
    assert state["broken"]["exit_code"] == 1 and "seq 17" in state["broken"]["output"]
    assert schedule.due(now[0]) == []  # the failed one is not retried in a tight loop
    assert schedule.due(START + 600 + 5) != []


def test_each_run_is_counted_and_the_last_and_next_runs_are_gauges(tmp_path: Path):
    ok, broken = duty("ok", 600), duty("broken", 900)
    schedule = Schedule([ok, broken], tmp_path / "schedule.json", start_delay=0, now=START)
    runs = {(d, o): metrics.DUTY_RUNS.labels(d, o)._value.get() for d in ("ok", "broken") for o in ("ok", "failed")}
    now = [START]

    def runner(d: Duty) -> tuple[int, str]:
        now[0] += 5
        return (0, "done") if d is ok else (1, "failed")

    serve(schedule, stop_after(threading.Event(), schedule, 2), runner, clock=lambda: now[0])
    assert metrics.DUTY_RUNS.labels("ok", "ok")._value.get() == runs["ok", "ok"] + 1
    assert metrics.DUTY_RUNS.labels("broken", "failed")._value.get() == runs["broken", "failed"] + 1
    gauges = {(f.name, s.labels["duty"]): s.value for f in schedule.metrics_state() for s in f.samples}
    assert gauges["portal_schedule_duty_last_ok", "ok"] == 1 and gauges["portal_schedule_duty_last_ok", "broken"] == 0
    assert gauges["portal_schedule_duty_last_start_timestamp_seconds", "broken"] == START + 5
    assert gauges["portal_schedule_duty_next_start_timestamp_seconds", "broken"] == START + 5 + 900


def stop_after(stop: threading.Event, schedule: Schedule, records: int) -> threading.Event:
    """Set ``stop`` once ``records`` duties have been recorded (so ``serve`` returns instead of waiting)."""
    original = schedule.record

    def record(*args):
        original(*args)
        if len(schedule.state) >= records:
            stop.set()

    schedule.record = record  # type: ignore[method-assign]
    return stop


def test_run_portal_runs_the_real_command_and_reports_its_exit_code():
    code, output = run_portal(Duty("help", "audit", ("audit", "--help"), 60, "test"))
    assert code == 0 and "retain" in output and "verify" in output
    code, output = run_portal(Duty("nonsense", "audit", ("audit", "no-such-duty"), 60, "test"))
    assert code == 2 and "no-such-duty" in output
