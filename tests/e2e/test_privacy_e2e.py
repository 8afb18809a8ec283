"""Privacy requests end to end, every process real (``portal run``) and every call through the gateway: a person with
data in identity, linking, content and audit exports it (every section in, the download link theirs alone),
then erases it (re-authentication required; every service answers with what it erased and kept; login
refused; their name and address gone from the manager's member list and from the audit store; the chain
still verifies); a person under a legal hold is withheld until the hold is released; an erasure requested
while content's worker is down completes once the supervisor restarted it.

The gateway rate-limits per IP (300/min by default), so polling is kept to one request a second."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.people import confirm_email, grant
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct horse battery staple"
T = 30  # seconds per request: the machine is shared and slow
POLL = dict(timeout=90, interval=1.0)
SERVICES = ("linking", "content", "audit")
REAUTH_SECONDS = 15  # short, so that a login's own authentication stops counting as recent within the test


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The e2e platform, with a short re-authentication window: a fresh login counts as a recent
    authentication, so the 428 is only observable once the login is older than the window."""
    with running_platform(tmp_path_factory.mktemp("portal-run"),
                          {"IDENTITY_REAUTH_SECONDS": str(REAUTH_SECONDS)}) as running:
        yield running


@dataclass
class Person:
    name: str
    id: str
    email: str
    http: requests.Session
    logged_in_at: float  # time.monotonic() when the password was last proved (login or re-authentication)


def register(base: str, name: str) -> tuple[str, str]:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    resp = requests.post(f"{base}/api/identity/users", json={"name": name, "email": email, "password": PASSWORD},
                         timeout=T)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], email


def login(base: str, email: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{base}/api/identity/sessions", json={"email": email, "password": password}, timeout=T)


def person(platform: Platform, first: str, role: str | None = None, confirmed: bool = False) -> Person:
    """Register (with a name unique to this run), confirm the address if asked, grant a role before
    logging in, log in."""
    name = f"{first} Q{uuid.uuid4().hex[:6]}"
    user_id, email = register(platform.url, name)
    if confirmed:
        confirm_email(platform, email)
    if role:
        grant(platform, email, role)
    http = requests.Session()
    resp = http.post(f"{platform.url}/api/identity/sessions", json={"email": email, "password": PASSWORD},
                     timeout=T)
    assert resp.status_code == 200, resp.text
    http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    return Person(name, user_id, email, http, time.monotonic())


def assert_error(resp: requests.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text[:1000])
    error = resp.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    assert "Traceback" not in resp.text
    if code:
        assert error["code"] == code, error
    return error


def reauth(base: str, who: Person) -> None:
    resp = who.http.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=T)
    assert resp.status_code == 200, resp.text
    who.logged_in_at = time.monotonic()


def request_erasure(base: str, who: Person) -> dict:
    resp = who.http.post(f"{base}/api/identity/privacy/erasures", timeout=T)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["id"] and body["status"] in {"pending", "withheld", "completed"}, body
    return body


def erasure_completed(base: str, erasure_id: str, reader: requests.Session | None = None) -> dict:
    """Poll the status until ``completed``. Once the account is erased, the id alone reads it."""
    http = reader or requests.Session()

    def done() -> dict | None:
        resp = http.get(f"{base}/api/identity/privacy/erasures/{erasure_id}", timeout=T)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return body if body["status"] == "completed" else None

    return wait_until(done, message=f"erasure {erasure_id} completed", **POLL)


def assert_results(status: dict) -> None:
    results = status["results"]
    for service in SERVICES:
        assert service in results, (service, status)
        result = results[service]
        assert isinstance(result["erased"], list) and isinstance(result["kept"], list), result
        assert all(isinstance(s, str) for s in result["erased"]), result
        assert all({"data", "reason", "until"} <= set(k) for k in result["kept"]), result
    assert not status.get("waiting_for"), status


