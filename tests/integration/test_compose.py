"""docker-compose.yml is a valid Compose file, and every command, module and Dockerfile it names exists.

No Docker engine runs on the CI machine, so this is what keeps the deployment description honest: the
Compose specification's JSON schema (../shared/data/compose-spec.json, beside the repository), real
imports of every gunicorn and Celery target, and the ``portal`` command's own click group.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml

from services.cli import main as portal_cli
from services.cli.keys import event_keys_for
from services.cli.redis_users import REDIS_USERS, redis_acl, redis_password_env, redis_user
from services.cli.run_plan import BACKENDS, SERVICES
from services.cli.secret_files import PG_ROLES, RABBITMQ_USERS, read_env_file
from shared.bus.topology import queue_name
from tests.support.audit_keys import audit_keys_env
from tests.support.processes import REPO, VENV_BIN, base_env

COMPOSE = REPO / "docker-compose.yml"
RABBITMQ = REPO / "docker-compose.rabbitmq.yml"
SPEC = REPO.parent / "shared" / "data" / "compose-spec.json"
REQUIRED_SECRET = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]*\}$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|_KEY$|TOKEN")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def commands(compose: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every command line in the file: services' commands and their health checks' commands."""
    found = []
    for name, service in compose["services"].items():
        command = service.get("command")
        if command:
            found.append((name, command if isinstance(command, list) else shlex.split(command)))
        test = service.get("healthcheck", {}).get("test")
        if isinstance(test, list) and test and test[0] == "CMD":
            found.append((f"{name} healthcheck", test[1:]))
        elif isinstance(test, list) and test and test[0] == "CMD-SHELL":
            found.append((f"{name} healthcheck", shlex.split(test[1])))
    return found


def targets(compose: dict[str, Any], program: str, flag: str) -> dict[str, str]:
    """``{where: value}`` of the argument after ``flag`` in each of a program's command lines."""
    return {where: argv[argv.index(flag) + 1] for where, argv in commands(compose)
            if argv[0] == program and flag in argv}


def gunicorn_apps(argvs: dict[str, list[str]]) -> tuple[dict[str, str], set[str]]:
    """The ``module:app`` target of each gunicorn command line, and the ``-c python:module`` configs."""
    apps, configs = {}, set()
    for where, argv in argvs.items():
        if argv[0] != "gunicorn":
            continue
        for i, arg in enumerate(argv[1:], start=1):
            if argv[i - 1] in ("-c", "--config"):
                if arg.startswith("python:"):
                    configs.add(arg.removeprefix("python:"))
            elif re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", arg):
                apps[where] = arg
    return apps, configs


