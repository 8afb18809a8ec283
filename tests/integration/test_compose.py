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
import subprocess
import sys
from typing import Any

import click
import jsonschema
import pytest
import yaml

from services.cli import main as portal_cli
from services.cli.run_plan import BACKENDS, SERVICES
from shared.bus.topology import queue_name
from tests.support.audit_keys import audit_keys_env
from tests.support.processes import REPO, base_env

COMPOSE = REPO / "docker-compose.yml"
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
    redis_cmd = " ".join(compose["services"]["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert '--requirepass "$$REDIS_PASSWORD"' in redis_cmd or '--requirepass "$REDIS_PASSWORD"' in redis_cmd
    for name, service in compose["services"].items():  # every client names the password
        url = (service.get("environment") or {}).get("REDIS_URL")
        assert url is None or url.startswith("redis://:${REDIS_PASSWORD:?"), f"{name}: {url}"
    init_sql = "\n".join(
        (REPO / src.split(":")[0]).read_text()
        for src in compose["services"]["postgres"]["volumes"] if src.startswith("./deploy/")
    )
    created = set(re.findall(r"CREATE DATABASE (\w+)", init_sql))
    stateful = {s for s in SERVICES if (REPO / "services" / s / "migrations").is_dir()}  # not the pages
    assert created >= stateful, "one PostgreSQL database per service"


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


def test_no_secret_is_committed(compose):
    for name, service in compose["services"].items():
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