@pytest.fixture(scope="module")
def world(platform: Platform) -> dict:
    base = platform.url
    admin = person(platform, "Adam", "admin")
    rita = person(platform, "Rita", "compliance")
    mona = person(platform, "Mona")  # the company's manager
    pia = person(platform, "Pia", confirmed=True)  # the subject: data everywhere (asks to join)
    bob = person(platform, "Bob")  # another plain user

    company = admin.http.post(f"{base}/api/linking/companies", timeout=T, json={
        "name": f"Privacy Co {uuid.uuid4().hex[:6]}", "domain": "privacy.example.com",
        "primary_contact_user_id": mona.id})
    assert company.status_code == 201, company.text
    company_id = company.json()["id"]

    asked = pia.http.post(f"{base}/api/linking/companies/{company_id}/link-requests",
                          json={"share_contact": True, "message": "Please let me in"}, timeout=T)
    assert asked.status_code == 201, asked.text
    approved = mona.http.post(f"{base}/api/linking/link-requests/{asked.json()['id']}/approve", timeout=T)
    assert approved.status_code == 200, approved.text

    queries = {}
    for kind in ("question", "complaint"):
        resp = pia.http.post(f"{base}/api/content/queries", timeout=T, json={
            "subject": f"My {kind}", "body": f"The text of my {kind}", "kind": kind})
        assert resp.status_code == 201, resp.text
        queries[kind] = resp.json()["id"]

    for _ in range(3):  # a few accesses: Pia's audit trail
        assert pia.http.get(f"{base}/api/identity/me", timeout=T).status_code == 200

    members = mona.http.get(f"{base}/api/linking/companies/{company_id}/members", timeout=T)
    assert members.status_code == 200, members.text
    assert pia.id in {m["user_id"] for m in members.json()["items"]}

    # The audit store has Pia's accesses before anything is exported.
    def in_audit() -> bool:
        resp = rita.http.get(f"{base}/api/audit/events", params={"actor": pia.id, "limit": 1000}, timeout=T)
        assert resp.status_code == 200, resp.text
        return len([e for e in resp.json()["items"] if e["type"] == "gateway.request.completed"]) >= 3

    wait_until(in_audit, message="Pia's accesses in the audit store", **POLL)
    return {"admin": admin, "rita": rita, "mona": mona, "pia": pia, "bob": bob, "company_id": company_id,
            "queries": queries, "link_request_id": asked.json()["id"]}


# 1. Export ----------------------------------------------------------------------------------------------


def test_export_has_every_section_and_downloads_for_its_owner_only(platform: Platform, world: dict):
    base, pia, bob = platform.url, world["pia"], world["bob"]
    reauth(base, pia)  # an export hands over everything: it needs a recent password, like erasure
    resp = pia.http.post(f"{base}/api/identity/privacy/exports", timeout=T)
    assert resp.status_code == 202, resp.text
    started = resp.json()
    assert started["id"] and started["status"] in {"pending", "completed"}, started
    export_id = started["id"]

    def completed() -> dict | None:
        got = pia.http.get(f"{base}/api/identity/privacy/exports/{export_id}", timeout=T)
        assert got.status_code == 200, got.text
        body = got.json()
        return body if body["status"] == "completed" else None

    status = wait_until(completed, message="export completed", **POLL)
    assert {"identity", *SERVICES} <= set(status["sections"]), status
    assert all(s["status"] == "completed" for s in status["sections"].values()), status
    assert status["download_url"], status

    # Someone else cannot read the status.
    assert_error(bob.http.get(f"{base}/api/identity/privacy/exports/{export_id}", timeout=T), 404)

    link = urlsplit(status["download_url"])
    assert link.path == f"/api/identity/privacy/exports/{export_id}/download", status["download_url"]
    url = f"{base}{link.path}?{link.query}"  # PORTAL_PUBLIC_URL may name another port than this run's gateway

    # The link is the owner's alone: another user, and nobody logged in, are refused.
    other = bob.http.get(url, timeout=T)
    assert other.status_code in {403, 404}, (other.status_code, other.text[:500])
    assert pia.email not in other.text
    assert requests.get(url, timeout=T).status_code in {401, 403, 404}

    download = pia.http.get(url, timeout=60)
    assert download.status_code == 200, download.text[:1000]
    assert "attachment" in download.headers.get("Content-Disposition", "")
    bundle = download.json()
    assert bundle["export_id"] == export_id and bundle["user_id"] == pia.id, {k: bundle.get(k) for k in
                                                                              ("export_id", "user_id")}
    sections = bundle["sections"]
    for service in ("identity", *SERVICES):
        assert isinstance(sections.get(service), dict) and sections[service], (service, sections.get(service))

    identity = sections["identity"]
    assert identity["profile"]["email"] == pia.email and identity["profile"]["name"] == pia.name
    assert "password" not in json.dumps(identity).lower().replace("password_changed", "")  # no secret
    assert world["company_id"] in json.dumps(sections["linking"]), sections["linking"]
    content = json.dumps(sections["content"])
    assert world["queries"]["question"] in content and world["queries"]["complaint"] in content, content[:2000]
    assert pia.id in json.dumps(sections["audit"]), str(sections["audit"])[:2000]
    assert bob.id not in json.dumps(sections), "someone else's data in the bundle"


# 2. Erasure ---------------------------------------------------------------------------------------------