def test_the_file_is_valid_against_the_compose_specification(compose):
    if not SPEC.exists():
        pytest.fail(f"the Compose specification's schema is expected at {SPEC} (shared/ beside the repo)")
    schema = json.loads(SPEC.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_every_service_has_its_web_and_worker_and_the_platform_its_stores(compose):
    names = set(compose["services"])
    for service in BACKENDS:
        assert {f"{service}-web", f"{service}-worker"} <= names
    assert {"gateway", "relay", "migrate", "postgres", "redis"} <= names
    assert "gateway-worker" not in names  # the gateway consumes no events
    init_sql = "\n".join(
        (REPO / src.split(":")[0]).read_text()
        for src in compose["services"]["postgres"]["volumes"] if src.startswith("./deploy/")
    )
    # the one-database services: the rows of the query whose statements psql runs (\gexec)
    created = set(re.findall(r":'prefix' \|\| '(\w+)'", init_sql)) | {"audit"}
    stateful = {s for s in SERVICES if (REPO / "services" / s / "migrations").is_dir()}  # not the pages
    assert created >= stateful, "one PostgreSQL database per service"
    assert "CREATE DATABASE :\"audit\" OWNER :\"audit\"" in init_sql


def _process(container: str) -> str:
    """The `portal run` child a compose container corresponds to (the pages' container is called web)."""
    return "web-web" if container == "web" else container


def test_redis_has_the_same_acl_users_as_portal_run(compose):
    """deploy/redis/users.sh (what compose's Redis loads) writes exactly the users and rules of the embedded Redis
    of `portal run` (redis_users.redis_acl), which tests/e2e/test_make_run.py checks through real processes."""
    redis = compose["services"]["redis"]
    assert "--aclfile" in redis["command"][-1] and "requirepass" not in redis["command"][-1]
    passwords = {redis_password_env(u): secrets.token_hex(8) for u in REDIS_USERS}
    assert set(redis["environment"]) >= set(passwords)
    script = subprocess.run(["sh", str(REPO / "deploy" / "redis" / "users.sh")], env={"PATH": "/usr/bin:/bin",
                            **passwords}, capture_output=True, text=True, timeout=30, check=True)
    assert script.stdout == redis_acl(passwords)
    assert script.stdout.splitlines()[0].startswith("user default off")


def _all_containers(compose) -> dict[str, dict]:
    """Every container's merged environment, with docker-compose.rabbitmq.yml laid over the base file."""
    override = yaml.safe_load(RABBITMQ.read_text())["services"]
    merged = {}
    for name, service in compose["services"].items():
        env = dict(service.get("environment") or {})
        env.update((override.get(name) or {}).get("environment") or {})
        merged[name] = env
    return merged


def test_each_container_has_its_own_users_and_only_its_event_keys(compose):
    """No container holds the event master key; each holds exactly the pair keys `portal run` gives the same
    process, connects to Redis as its own ACL user, to PostgreSQL as its own role (audit's writer for audit,
    the retention role for retention) and, with RabbitMQ, to the broker as its own user."""
    envs = _all_containers(compose)
    for name, env in envs.items():
        assert "PORTAL_EVENT_MASTER_KEY" not in env, name
        if name in ("postgres", "redis", "rabbitmq"):
            continue
        keys = {k for k in env if k.startswith("PORTAL_EVENT_KEY_")}
        assert keys == (set() if name == "migrate" else event_keys_for(_process(name))), name
        for key in keys:
            assert env[key] == f"${{{key}:?run portal keys}}", name
        user = "portal" if name == "migrate" else redis_user(_process(name))
        assert env["REDIS_URL"] == f"redis://{user}:${{{redis_password_env(user)}:?run portal keys}}@redis:6379/0"
        for key, url in env.items():
            if key.endswith("_URL") and url.startswith("postgresql"):
                role = url.split("://", 1)[1].split(":", 1)[0]
                assert role in PG_ROLES and f"PORTAL_PG_PASSWORD_{role.upper()}" in url, (name, key)
                database = url.rsplit("/", 1)[1]
                assert role == database or role.startswith(database + "_") or database == "audit", (name, key)
        if name.startswith("audit-"):
            assert env["AUDIT_DATABASE_URL"].startswith("postgresql+psycopg://audit_writer:")
        if "PORTAL_BROKER_URL" in env:
            assert env["PORTAL_BROKER_URL"].startswith(f"amqp://{user}:${{PORTAL_RABBITMQ_PASSWORD_{user.upper()}:?")
    assert envs["scheduler"]["PORTAL_AUDIT_RETENTION_DATABASE_URL"].startswith("postgresql+psycopg://audit_retention:")
    assert envs["migrate"]["AUDIT_DATABASE_URL"].startswith("postgresql+psycopg://audit:")  # the owner migrates
    consumers = {f"{s}-worker" for s in BACKENDS} | {"relay", "scheduler", "migrate"}
    assert consumers <= {n for n, e in envs.items() if "PORTAL_BROKER_URL" in e}


def test_the_rabbitmq_file_is_valid_and_its_users_work_on_a_real_broker():
    """docker-compose.rabbitmq.yml against the Compose schema; deploy/rabbitmq/definitions.sh's output imported
    into the machine's RabbitMQ (user names prefixed, removed afterwards): a user gets in with its password
    and not with another, and has no management tag."""
    override = yaml.safe_load(RABBITMQ.read_text())
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text()))
    assert not [e.message for e in validator.iter_errors(override)]
    prefix = f"t{secrets.token_hex(4)}_"
    passwords = {f"PORTAL_RABBITMQ_PASSWORD_{u.upper()}": secrets.token_hex(16) for u in RABBITMQ_USERS}
    assert set(override["services"]["rabbitmq"]["environment"]) == set(passwords)
    script = subprocess.run(["sh", str(REPO / "deploy" / "rabbitmq" / "definitions.sh")], capture_output=True,
                            env={"PATH": "/usr/bin:/bin", **passwords, "PORTAL_RABBITMQ_PREFIX": prefix,
                                 "PORTAL_RABBITMQ_VHOST": f"{prefix}portal"}, text=True, timeout=30, check=True)
    definitions = json.loads(script.stdout)
    assert {u["name"] for u in definitions["users"]} == {prefix + u for u in RABBITMQ_USERS}
    assert all(u["tags"] == [] for u in definitions["users"])
    from kombu import Connection

    try:  # on standard input: rabbitmqctl runs as the rabbitmq user, which cannot read a private tmp dir
        imported = subprocess.run(["rabbitmqctl", "import_definitions"], input=script.stdout, capture_output=True,
                                  text=True, timeout=60, check=False)
        assert imported.returncode == 0, imported.stdout + imported.stderr

        def connects(user: str, password: str) -> bool:
            try:
                with Connection(f"amqp://{prefix}{user}:{password}@127.0.0.1:5672/{prefix}portal",
                                connect_timeout=5) as conn:
                    conn.ensure_connection(max_retries=3, interval_start=0.5)
                return True
            except Exception:  # noqa: BLE001 - refused
                return False

        assert connects("relay", passwords["PORTAL_RABBITMQ_PASSWORD_RELAY"])
        assert not connects("relay", passwords["PORTAL_RABBITMQ_PASSWORD_AUDIT"])
    finally:
        for user in RABBITMQ_USERS:
            subprocess.run(["rabbitmqctl", "delete_user", prefix + user], capture_output=True, timeout=60, check=False)
        subprocess.run(["rabbitmqctl", "delete_vhost", f"{prefix}portal"], capture_output=True, timeout=60, check=False)


