"""Staff roles (CLI and API), need-to-know reads, policy publication and acceptance."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from services.cli import main as portal
from tests.integration.identity.conftest import GATEWAY, confirm_address, outbox_events

pytestmark = pytest.mark.integration


def run(*args: str):
    return CliRunner().invoke(portal, list(args), catch_exceptions=False)


def test_grant_role_command(client, container):
    user = client.register("staff@example.com")
    caller = client.login("staff@example.com")
    unconfirmed = run("grant-role", "STAFF@example.com", "compliance")
    assert unconfirmed.exit_code == 1 and "not confirmed" in unconfirmed.output
    assert outbox_events(container, "identity.role.granted") == []
    confirm_address(container, user["id"])
    result = run("grant-role", "STAFF@example.com", "compliance")
    assert result.exit_code == 0, result.output
    assert "granted compliance" in result.output
    # gaining a role ends the open session: the role belongs to a fresh session id only
    assert client.resolve(caller.token).status_code == 404
    fresh = client.login("staff@example.com")
    assert fresh.identity.roles == {"compliance"}
    [event] = outbox_events(container, "identity.role.granted")
    assert event["payload"] == {"user_id": user["id"], "role": "compliance", "granted_by": "system:cli"}
    assert "already had" in run("grant-role", "staff@example.com", "compliance").output


def test_grant_role_command_errors_are_clear(client):
    client.register("someone@example.com")
    unknown_email = run("grant-role", "ghost@example.com", "admin", "--unconfirmed")
    assert unknown_email.exit_code == 1 and "No account with email" in unknown_email.output
    unknown_role = CliRunner().invoke(portal, ["grant-role", "someone@example.com", "overlord"])
    assert unknown_role.exit_code == 2 and "overlord" in unknown_role.output


def test_policy_publish_command_and_acceptance(client, container, tmp_path):
    client.register("pat@example.com")
    caller = client.login("pat@example.com")
    text = tmp_path / "policy.md"
    text.write_text("We now share more.\n")
    result = run("policy", "publish", "--version", "2", "--file", str(text), "--reduces-rights")
    assert result.exit_code == 0, result.output
    policy = client.call("GET", "/policy").get_json()
    assert policy["version"] == "2" and policy["reduces_rights"] is True
    assert client.resolve(caller.token).get_json()["policy_acceptance_required"] is True
    stale = client.call("POST", "/policy/acceptances", caller, json={"version": "1"})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "policy_version_not_current"
    accepted = client.call("POST", "/policy/acceptances", caller, json={"version": "2"})
    assert accepted.status_code == 201 and accepted.get_json()["version"] == "2"
    assert client.resolve(caller.token).get_json()["policy_acceptance_required"] is False
    assert client.call("GET", "/policy/versions/2").get_json()["text"] == "We now share more.\n"
    history = client.call("GET", "/policy/versions").get_json()["items"]  # public, newest first, no texts
    assert [v["version"] for v in history] == ["2", "1"] and "text" not in history[0]
    assert history[0]["reduces_rights"] is True
    duplicate = run("policy", "publish", "--version", "2", "--file", str(text))
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert client.call("POST", "/policy/acceptances", json={"version": "2"}).status_code == 401
    assert client.call("POST", "/policy/acceptances", caller, json={}).status_code == 422


def test_roles_by_api_are_for_admins_only(client, container):
    target = client.register("target@example.com")
    client.register("boss@example.com")
    run("grant-role", "boss@example.com", "admin", "--unconfirmed")
    boss = client.login("boss@example.com")
    other = client.login("target@example.com")
    assert client.call("POST", f"/users/{target['id']}/roles", other, json={"role": "admin"}).status_code == 403
    unconfirmed = client.call("POST", f"/users/{target['id']}/roles", boss, json={"role": "editor"})
    assert unconfirmed.status_code == 409 and unconfirmed.get_json()["error"]["code"] == "email_unverified"
    assert "email" in unconfirmed.get_json()["error"]["fields"]
    assert client.resolve(other.token).status_code == 200  # nothing happened: the session stays
    confirm_address(container, target["id"])
    resp = client.call("POST", f"/users/{target['id']}/roles", boss, json={"role": "editor"})
    assert resp.status_code == 200 and resp.get_json()["roles"] == ["editor"]
    bad = client.call("POST", f"/users/{target['id']}/roles", boss, json={"role": "overlord"})
    assert bad.status_code == 422 and "role" in bad.get_json()["error"]["fields"]
    assert client.call("POST", "/users/nobody/roles", boss, json={"role": "editor"}).status_code == 404
    resp = client.call("DELETE", f"/users/{target['id']}/roles/editor", boss)
    assert resp.status_code == 200 and resp.get_json()["roles"] == []
    revoked = outbox_events(container, "identity.role.revoked")
    assert revoked[0]["payload"]["revoked_by"] == boss.identity.user_id


def test_staff_read_of_a_person_is_logged_about_that_person(client, container):
    person = client.register("person@example.com", phone="+1 555 0101")
    client.register("helper@example.com")
    run("grant-role", "helper@example.com", "support", "--unconfirmed")
    helper = client.login("helper@example.com")
    nosy = client.login("person@example.com")
    assert client.call("GET", f"/users/{person['id']}", nosy, query={"reason": "curious"}).status_code == 403
    missing = client.call("GET", f"/users/{person['id']}", helper)
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    resp = client.call("GET", f"/users/{person['id']}", helper, query={"reason": "ticket 7"})
    assert resp.status_code == 200 and resp.get_json()["phone"] == "+1 555 0101"
    [event] = outbox_events(container, "identity.pii.accessed")
    assert event["subject"] == person["id"] and event["actor"] == helper.identity.user_id
    assert event["payload"]["accessor_id"] == helper.identity.user_id and event["payload"]["reason"] == "ticket 7"


def test_admin_revokes_every_session_of_a_user(client, container):
    target = client.register("lost-laptop@example.com")
    client.register("root@example.com")
    run("grant-role", "root@example.com", "admin", "--unconfirmed")
    admin = client.login("root@example.com")
    sessions = [client.login("lost-laptop@example.com") for _ in range(2)]
    resp = client.call("DELETE", f"/users/{target['id']}/sessions", admin)
    assert resp.status_code == 200 and resp.get_json()["revoked"] == 2
    assert all(client.resolve(s.token).status_code == 404 for s in sessions)
    assert client.call("DELETE", f"/users/{target['id']}/sessions", sessions[0]).status_code == 403
    assert client.call("GET", "/healthz", GATEWAY).status_code == 200