def test_erasure_needs_reauth_then_erases_everywhere(platform: Platform, world: dict):
    base, pia, mona, rita = platform.url, world["pia"], world["mona"], world["rita"]
    # The last proof of the password (the export's re-authentication) must be older than the window.
    time.sleep(max(0.0, pia.logged_in_at + REAUTH_SECONDS + 3 - time.monotonic()))
    assert_error(pia.http.post(f"{base}/api/identity/privacy/erasures", timeout=T), 428, "reauth_required")

    reauth(base, pia)
    started = request_erasure(base, pia)
    assert started["status"] in {"pending", "completed"}, started
    status = erasure_completed(base, started["id"])
    assert_results(status)
    assert pia.id not in json.dumps(status) and pia.email not in json.dumps(status)  # the view names no one

    # The manager's view of the company names them no more.
    members = mona.http.get(f"{base}/api/linking/companies/{world['company_id']}/members", timeout=T)
    assert members.status_code == 200, members.text
    assert pia.id not in members.text and pia.email not in members.text and pia.name not in members.text
    requests_view = mona.http.get(f"{base}/api/linking/companies/{world['company_id']}/link-requests", timeout=T)
    assert requests_view.status_code == 200, requests_view.text
    assert pia.email not in requests_view.text and pia.name not in requests_view.text

    # Nothing in the audit store reads as their address or name any more. Checked before the refused login
    # below: a failed login for an unknown address stores that address in plaintext by design (docs/audit.md,
    # "Sealing": an anonymous failed login names nobody to seal it for).
    export = rita.http.get(f"{base}/api/audit/events/export", params={"format": "jsonl"}, timeout=120)
    assert export.status_code == 200, export.text[:1000]
    assert export.text.strip(), "an empty audit export"
    hits = [line for line in export.text.splitlines() if pia.email in line or pia.name in line]
    assert not hits, hits[:3]

    integrity = rita.http.get(f"{base}/api/audit/integrity", timeout=120)
    assert integrity.status_code == 200, integrity.text
    assert integrity.json()["ok"] is True, integrity.json()

    # Their session ended and the old credentials no longer open the account.
    assert pia.http.get(f"{base}/api/identity/me", timeout=T).status_code == 401
    refused = login(base, pia.email)
    assert refused.status_code == 401, (refused.status_code, refused.text[:500])


# 3. Legal hold ------------------------------------------------------------------------------------------


def test_a_held_person_is_withheld_until_the_hold_is_released(platform: Platform, world: dict):
    base, rita = platform.url, world["rita"]
    held = person(platform, "Hal")
    reason = "litigation 2026-17: preserve records"
    placed = rita.http.post(f"{base}/api/identity/privacy/holds", json={"user_id": held.id, "reason": reason},
                            timeout=T)
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["active"] is True and hold["owner_id"] == rita.id and hold["user_id"] == held.id, hold

    reauth(base, held)
    withheld = request_erasure(base, held)
    assert withheld["status"] == "withheld", withheld
    assert reason in (withheld["reason"] or ""), withheld  # e.g. "A legal hold requires us to keep your data: <reason>"
    got = held.http.get(f"{base}/api/identity/privacy/erasures/{withheld['id']}", timeout=T)
    assert got.status_code == 200 and got.json()["status"] == "withheld", got.text
    assert held.http.get(f"{base}/api/identity/me", timeout=T).status_code == 200  # still logged in
    assert login(base, held.email).status_code == 200

    released = rita.http.delete(f"{base}/api/identity/privacy/holds/{hold['id']}", timeout=T)
    assert released.status_code == 204, released.text

    reauth(base, held)
    again = request_erasure(base, held)
    assert again["id"] != withheld["id"] and again["status"] in {"pending", "completed"}, again
    assert_results(erasure_completed(base, again["id"]))
    assert login(base, held.email).status_code == 401


# 4. A service down during the saga ----------------------------------------------------------------------


def process_started_at(pid: int) -> datetime:
    """When ``pid`` started (Linux: /proc/<pid>/stat starttime, in clock ticks after boot)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[19])  # field 22 of stat; fields[0] here is field 3
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return datetime.fromtimestamp(btime + ticks / os.sysconf("SC_CLK_TCK"), UTC)



def test_erasure_completes_after_the_content_worker_comes_back(platform: Platform, world: dict):
    base = platform.url
    late = person(platform, "Lou")
    query = late.http.post(f"{base}/api/content/queries", timeout=T, json={
        "subject": "A question", "body": "Asked just before the outage", "kind": "question"})
    assert query.status_code == 201, query.text
    reauth(base, late)

    worker = platform.worker_child("content")  # under `portal run`, the process of every service's worker
    pid = platform.pids()[worker]
    os.kill(pid, signal.SIGKILL)
    started = request_erasure(base, late)
    status = erasure_completed(base, started["id"])
    assert_results(status)
    # It was a new content worker (the supervisor's restart) that answered, after it started.
    restarted = platform.pids().get(worker)
    assert restarted and restarted != pid, (pid, restarted)
    answered = datetime.fromisoformat(status["results"]["content"]["answered_at"])
    assert answered >= process_started_at(restarted), (answered, process_started_at(restarted))
    assert login(base, late.email).status_code == 401
