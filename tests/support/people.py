"""People using a running platform through its gateway, for end-to-end tests: register, log in (keeping the
CSRF token on the session), grant staff roles with the ``portal`` command, and check the contract's error
shape."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass

import requests

from tests.support.platform import Platform
from tests.support.processes import REPO, VENV_BIN, base_env

PASSWORD = "correct horse battery staple"
T = 30  # seconds per request: the machine is shared and slow


@dataclass
class Person:
    id: str
    email: str
    name: str
    http: requests.Session  # holds the session cookie and sends X-CSRF-Token


def unique_email(first: str) -> str:
    return f"{first.lower()}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(base: str, first: str, http: requests.Session | None = None) -> tuple[dict, str]:
    """(the registration's answer, email) of a new account."""
    address = unique_email(first)
    resp = (http or requests).post(f"{base}/api/identity/users",
                                   json={"name": first.title(), "email": address, "password": PASSWORD}, timeout=T)
    assert resp.status_code == 201, resp.text
    return resp.json(), address


def register(base: str, first: str, http: requests.Session | None = None) -> tuple[str, str]:
    """(user id, email) of a new account."""
    account, address = sign_up(base, first, http)
    return account["id"], address


def log_in(base: str, address: str, http: requests.Session | None = None) -> requests.Session:
    """Log in on ``http`` (a new browser unless given); the CSRF token goes on every later request."""
    http = http or requests.Session()
    resp = http.post(f"{base}/api/identity/sessions", json={"email": address, "password": PASSWORD}, timeout=T)
    assert resp.status_code == 200, resp.text
    http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    return http


def portal(platform: Platform, *args: str) -> subprocess.CompletedProcess:
    """The ``portal`` command against this platform (its var dir holds the secrets and URLs)."""
    return subprocess.run([str(VENV_BIN / "portal"), *args], cwd=REPO, timeout=180,
                          env=base_env({"PORTAL_VAR_DIR": str(platform.var_dir)}), capture_output=True, text=True,
                          check=False)


def grant(platform: Platform, email: str, role: str) -> None:
    """``portal grant-role --unconfirmed`` (the test vouches for the person, whose address is not confirmed):
    ends the person's open sessions, so grant before logging in."""
    granted = portal(platform, "grant-role", email, role, "--unconfirmed")
    assert granted.returncode == 0, granted.stderr[-2000:]


def confirm_email(platform: Platform, address: str) -> None:
    """Open the confirmation link mailed at registration (what a link request or a staff role needs)."""
    from tests.support.mailbox import wait_for_token

    token = wait_for_token(platform, address, "verify-email")
    resp = requests.post(f"{platform.url}/api/identity/email/verify", json={"token": token}, timeout=T)
    assert resp.status_code == 200 and resp.json()["email_verified"] is True, resp.text


def person(platform: Platform, first: str, role: str | None = None, confirmed: bool = False) -> Person:
    """A new account, given ``role`` before logging in (a role change ends the person's sessions);
    ``confirmed``: its address confirmed through the mailed link."""
    user_id, address = register(platform.url, first)
    if confirmed:
        confirm_email(platform, address)
    if role:
        grant(platform, address, role)
    return Person(user_id, address, first.title(), log_in(platform.url, address))


def assert_error(resp: requests.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The contract's error shape, ``{"error": {"code", "message", "fields"?}}``, with the right status."""
    assert resp.status_code == status, (resp.status_code, resp.text[:1000])
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    error = resp.json()["error"]
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str), error
    assert "Traceback" not in resp.text
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert field in error.get("fields", {}), error
    return error
