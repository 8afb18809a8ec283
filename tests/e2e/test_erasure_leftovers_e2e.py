"""Erasure reaches every copy on disk, every process real (``portal run``, SQLite, the embedded Redis with its
append-only file): a person whose name, address, query subject and body and request paths and query strings
all carry one unique marker uses the portal, asks for erasure (re-authenticated), and once it completed every
file under the run's directory — each service's database with its WAL, the gateway's spool, the mail spool,
Redis's append-only files, the ledger, the anchor, the logs — is read as bytes: the marker is nowhere, in
any of its common encodings (UTF-8, URL-encoded, JSON-escaped).

Copies are cleaned right after the erasure completes (the Redis rewrite runs in the background), so the scan
is repeated for a short while before it is held to fail."""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from tests.support.people import grant
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct horse battery staple"
T = 30
POLL = dict(timeout=120, interval=1.0)
CLEANED_WITHIN = 30.0  # seconds after completion: the AOF rewrite and the spool's purge run in the background


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("portal-run")


@pytest.fixture(scope="module")
def platform(run_dir: Path) -> Iterator[Platform]:
    with running_platform(run_dir, {"IDENTITY_REAUTH_SECONDS": "600"}) as running:
        yield running


def encodings(text: str) -> set[bytes]:
    """The byte strings a stored copy of ``text`` may take (base64 too: a broker message's body)."""
    forms = {text, quote(text), quote(text, safe=""), quote_plus(text), quote(text).lower(),
             json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    return {f.encode() for f in forms} | {text.encode("utf-16-le")} | base64_forms(text.encode())


def base64_forms(data: bytes) -> set[bytes]:
    """The part of base64 that ``data`` always encodes to, at each of its three possible offsets."""
    out = set()
    for skip in range(3):
        encoded = base64.b64encode(b"\0" * skip + data)
        start, end = 4 * math.ceil(skip / 3), 4 * ((skip + len(data)) // 3)
        out.add(encoded[start:end])
    return out


def leftovers(root: Path, needles: set[bytes]) -> list[str]:
    """Every file under ``root`` holding one of ``needles`` (SQLite files, WAL, spool, mail, AOF, logs)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except (FileNotFoundError, PermissionError):
            continue  # removed while we looked (a WAL truncated, an AOF rewritten): gone is what we want
        found = sorted({n.decode("latin-1") for n in needles if n in data})
        if found:
            hits.append(f"{path.relative_to(root)}: {found}")
    return hits


def test_erasure_leaves_no_copy_of_the_person_on_disk(platform: Platform, run_dir: Path):
    base = platform.url
    marker = f"zq{uuid.uuid4().hex[:12]}"  # ASCII: every encoding of the texts below contains it as is
    name = f"Ülla {marker} Ørsted"
    email = f"{marker}@example.com"
    created = requests.post(f"{base}/api/identity/users", json={"name": name, "email": email, "password": PASSWORD},
                            timeout=T)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    http = requests.Session()
    logged = http.post(f"{base}/api/identity/sessions", json={"email": email, "password": PASSWORD}, timeout=T)
    assert logged.status_code == 200, logged.text
    http.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
    # From now on logged in (before, a request names nobody to seal it for: docs/audit.md, "Sealing").
    http.headers["User-Agent"] = f"browser-{marker}"

    # Free text: a query's subject and body, request paths and query strings (API and pages).
    asked = http.post(f"{base}/api/content/queries", timeout=T, json={
        "subject": f"About {marker} Ünicode", "body": f"Please call {marker} at home, ä", "kind": "question"})
    assert asked.status_code == 201, asked.text
    assert http.get(f"{base}/api/identity/me", params={"q": f"{marker} ä"}, timeout=T).status_code == 200
    assert http.get(f"{base}/api/content/items/{marker}-é", timeout=T).status_code == 404
    assert http.get(f"{base}/api/content/items", params={"search": marker}, timeout=T).status_code in (200, 422)
    page = http.get(f"{base}/help/{marker}", params={"from": marker}, timeout=T)
    assert page.status_code == 404, page.status_code

    # The store has their access events before the erasure.
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    assert requests.post(f"{base}/api/identity/users", json={"name": "Rita Reviewer", "email": admin_email,
                                                             "password": PASSWORD}, timeout=T).status_code == 201
    grant(platform, admin_email, "compliance")
    rita = requests.Session()
    resp = rita.post(f"{base}/api/identity/sessions", json={"email": admin_email, "password": PASSWORD}, timeout=T)
    assert resp.status_code == 200, resp.text

    def stored() -> bool:
        got = rita.get(f"{base}/api/audit/events", params={"actor": user_id, "limit": 1000}, timeout=T)
        assert got.status_code == 200, got.text
        seen = " ".join(f'{e["payload"].get("path", "")}?{e["payload"].get("query", "")}' for e in got.json()["items"])
        return seen.count(marker) >= 3

    wait_until(stored, message="the person's accesses in the audit store", **POLL)

    needles = encodings(marker) | encodings(name) | encodings(email)
    assert leftovers(run_dir, needles), "the marker should be on disk before the erasure"

    # Erasure, re-authenticated as the API requires.
    assert http.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=T).status_code == 200
    started = http.post(f"{base}/api/identity/privacy/erasures", timeout=T)
    assert started.status_code == 202, started.text
    erasure_id = started.json()["id"]

    def completed() -> bool:
        got = requests.get(f"{base}/api/identity/privacy/erasures/{erasure_id}", timeout=T)
        assert got.status_code == 200, got.text
        return got.json()["status"] == "completed"

    wait_until(completed, message="erasure completed", **POLL)

    deadline = time.monotonic() + CLEANED_WITHIN
    hits = leftovers(run_dir, needles)
    while hits and time.monotonic() < deadline:
        time.sleep(1.0)
        hits = leftovers(run_dir, needles)
    assert not hits, "\n".join(hits)