def test_health_checks_and_dependencies_are_consistent(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service, f"{name} has no health check"
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no check"
            if spec["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must be a one-shot job"
    gateway_deps = services["gateway"]["depends_on"]
    assert all(gateway_deps[f"{s}-web"]["condition"] == "service_healthy" for s in BACKENDS)
    for name, service in services.items():
        test = service["healthcheck"]["test"] if "healthcheck" in service else ["CMD"]
        assert "curl" not in " ".join(test) and "wget" not in " ".join(test), f"{name}: slim images have no curl"


def test_what_portal_runs_supervisor_does_compose_does_too(compose):
    """Every long-running process is restarted when it exits (the supervisor's restart) and has a health
    check of its own; only the one-shot migration job is neither. The relay and the scheduler, which have no
    web tier, are checked on the metrics listener their own process serves."""
    for name, service in compose["services"].items():
        if name == "migrate":
            assert service.get("restart") == "no"
            continue
        assert service.get("restart") in ("unless-stopped", "always"), f"{name} is not restarted when it exits"
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: {test}"
    for name in ("relay", "scheduler"):
        service = compose["services"][name]
        port = service["environment"].get("PORTAL_METRICS_PORT") or "9100"
        assert port in service["expose"] or str(port) in [str(p) for p in service["expose"]]
        assert f"http://127.0.0.1:{port}/metrics" in " ".join(service["healthcheck"]["test"]), name


def test_no_secret_is_committed(compose):
    override = yaml.safe_load(RABBITMQ.read_text())
    for name, service in [*compose["services"].items(), *override["services"].items()]:
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_SECRET.match(str(value)), f"{name}: {key} must be ${{{key}:?...}}, not a value"
            assert "://" not in str(value) or "@" not in str(value) or "${" in str(value), \
                f"{name}: {key} embeds credentials"


def test_gunicorn_and_celery_targets_import_and_have_an_app(compose, tmp_path):
    web, configs = gunicorn_apps(dict(commands(compose)))
    workers = targets(compose, "celery", "-A")
    assert set(web.values()) >= {f"services.{s}.wsgi:app" for s in SERVICES}
    assert set(workers.values()) >= {f"services.{s}.worker" for s in BACKENDS}
    modules = sorted({t.split(":")[0] for t in web.values()} | set(workers.values()) | configs)
    for module in modules:
        path = REPO / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{module} is named in docker-compose.yml but {path} does not exist"
    # Import them for real, in a child with throwaway settings (the imports build each service).
    probe = (
        "import importlib, json, sys\n"
        "from celery import Celery\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        module = importlib.import_module(name)\n"
        "        app = getattr(module, 'app', None)\n"
        "        out[name] = 'celery' if isinstance(app, Celery) else ('wsgi' if callable(app) else 'module')\n"
        "    except Exception as exc:\n"
        "        out[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(out))\n"
    )
    env = base_env({"PORTAL_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:9/0",
                    "PORTAL_INTERNAL_SECRET": secrets.token_hex(32),
                    "PORTAL_AUDIT_SIGNING_KEY": secrets.token_hex(32), **audit_keys_env(tmp_path)})
    result = subprocess.run([sys.executable, "-c", probe, *modules], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    kinds = json.loads(result.stdout.strip().splitlines()[-1])
    for where, target in web.items():
        assert kinds[target.split(":")[0]] == "wsgi", f"{where}: {target} -> {kinds[target.split(':')[0]]}"
    for where, module in workers.items():
        assert kinds[module] == "celery", f"{where}: {module} -> {kinds[module]}"
    for module in configs:
        assert kinds[module] == "module", f"gunicorn config {module} -> {kinds[module]}"


def test_celery_workers_read_their_own_service_queue(compose):
    for where, argv in commands(compose):
        if argv[0] == "celery" and "worker" in argv:
            service = argv[argv.index("-A") + 1].split(".")[1]
            assert argv[argv.index("-Q") + 1] == queue_name(service), where


def test_every_portal_subcommand_exists(compose):
    portal = [(where, argv[1:]) for where, argv in commands(compose) if argv[0] == "portal"]
    portal.append(("Dockerfile", ["--help"]))
    assert {tuple(a) for _, a in portal} >= {("migrate",), ("relay",)}
    for where, args in portal:
        group: click.Command = portal_cli
        words = [a for a in args if not a.startswith("-")]
        while words and isinstance(group, click.Group):
            sub = group.commands.get(words[0])
            assert sub is not None, f"{where}: `portal {' '.join(args)}`: no command {words[0]!r}"
            group, words = sub, words[1:]


def test_one_dockerfile_builds_every_image_and_copies_what_exists(compose):
    """The root Dockerfile with ``--build-arg SERVICE=<name>`` is every service's image (no argument: the
    operations image with every service); each service is built with its own name."""
    assert not list(REPO.glob("services/*/Dockerfile")), "one Dockerfile (the root one, ARG SERVICE)"
    built = set()
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            assert name in ("postgres", "redis"), f"{name} has neither a build nor a public image"
            continue
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name}: the root Dockerfile"
        chosen = (build.get("args") or {}).get("SERVICE")
        if chosen is not None:
            assert (REPO / "services" / chosen / "wsgi.py").is_file(), f"{name}: SERVICE={chosen} is no service"
            assert service["image"] == f"portal-{chosen}", f"{name}: image named after SERVICE"
            built.add(chosen)
        else:
            assert service["image"] == "portal-ops", name
    assert built == set(SERVICES), f"services without an image: {set(SERVICES) - built}"
    dockerfile = REPO / "Dockerfile"
    text = dockerfile.read_text()
    assert re.search(r"^ARG SERVICE=$", text, re.MULTILINE)
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE), f"{dockerfile}: python:3.11-slim"
    assert "pip install -r requirements.txt" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and user[-1] not in ("root", "0"), f"{dockerfile} must run as a non-root user"
    for line in re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE):
        if line.startswith("--from="):
            continue  # from the build's own stage
        *sources, _dest = line.split()
        for src in sources:
            assert (REPO / src).exists(), f"{dockerfile}: COPY {src} does not exist"


