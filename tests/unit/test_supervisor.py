"""The ``portal run`` plan and the process supervisor, with tiny real child processes (no mocks)."""

from __future__ import annotations

import io
import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from services.cli.keys import ensure_audit_keys, event_keys_for
from services.cli.redis_users import redis_acl, redis_user
from services.cli.run_plan import (
    Layout,
    RunSettings,
    apply_local_env,
    child_env,
    chosen_services,
    gunicorn_argv,
    local_env,
    local_env_path,
    plan,
    readiness_urls,
    stop_stages,
)
from services.cli.secret_files import SECRET_NAMES, load_or_create_secrets, write_private_env
from services.cli.supervisor import Backoff, ChildSpec, LogMux, Supervisor, describe_exit
from shared.config import ConfigError
from shared.events.signing import derive_pair_key, pair_env
from tests.support.processes import wait_until

ALL = ("identity", "linking", "content", "audit", "web", "gateway")
BACKENDS = ("identity", "linking", "content", "audit")


def settings(tmp_path: Path, **overrides) -> RunSettings:
    values = dict(
        var_dir=tmp_path, host="127.0.0.1", port=18080,
        service_ports={"identity": 18101, "linking": 18102, "content": 18103, "audit": 18104, "web": 18105},
        redis_url=None, redis_port=None, web_workers=2, web_threads=4, worker_concurrency=1,
        ready_timeout=5.0, stop_grace=2.0, access_log=False,
    )
    values.update(overrides)
    return RunSettings(**values)  # type: ignore[arg-type]


