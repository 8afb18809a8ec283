"""An export through the real path: identity's outbox → relay → broker → identity's worker, which pulls
linking's section from the real linking service over HTTP; services that are not running stay pending
(and are retried) until they answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from services.cli import main as portal
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def sections(platform, caller, export_id: str) -> dict[str, str]:
    body = platform.http.call("GET", f"/privacy/exports/{export_id}", caller).get_json()
    return {name: s["status"] for name, s in body["sections"].items()}


def retry_exports(platform) -> str:
    with platform.environ():
        result = CliRunner().invoke(portal, ["privacy", "retry-exports"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_export_collects_what_answers_and_keeps_the_rest_pending(platform):
    user, caller = platform.person("export")
    manager = platform.api.register("manager")[0]
    admin = platform.api.admin()
    company = platform.api.ok("POST", "/companies", admin, 201,
                              json={"name": f"Export Co {user['id'][:8]}", "primary_contact_user_id": manager})
    platform.api.ok("POST", f"/companies/{company['id']}/link-requests", user["id"], 201,
                    json={"share_contact": True, "message": "Export me please"})

    # linking's web process is not running yet: only identity's own section comes in
    export = platform.http.call("POST", "/privacy/exports", caller)
    assert export.status_code == 202
    export_id = export.get_json()["id"]
    wait_until(lambda: sections(platform, caller, export_id)["identity"] == "completed", timeout=60,
               message="identity's worker collected identity's section")
    wait_until(lambda: "identity: batch of 1 failed (attempt 1)" in platform.procs["identity"].output(), timeout=60,
               message="the worker retries the missing sections with backoff")
    assert sections(platform, caller, export_id) == {"identity": "completed", "linking": "pending",
                                                     "content": "pending", "audit": "pending"}
    assert "download_url" not in platform.http.call("GET", f"/privacy/exports/{export_id}", caller).get_json()

    # linking comes up (a real gunicorn): the retry brings its section; content and audit stay pending
    platform.start_linking_web()
    assert f"{export_id}\tstill pending: " in retry_exports(platform)
    assert sections(platform, caller, export_id) == {"identity": "completed", "linking": "completed",
                                                     "content": "pending", "audit": "pending"}
    assert platform.http.call("GET", f"/privacy/exports/{export_id}", caller).get_json()["status"] == "pending"

    # once content and audit answer (stand-ins until they implement it), the export completes
    stand_ins = [platform.stand_in("content"), platform.stand_in("audit")]
    try:
        retry_exports(platform)  # (the worker's own backoff retry may get there first: either completes it)
    finally:
        for stand_in in stand_ins:
            stand_in.stop()
    assert sections(platform, caller, export_id) == dict.fromkeys(("identity", "linking", "content", "audit"),
                                                                  "completed")
    done = platform.http.call("GET", f"/privacy/exports/{export_id}", caller).get_json()
    assert done["status"] == "completed"

    url = urlsplit(done["download_url"])
    bundle = platform.http.call("GET", url.path.removeprefix("/api/identity"), caller,
                                query=parse_qs(url.query)).get_json()
    assert set(bundle["sections"]) == {"identity", "linking", "content", "audit"}
    assert bundle["sections"]["identity"]["profile"]["email"] == user["email"]
    [request] = bundle["sections"]["linking"]["link_requests"]
    assert (request["message"], request["company"]["name"]) == ("Export me please", company["name"])
    assert bundle["sections"]["linking"]["contact_details"]["name"] == user["name"]
    assert bundle["sections"]["content"] == {"stand_in": True, "user_id": user["id"]}
    completed = platform.outbox(platform.identity, "identity.privacy.export_completed")
    assert [e["payload"]["request_id"] for e in completed] == [export_id]