def test_every_process_without_a_web_tier_serves_its_metrics_and_every_web_tier_counts(compose):
    """Workers, the relay and the scheduler: ``PORTAL_METRICS_PORT`` (exposed on the compose network, not
    published) and a multiprocess directory on a tmpfs; every web tier runs the shared gunicorn settings
    (multiprocess metrics, JSON error pages) or the gateway's, which build on them."""
    for name, service in compose["services"].items():
        argv = service.get("command") or []
        if name.endswith("-worker") or argv[:2] in (["portal", "relay"], ["portal", "schedule"]):
            env = service["environment"]
            assert env["PORTAL_METRICS_PORT"] == "9100" and "9100" in service["expose"], name
            assert env["PROMETHEUS_MULTIPROC_DIR"] in service["tmpfs"], name
            assert "ports" not in service, name
        elif argv[:1] == ["gunicorn"]:
            _apps, configs = gunicorn_apps({name: argv})
            assert configs & {"shared.web.gunicorn_conf", "services.gateway.gunicorn_conf"}, name


def test_portal_keys_makes_every_secret_the_compose_files_require(tmp_path):
    """`portal keys` (run twice: values kept) writes a private env file holding every variable the compose files
    require, the audit key pair's paths, and no master key."""
    folder = tmp_path / "deploy-secrets"

    def run() -> dict[str, str]:
        done = subprocess.run([str(VENV_BIN / "portal"), "keys", "--dir", str(folder)], cwd=REPO,
                              env=base_env({"PORTAL_VAR_DIR": str(tmp_path / "var")}), capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return read_env_file(folder / "portal-secrets.env")

    first = run()
    assert run() == first
    assert stat.S_IMODE((folder / "portal-secrets.env").stat().st_mode) == 0o600
    assert "PORTAL_EVENT_MASTER_KEY" not in first
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text() + RABBITMQ.read_text()))
    assert required <= set(first), sorted(required - set(first))
    for key_file in ("PORTAL_AUDIT_SIGNING_KEY_FILE", "PORTAL_AUDIT_PUBLIC_KEY_FILE"):
        assert Path(first[key_file]).is_file(), key_file
