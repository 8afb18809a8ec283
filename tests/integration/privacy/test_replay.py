"""The erasure ledger after a restore: both databases are put back to copies taken before an erasure
(the person is back, with a live session), and ``portal privacy replay-erasures`` erases them again in
identity and, through the real broker and worker, in linking."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from services.cli import main as portal
from services.linking.adapters import tables as linking_tables
from tests.integration.privacy.conftest import PASSWORD, backup, drop_backup, restore, running_platform, text_of
from tests.support.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def completed(platform, request_id: str, user_id: str) -> dict:
    platform.publish_answer("content", request_id, user_id)
    platform.publish_answer("audit", request_id, user_id)
    wait_until(lambda: platform.erasure(request_id)["status"] == "completed", timeout=60,
               message="every service answered")
    return platform.erasure(request_id)


def test_replay_after_restoring_backups_taken_before_the_erasure(tmp_path):
    with running_platform(tmp_path) as platform:
        user, caller = platform.person("restored")
        admin = platform.api.admin()
        (manager,) = platform.api.register("manager")
        company = platform.api.ok("POST", "/companies", admin, 201, json={"name": "Restore Co",
                                                                          "primary_contact_user_id": manager})
        asked = platform.api.ok("POST", f"/companies/{company['id']}/link-requests", user["id"], 201,
                                json={"share_contact": True, "message": "Residual copy"})
        platform.api.ok("POST", f"/link-requests/{asked['id']}/approve", manager)

        platform.quiesce()
        copies = {url: backup(url, tmp_path) for url in (platform.identity_db, platform.linking_db)}
        platform.resume()
        try:
            request_id = platform.http.call("POST", "/privacy/erasures", caller).get_json()["id"]
            wait_until(lambda: "linking" in platform.erasure(request_id)["results"], timeout=60,
                       message="linking erased")
            first = completed(platform, request_id, user["id"])
            assert platform.projected(user["id"]) is None

            # disaster recovery: both databases come back from the copies taken before the erasure
            platform.quiesce()
            for url, copy in copies.items():
                restore(url, copy)
            platform.resume()
            assert platform.projected(user["id"]).email == user["email"]  # the residual copy is back
            assert platform.http.resolve(caller.token).status_code == 200  # and so is their session
            assert platform.http.call("GET", f"/privacy/erasures/{request_id}").status_code == 404

            with platform.environ():
                result = CliRunner().invoke(portal, ["privacy", "replay-erasures"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            assert f"{request_id}\t{user['id']}\treplayed" in result.output

            # identity: at once, from the ledger file (its own ledger table was restored without the entry)
            assert platform.http.resolve(caller.token).status_code == 404
            assert platform.http.call("POST", "/sessions", json={"email": user["email"],
                                                                 "password": PASSWORD}).status_code == 401
            # linking: through identity.privacy.erasure_replayed and its worker
            wait_until(lambda: platform.projected(user["id"]) is None, timeout=60, message="linking erased again")
            with platform.linking.runtime.engine.connect() as conn:
                assert conn.execute(select(linking_tables.members)
                                    .where(linking_tables.members.c.user_id == user["id"])).first() is None
            linking_text = text_of(platform.linking_db)
            for value in (user["name"], user["email"], user["phone"], "Residual copy"):
                assert value not in linking_text, value
            [replayed] = platform.outbox(platform.identity, "identity.privacy.erasure_replayed")
            assert replayed["payload"] == {"request_id": request_id, "user_id": user["id"]}
            # the request's record is back and completes again as the services answer the replay
            wait_until(lambda: "linking" in platform.erasure(request_id)["results"], timeout=60,
                       message="linking answered the replay")
            again = completed(platform, request_id, user["id"])
            assert set(again["results"]) == set(first["results"])
            assert platform.dead_letters(platform.linking) == []
        finally:
            for url, copy in copies.items():
                drop_backup(url, copy)
