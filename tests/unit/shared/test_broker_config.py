"""The broker has its own setting (PORTAL_BROKER_URL: Redis or RabbitMQ); REDIS_URL stays Redis (counters,
session epochs). A wrong URL is refused with one line, never a traceback."""

from __future__ import annotations

import subprocess

import pytest

from services.cli.run_plan import RunSettings
from shared.bus.celery_app import make_celery
from shared.config import CommonSettings, ConfigError
from tests.support.processes import REPO, VENV_BIN, base_env

AMQP = "amqp://guest:secret@127.0.0.1:5672/portal"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("PORTAL_INTERNAL_SECRET", "0123456789abcdef" * 4)
    monkeypatch.delenv("PORTAL_BROKER_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return monkeypatch


def test_the_broker_defaults_to_the_redis_of_redis_url(env):
    env.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    settings = CommonSettings.from_env("linking")
    assert settings.broker_url == settings.counters_url == "redis://127.0.0.1:6390/2"


def test_rabbitmq_is_the_broker_while_redis_keeps_the_counters(env):
    env.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    env.setenv("PORTAL_BROKER_URL", AMQP)
    settings = CommonSettings.from_env("linking")
    assert settings.broker_url == AMQP and settings.counters_url == "redis://127.0.0.1:6390/2"
    app = make_celery("linking-test", settings.broker_url)
    assert app.conf.broker_transport_options == {"confirm_publish": True}  # publisher confirms


@pytest.mark.parametrize(("name", "value", "says"), [
    ("REDIS_URL", AMQP, "REDIS_URL must be a Redis URL"),
    ("PORTAL_BROKER_URL", "http://127.0.0.1:5672/", "PORTAL_BROKER_URL must be redis://"),
    ("PORTAL_BROKER_URL", "127.0.0.1:5672", "it is a value without a scheme"),
])
def test_a_wrong_url_is_refused_in_one_line_without_its_password(env, name, value, says):
    env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        CommonSettings.from_env("linking")
    assert says in str(refused.value) and "\n" not in str(refused.value) and "secret" not in str(refused.value)
    with pytest.raises(ConfigError):
        RunSettings.from_env()


def test_portal_run_with_rabbitmq_in_redis_url_ends_in_one_line(tmp_path):
    result = subprocess.run([str(VENV_BIN / "portal"), "run"], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env=base_env({"REDIS_URL": AMQP, "PORTAL_VAR_DIR": str(tmp_path)}), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "REDIS_URL must be a Redis URL" in result.stderr and "PORTAL_BROKER_URL" in result.stderr