def full_layout() -> Layout:
    return Layout(web=ALL, workers=BACKENDS, migrations=(*BACKENDS, "gateway"))


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_are_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "secrets.env"
    first = load_or_create_secrets(path, {})
    assert set(first) == set(SECRET_NAMES) and all(len(v) >= 64 for v in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secrets(path, {}) == first  # kept across restarts


def test_secrets_from_the_environment_win_and_are_never_written(tmp_path):
    path = tmp_path / "secrets.env"
    values = load_or_create_secrets(path, {"PORTAL_INTERNAL_SECRET": "from-env"})
    assert values["PORTAL_INTERNAL_SECRET"] == "from-env"
    assert "from-env" not in path.read_text()
    assert "PORTAL_AUDIT_SIGNING_KEY=" in path.read_text()


def test_loose_permissions_on_an_existing_secrets_file_are_tightened(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("".join(f"{n}=x{i}\n" for i, n in enumerate(SECRET_NAMES)))
    os.chmod(path, 0o644)
    assert load_or_create_secrets(path, {})["PORTAL_INTERNAL_SECRET"] == "x0"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_other_portal_commands_reach_the_platform_that_make_run_started(tmp_path):
    load_or_create_secrets(tmp_path / "secrets.env", {})
    env = child_env(settings(tmp_path), {"PORTAL_DATABASE_URL_TEMPLATE": "postgresql://u:p@db/{service}"},
                    {}, "redis://127.0.0.1:7000/0")
    write_private_env(local_env_path(tmp_path), "test", local_env(settings(tmp_path), env, 7000))
    assert stat.S_IMODE(local_env_path(tmp_path).stat().st_mode) == 0o600
    environ = {"PORTAL_VAR_DIR": str(tmp_path), "IDENTITY_URL": "http://elsewhere"}
    apply_local_env("grant-role", environ)
    assert environ["REDIS_URL"] == "redis://127.0.0.1:7000/0"
    assert environ["PORTAL_DATABASE_URL_TEMPLATE"] == "postgresql://u:p@db/{service}"
    assert len(environ["PORTAL_INTERNAL_SECRET"]) == 64
    assert environ["IDENTITY_URL"] == "http://elsewhere"  # the environment wins
    untouched = {"PORTAL_VAR_DIR": str(tmp_path)}
    apply_local_env("run", untouched)  # `portal run` decides these itself
    assert untouched == {"PORTAL_VAR_DIR": str(tmp_path)}


# -- the plan --------------------------------------------------------------------------------------


def test_layout_skips_services_that_are_not_written_yet(tmp_path):
    for name in ("wsgi.py", "worker.py", "bootstrap.py", "migrations/env.py"):
        (tmp_path / "services" / "linking" / "migrations").mkdir(parents=True, exist_ok=True)
        (tmp_path / "services" / "linking" / name).write_text("")
    (tmp_path / "services" / "gateway").mkdir()
    (tmp_path / "services" / "gateway" / "wsgi.py").write_text("")
    layout = Layout.discover(tmp_path)
    assert layout.web == ("linking", "gateway")
    assert layout.workers == ("linking",)
    assert layout.migrations == ("linking",)
    assert layout.missing == ("identity", "content", "audit", "web")


def test_portal_services_narrows_the_run(tmp_path, monkeypatch):
    for service in ALL:
        (tmp_path / "services" / service).mkdir(parents=True)
        (tmp_path / "services" / service / "wsgi.py").write_text("")
    monkeypatch.setenv("PORTAL_SERVICES", "linking, gateway")
    layout = Layout.discover(tmp_path, only=chosen_services())
    assert layout.web == ("linking", "gateway") and not layout.missing
    assert layout.excluded == ("identity", "content", "audit", "web") and not layout.complete
    monkeypatch.setenv("PORTAL_SERVICES", "linking,billing")
    with pytest.raises(ConfigError, match="billing"):
        chosen_services()


def test_plan_names_every_process_with_its_command(tmp_path):
    specs = {s.name: s for s in plan(settings(tmp_path), full_layout(), ("identity", "linking"), {})}
    assert list(specs) == [
        "identity-web", "linking-web", "content-web", "audit-web", "web-web",
        "workers", "relay", "scheduler", "gateway",
    ]
    assert app_and_bind(specs["linking-web"].argv) == ("services.linking.wsgi:app", "127.0.0.1:18102")
    assert app_and_bind(specs["gateway"].argv) == ("services.gateway.wsgi:app", "127.0.0.1:18080")
    assert specs["workers"].argv[1:] == ("workers", "identity", "linking", "content", "audit")
    assert specs["relay"].argv[1:] == ("relay", "identity", "linking")
    assert specs["scheduler"].argv[1:] == ("schedule", "identity", "content", "audit")


def test_one_worker_process_per_service_when_asked_or_with_a_pool_of_several(tmp_path):
    for own in (settings(tmp_path, shared_workers=False), settings(tmp_path, worker_concurrency=2)):
        specs = {s.name: s for s in plan(own, full_layout(), ("identity",), {})}
        assert [n for n in specs if "worker" in n] == [
            "identity-worker", "linking-worker", "content-worker", "audit-worker"]
        worker = specs["audit-worker"].argv
        assert worker[1:6] == ("-A", "services.audit.worker", "worker", "-Q", "events.audit")
        assert stop_stages(list(specs.values()))[2] == [
            "identity-worker", "linking-worker", "content-worker", "audit-worker"]
        assert "PORTAL_WORKERS_MULTIPROC_DIR" not in specs["audit-web"].env


def test_each_service_reads_its_own_worker_counters_from_the_shared_workers_directory(tmp_path):
    specs = {s.name: s for s in plan(settings(tmp_path), full_layout(), ("identity",), {})}
    shared = str(tmp_path / "metrics" / "workers")
    assert specs["workers"].env["PROMETHEUS_MULTIPROC_DIR"] == shared
    for service in ("identity", "linking", "content", "audit"):
        web = specs[f"{service}-web"].env
        assert web["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics" / service)
        assert (web["PORTAL_WORKERS_MULTIPROC_DIR"], web["PORTAL_METRICS_SERVICE"]) == (shared, service)
    assert "PORTAL_WORKERS_MULTIPROC_DIR" not in specs["gateway"].env | specs["relay"].env | specs["web-web"].env


def app_and_bind(argv: tuple[str, ...]) -> tuple[str, str]:
    i = argv.index("--bind")
    return argv[i - 1], argv[i + 1]


def test_a_service_with_its_own_gunicorn_conf_sizes_itself(tmp_path):
    (tmp_path / "services" / "gateway").mkdir(parents=True)
    (tmp_path / "services" / "gateway" / "gunicorn_conf.py").write_text("threads = 16\n")
    own = gunicorn_argv(settings(tmp_path), "gateway", "127.0.0.1:1", root=tmp_path)
    assert own[1:3] == ("-c", "python:services.gateway.gunicorn_conf") and "--threads" not in own
    plain = gunicorn_argv(settings(tmp_path), "linking", "127.0.0.1:2", root=tmp_path)
    assert plain[plain.index("--workers") + 1] == "2" and plain[plain.index("--threads") + 1] == "4"
    assert "--no-control-socket" in own and "--no-control-socket" in plain


def test_children_skip_their_own_migrations_which_portal_run_applied_before_starting_them(tmp_path):
    specs = plan(settings(tmp_path), full_layout(), ("identity",), {"PORTAL_MIGRATE_ON_START": "1"})
    assert {s.env["PORTAL_MIGRATE_ON_START"] for s in specs} == {"0"}


def test_plan_without_a_gateway_or_outboxes_starts_neither(tmp_path):
    layout = Layout(web=("linking",), workers=("linking",), migrations=("linking",),
                    missing=("identity", "content", "audit", "gateway"))
    names = [s.name for s in plan(settings(tmp_path), layout, (), {})]
    assert names == ["linking-web", "workers"]


def test_children_get_urls_secrets_and_the_var_dir(tmp_path):
    env = child_env(settings(tmp_path), {"PATH": "/usr/bin", "KEEP": "1"},
                    {"PORTAL_INTERNAL_SECRET": "s"}, "redis://127.0.0.1:7000/0")
    assert env["REDIS_URL"] == "redis://127.0.0.1:7000/0"
    assert env["IDENTITY_URL"] == "http://127.0.0.1:18101"
    assert env["AUDIT_URL"] == "http://127.0.0.1:18104"
    assert env["PORTAL_INTERNAL_SECRET"] == "s"
    assert env["PORTAL_VAR_DIR"] == str(tmp_path)
    assert env["PORTAL_PUBLIC_URL"] == "http://127.0.0.1:18080"
    assert env["KEEP"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_the_audit_signing_key_is_generated_once_and_given_only_to_the_signers(tmp_path):
    keys = ensure_audit_keys(tmp_path, {})
    private = Path(keys["PORTAL_AUDIT_SIGNING_KEY_FILE"])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    first = private.read_bytes()
    assert ensure_audit_keys(tmp_path, {}) == keys and private.read_bytes() == first
    assert Path(keys["PORTAL_AUDIT_PUBLIC_KEY_FILE"]).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    specs = plan(settings(tmp_path), full_layout(), ("identity",), {**keys, "PORTAL_INTERNAL_SECRET": "s",
                                                                    "PORTAL_AUDIT_KEY_WRAP_KEY": "w"})
    holders = {s.name for s in specs if "PORTAL_AUDIT_SIGNING_KEY_FILE" in s.env}
    assert holders == {"workers", "scheduler"}  # the process holding the audit worker; never the relay
    wrap_holders = {s.name for s in specs if "PORTAL_AUDIT_KEY_WRAP_KEY" in s.env}
    assert wrap_holders == {"audit-web", "workers", "scheduler", "relay"}
    own = plan(settings(tmp_path, shared_workers=False), full_layout(), ("identity",),
               {**keys, "PORTAL_AUDIT_KEY_WRAP_KEY": "w"})
    assert {s.name for s in own if "PORTAL_AUDIT_SIGNING_KEY_FILE" in s.env} == {"audit-worker", "scheduler"}
    assert all(s.env["PORTAL_INTERNAL_SECRET"] == "s" for s in specs)
    assert all(s.env["PORTAL_AUDIT_PUBLIC_KEY_FILE"] == keys["PORTAL_AUDIT_PUBLIC_KEY_FILE"] for s in specs)


def test_children_hold_their_own_event_keys_and_redis_user_and_never_the_master(tmp_path):
    """Secrets made from a master key (the tests' platforms): the pair keys derive from it, so what it signed still
    verifies; each child gets only its pairs, its own Redis user's URL and no Redis password."""
    master = "m" * 16 + "aster-key-for-this-test"
    values = load_or_create_secrets(tmp_path / "secrets.env", {"PORTAL_EVENT_MASTER_KEY": master})
    assert "PORTAL_EVENT_MASTER_KEY" not in values
    assert "PORTAL_EVENT_MASTER_KEY" not in (tmp_path / "secrets.env").read_text()
    assert values[pair_env("identity", "audit")] == derive_pair_key(master, "identity", "audit")
    env = {**values, "PORTAL_EVENT_MASTER_KEY": master}
    specs = {s.name: s for s in plan(settings(tmp_path), full_layout(), ("identity",), env, redis_port=6390)}
    consumers = ("identity", "linking", "content", "audit")

    def url(user: str) -> str:
        return f"redis://{user}:{values[f'PORTAL_REDIS_PASSWORD_{user.upper()}']}@127.0.0.1:6390/0"

    for name, spec in specs.items():
        assert "PORTAL_EVENT_MASTER_KEY" not in spec.env, name
        assert not [k for k in spec.env if k.startswith("PORTAL_REDIS_PASSWORD")], name
        keys = {k for k in spec.env if k.startswith("PORTAL_EVENT_KEY_")}
        if name == "workers":  # what the four workers hold between them, each service's worker its own Redis user
            assert keys == set().union(*(event_keys_for(f"{c}-worker") for c in consumers))
            assert "REDIS_URL" not in spec.env
            held_urls = {c: spec.env[f"PORTAL_WORKER_REDIS_URL_{c.upper()}"] for c in consumers}
            assert held_urls == {c: url(c) for c in consumers}
            continue
        assert keys == event_keys_for(name), name
        assert spec.env["REDIS_URL"] == url(redis_user(name))
    assert event_keys_for("content-web") == {pair_env("content", c) for c in consumers}
    assert pair_env("identity", "audit") in event_keys_for("audit-worker")
    assert pair_env("identity", "audit") not in event_keys_for("content-worker") | event_keys_for("relay")
    assert event_keys_for("relay") == event_keys_for("web-web") == set()
    acl = redis_acl(values).splitlines()
    assert acl[0].startswith("user default off") and all("-@dangerous" in line for line in acl[1:-1])


def test_stop_order_is_gateway_first_and_redis_last(tmp_path):
    specs = plan(settings(tmp_path), full_layout(), ("identity",), {})
    stages = stop_stages(specs)
    assert stages[0] == ["scheduler", "gateway"]
    assert "relay" in stages[1] and "identity-web" in stages[1]
    assert stages[2] == ["workers"]
    assert stages[-1] == ["redis"]


def test_readiness_is_the_gateways_only_when_every_service_exists(tmp_path):
    s = settings(tmp_path)
    assert readiness_urls(s, full_layout()) == {"gateway": "http://127.0.0.1:18080/readyz"}
    partial = Layout(web=("linking", "gateway"), workers=(), migrations=(), missing=("identity",))
    assert readiness_urls(s, partial) == {"linking": "http://127.0.0.1:18102/readyz",
                                          "gateway": "http://127.0.0.1:18080/healthz"}


def test_the_first_exit_restarts_at_once_and_further_ones_back_off_up_to_the_maximum():
    backoff = Backoff(initial=1, maximum=10)
    assert [backoff.delay(n) for n in range(1, 7)] == [0, 1, 2, 4, 8, 10]
    assert Backoff(first=0.5).delay(1) == 0.5


def test_exit_descriptions():
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL"
    assert describe_exit(3) == "exit code 3"


# -- the supervisor, with real processes -----------------------------------------------------------


def py(name: str, code: str) -> ChildSpec:
    return ChildSpec(name, (sys.executable, "-c", code), dict(os.environ))


def make(tmp_path: Path, *specs: ChildSpec, grace: float = 5.0) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    log = LogMux(out, [s.name for s in specs], color=False)
    sup = Supervisor(specs, tmp_path / "run", log, Backoff(initial=0.05, maximum=0.2, stable_after=60), grace)
    return sup, out


def pid_file(tmp_path: Path, name: str) -> int:
    return int((tmp_path / "run" / f"{name}.pid").read_text())


def gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_output_is_prefixed_with_the_process_name(tmp_path):
    sup, out = make(tmp_path, py("talker", "print('hello'); import time; time.sleep(30)"))
    sup.start_all()
    try:
        wait_until(lambda: "hello" in out.getvalue(), timeout=10, message="child output")
        line = next(x for x in out.getvalue().splitlines() if "hello" in x)
        assert line.split(" ", 1)[1] == "talker | hello"
    finally:
        sup.stop()


def test_a_child_that_dies_is_restarted_with_a_new_pid_file(tmp_path):
    sup, out = make(tmp_path, py("sleeper", "import time; time.sleep(60)"))
    sup.start_all()
    try:
        first = pid_file(tmp_path, "sleeper")
        os.kill(first, signal.SIGKILL)

        def restarted() -> bool:
            sup.poll()
            child = sup.children["sleeper"]
            return child.alive() and child.pid != first

        wait_until(restarted, timeout=10, message="restart")
        assert pid_file(tmp_path, "sleeper") == sup.children["sleeper"].pid
        assert "sleeper exited unexpectedly (signal SIGKILL)" in out.getvalue()
    finally:
        sup.stop()
    assert not (tmp_path / "run" / "sleeper.pid").exists()


def test_repeated_failures_back_off(tmp_path):
    sup, out = make(tmp_path, py("crasher", "raise SystemExit(3)"))
    sup.start_all()
    try:
        def crashed_three_times() -> bool:
            sup.poll()
            return sup.children["crasher"].failures >= 3

        wait_until(crashed_three_times, timeout=10, message="three crashes")
        assert "(exit code 3)" in out.getvalue() and "failure 3 in a row" in out.getvalue()
    finally:
        sup.stop()


def test_stop_escalates_to_sigkill_and_takes_the_whole_process_group(tmp_path):
    stubborn = py("stubborn", (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import signal,time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print('armed', flush=True); time.sleep(60)\n"
    ))
    polite = py("polite", "import time; time.sleep(60)")
    sup, out = make(tmp_path, stubborn, polite, grace=0.5)
    sup.start_all()
    wait_until(lambda: "armed" in out.getvalue(), timeout=10, message="child ready")
    pgids = {name: child.pid for name, child in sup.children.items()}
    started = time.monotonic()
    sup.stop([["stubborn"], ["polite"]])
    assert time.monotonic() - started < 5
    # Orphaned grandchildren are reaped by init a moment after their SIGKILL.
    wait_until(lambda: all(gone(pgid) for pgid in pgids.values() if pgid is not None), timeout=10,
               message="process groups gone")
    text = out.getvalue()
    assert "stubborn did not stop within" in text
    assert text.index("stopped stubborn") < text.index("stopped polite")


def test_hurrying_skips_the_grace_period(tmp_path):
    stubborn = py("stubborn", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                              "print('armed', flush=True); time.sleep(60)")
    sup, out = make(tmp_path, stubborn, grace=30)
    sup.start_all()
    wait_until(lambda: "armed" in out.getvalue(), timeout=10, message="child ready")
    asked = time.monotonic() + 0.3
    sup.hurry = lambda: time.monotonic() > asked  # a second Ctrl-C, 0.3 s into the stop
    started = time.monotonic()
    sup.stop()
    assert time.monotonic() - started < 5
    assert "stubborn asked to hurry; killing it" in out.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_children_die_with_a_killed_supervisor(tmp_path):
    """kill -9 of ``portal run`` itself must not leave services holding ports."""
    script = (
        "import io, os, sys, time\n"
        "from pathlib import Path\n"
        "from services.cli.supervisor import ChildSpec, LogMux, Supervisor\n"
        f"spec = ChildSpec('orphan', (sys.executable, '-c', 'import time; time.sleep(60)'), dict(os.environ))\n"
        f"sup = Supervisor([spec], Path({str(tmp_path / 'run')!r}), LogMux(sys.stdout, ['orphan'], color=False))\n"
        "sup.start_all(); print('up', flush=True); time.sleep(60)\n"
    )
    import subprocess

    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert parent.stdout is not None
        wait_until(lambda: "up" in parent.stdout.readline(), timeout=20, message="supervisor up")
        child_pid = pid_file(tmp_path, "orphan")
        parent.kill()
        parent.wait(timeout=10)
        wait_until(lambda: gone(child_pid), timeout=10, message="orphan gone")
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()


def test_one_portal_run_per_var_dir_and_stale_pid_files_are_cleared(tmp_path):
    import click

    from services.cli.run import exclusive

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "identity-web.pid").write_text("999999\n")  # left by a run that was killed
    with exclusive(run_dir):
        assert not (run_dir / "identity-web.pid").exists()
        assert int((run_dir / "supervisor.pid").read_text()) == os.getpid()
        with pytest.raises(click.ClickException, match="another `portal run`"), exclusive(run_dir):
            pass
    assert not (run_dir / "supervisor.pid").exists()
