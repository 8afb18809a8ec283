"""Secrets never reach the log, through the whole platform (``portal run``, every process real, gunicorn's
access log switched on): a password-reset link opened as mailed and its token sent on an API call's query
string leave no trace of the token in the server log store, the gateway's spool, any file under the var dir
(databases, WAL files, Redis' append-only file; the mail folder alone holds the mail itself) or any log line."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy as email_policy
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from services.cli.run_plan import local_env_path
from services.cli.secret_files import read_env_file
from tests.support.people import register
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
T = 30
RESET = re.compile(r"/reset-password[?#]token=([A-Za-z0-9_\-.~%]+)")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-run"), {"PORTAL_ACCESS_LOG": "1"}) as running:
        yield running


def reset_token(platform: Platform, address: str) -> str:
    def found() -> list[str]:
        tokens = []
        for path in sorted((platform.var_dir / "mail").glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
            if str(msg["To"]).strip().lower() == address.lower():
                body = msg.get_body(preferencelist=("plain",))
                tokens += RESET.findall(body.get_content() if body is not None else "")
        return tokens

    return wait_until(found, timeout=90, interval=1.0, message=f"a reset mail to {address}")[-1]


def files_holding(var_dir: Path, needle: bytes, skip: tuple[str, ...] = ("mail",)) -> list[str]:
    """Every file under the var dir whose bytes hold ``needle`` (the top-level folders in ``skip`` left out)."""
    hits = []
    for path in var_dir.rglob("*"):
        relative = path.relative_to(var_dir)
        if path.is_file() and relative.parts[0] not in skip and needle in path.read_bytes():
            hits.append(str(relative))
    return hits


def test_a_reset_token_never_reaches_the_log_store_the_spool_or_the_logs(platform: Platform):
    base = platform.url
    _user, address = register(base, "rosa")
    assert requests.post(f"{base}/api/identity/password-resets", json={"email": address}, timeout=T).status_code == 202
    token = reset_token(platform, address)

    opened = requests.get(f"{base}/reset-password?token={token}&lang=en", timeout=T)  # the link, as mailed
    assert opened.status_code < 500
    probe = requests.get(f"{base}/api/identity/policy?token={token}&signature={token}&sig={token}", timeout=T)
    assert probe.status_code == 200
    done = requests.post(f"{base}/api/identity/password-resets/confirm",
                         json={"token": token, "password": "a brand new passphrase 42"}, timeout=T)
    assert done.status_code == 200, done.text

    url = read_env_file(local_env_path(platform.var_dir))["AUDIT_DATABASE_URL"]
    engine = create_engine(url)
    try:
        def stored() -> list:
            with engine.connect() as conn:
                return conn.execute(text(
                    "SELECT subject, payload FROM audit_events WHERE type = 'gateway.request.completed' "
                    "AND subject IN ('/reset-password', '/api/identity/policy', "
                    "'/api/identity/password-resets/confirm')")).all()

        rows = wait_until(lambda: len(stored()) >= 3 and stored(), timeout=120, interval=1.0,
                          message="the three requests in the audit store")
        with engine.connect() as conn:
            everything = conn.execute(text("SELECT * FROM audit_events")).all()
    finally:
        engine.dispose()
    assert {r.subject for r in rows} >= {"/reset-password", "/api/identity/policy"}
    assert not [r for r in everything if token in " ".join(str(v) for v in r)]
    assert files_holding(platform.var_dir, token.encode()) == []
    log = platform.proc.output()
    assert token not in log
    assert '"GET /reset-password HTTP/1.1"' in log  # gunicorn's access lines are there, without the query
