"""Identity end to end, every process real (``portal run``) and every call through the gateway: cookie consent
for anonymous browsers and accounts (the analytics id only with consent, honoured in the server log; the
anonymous choice carried into the account at login), staff roles and need-to-know reads (admins only,
audited, applied at once), and policy versions (``portal policy publish``; a version that reduces rights
answers 428 on every route but policy, privacy, consent and logout until the person accepts it; every user
is mailed a notice and the mail is recorded).

Every test makes its own people: a rights-reducing publication gates everyone who exists at that moment,
whatever order the tests run in. The gateway rate-limits per IP (300/min), so polling is one request a
second."""

from __future__ import annotations

import email
import json
import uuid
from email import policy as email_policy

import pytest
import requests

from tests.support.people import PASSWORD, Person, T, assert_error, log_in, person, portal, register
from tests.support.platform import Platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
POLL = dict(timeout=90, interval=1.0)


@pytest.fixture
def reviewer(platform: Platform) -> Person:
    return person(platform, "Rita", "compliance")


def set_cookies(resp: requests.Response) -> dict[str, str]:
    """``{cookie name: whole Set-Cookie line}`` of one response."""
    lines = resp.raw.headers.getlist("Set-Cookie")
    return {line.split("=", 1)[0]: line for line in lines}


def current_version(base: str) -> str:
    resp = requests.get(f"{base}/api/identity/policy", timeout=T)
    assert resp.status_code == 200, resp.text
    return resp.json()["version"]


def audited(reviewer: Person, base: str, **params) -> list[dict]:
    resp = reviewer.http.get(f"{base}/api/audit/events", params={"limit": 1000, **params}, timeout=T)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def access_events(reviewer: Person, base: str, request_ids: list[str]) -> dict[str, dict]:
    """The gateway's access event of each request, once every one is in the audit store."""
    def stored() -> dict[str, dict] | None:
        found = {}
        for rid in request_ids:
            items = audited(reviewer, base, correlation_id=rid, type="gateway.request.completed")
            if not items:
                return None
            found[rid] = items[0]
        return found

    return wait_until(stored, message="the access events in the audit store", **POLL)


# 1. Consent ---------------------------------------------------------------------------------------------


def test_anonymous_browser_has_no_analytics_id_until_it_consents(platform: Platform, reviewer: Person):
    base = platform.url
    browser = requests.Session()
    version = current_version(base)

    first = browser.get(f"{base}/api/identity/consent", timeout=T)
    assert first.status_code == 200, first.text
    assert first.json() == {"analytics": False, "decided": False, "policy_version": None, "updated_at": None}
    assert not set_cookies(first), "essential cookies only, and none is needed to read the default"
    undecided = browser.get(f"{base}/api/content/items", timeout=T)
    assert undecided.status_code == 200, undecided.text

    # A made-up analytics id is ignored: only the portal hands them out, signed.
    forged_browser = requests.Session()
    forged_browser.cookies.set("portal_anon", "i-made-this-up.0123456789abcdef01234567")
    forged = forged_browser.get(f"{base}/api/content/items", timeout=T)
    assert forged.status_code == 200, forged.text

    declined = browser.put(f"{base}/api/identity/consent", json={"analytics": False}, timeout=T)
    assert declined.status_code == 200, declined.text
    assert declined.json()["decided"] is True and declined.json()["analytics"] is False
    assert declined.json()["policy_version"] == version
    cookies = set_cookies(declined)
    assert "portal_anon" not in browser.cookies and "portal_consent" in browser.cookies
    consent_cookie = cookies["portal_consent"].lower()
    assert "httponly" in consent_cookie and "samesite=lax" in consent_cookie and "path=/" in consent_cookie
    after_decline = browser.get(f"{base}/api/content/items", timeout=T)
    assert browser.get(f"{base}/api/identity/consent", timeout=T).json()["analytics"] is False  # remembered

    accepted = browser.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["analytics"] is True and accepted.json()["policy_version"] == version
    anon_cookie = browser.cookies.get("portal_anon")
    assert anon_cookie, set_cookies(accepted)
    anonymous_id = anon_cookie.rpartition(".")[0]
    assert anonymous_id
    consented = browser.get(f"{base}/api/content/items", timeout=T)
    # Consenting again keeps the same id.
    again = browser.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T)
    assert again.status_code == 200 and browser.cookies.get("portal_anon") == anon_cookie

    withdrawn = browser.put(f"{base}/api/identity/consent", json={"analytics": False}, timeout=T)
    assert withdrawn.status_code == 200, withdrawn.text
    assert "portal_anon" in set_cookies(withdrawn)  # deleted: an expired cookie of the same name
    assert "portal_anon" not in browser.cookies
    after_withdrawal = browser.get(f"{base}/api/content/items", timeout=T)

    rids = {name: resp.headers["X-Request-ID"] for name, resp in {
        "undecided": undecided, "forged": forged, "declined": after_decline, "consented": consented,
        "withdrawn": after_withdrawal}.items()}
    events = access_events(reviewer, base, list(rids.values()))
    for name, rid in rids.items():
        event = events[rid]
        if name == "consented":
            assert event["payload"]["anonymous_id"] == anonymous_id, event
            assert event["actor"] == f"anonymous:{anonymous_id}", event
        else:
            assert event["payload"]["anonymous_id"] is None, (name, event)
            assert event["actor"] == "anonymous", (name, event)

    # The browser's choices are recorded with the policy version, under the browser, never a person.
    changes = [e for e in audited(reviewer, base, type="identity.consent.changed")
               if e["correlation_id"] in {r.headers["X-Request-ID"] for r in (declined, accepted, withdrawn)}]
    assert [c["payload"]["analytics"] for c in changes] == [False, True, False], changes
    assert all(c["payload"]["policy_version"] == version and c["payload"]["user_id"] is None for c in changes)


def test_anonymous_choice_is_carried_into_the_account_at_login(platform: Platform, reviewer: Person):
    base = platform.url
    version = current_version(base)
    ada_id, ada_email = register(base, "Ada")

    browser = requests.Session()
    chose = browser.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T)
    assert chose.status_code == 200, chose.text
    log_in(base, ada_email, browser)
    mine = browser.get(f"{base}/api/identity/consent", timeout=T).json()
    assert mine["analytics"] is True and mine["decided"] is True and mine["policy_version"] == version, mine

    # It is the account's choice now: another browser, logged in as Ada, sees it.
    laptop = log_in(base, ada_email)
    assert laptop.get(f"{base}/api/identity/consent", timeout=T).json()["analytics"] is True

    # A newer choice on the account is not overwritten by an older anonymous one.
    old_browser = requests.Session()
    assert old_browser.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T).status_code == 200
    no = laptop.put(f"{base}/api/identity/consent", json={"analytics": False}, timeout=T)
    assert no.status_code == 200 and no.json()["analytics"] is False, no.text
    assert "portal_anon" not in laptop.cookies
    log_in(base, ada_email, old_browser)
    assert old_browser.get(f"{base}/api/identity/consent", timeout=T).json()["analytics"] is False

    # Logged in, the change needs the CSRF token like every other state change.
    no_csrf = requests.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T,
                           cookies=laptop.cookies, headers={"X-CSRF-Token": "not-the-token"})
    assert_error(no_csrf, 403, "csrf_failed")

    # After logout the first browser keeps its own choice (no banner again).
    assert browser.delete(f"{base}/api/identity/sessions/current", timeout=T).status_code == 204
    assert browser.get(f"{base}/api/identity/consent", timeout=T).json()["analytics"] is True

    def account_changes() -> list[dict] | None:
        items = [e for e in audited(reviewer, base, type="identity.consent.changed", subject=ada_id)]
        return items if {e["payload"]["source"] for e in items} >= {"login_carry", "account"} else None

    changes = wait_until(account_changes, message="Ada's consent changes in the audit store", **POLL)
    carried = [e for e in changes if e["payload"]["source"] == "login_carry"]
    assert len(carried) == 1, changes  # the later login after a newer account choice carried nothing
    assert carried[0]["payload"]["analytics"] is True and carried[0]["payload"]["policy_version"] == version


def test_consent_refuses_bad_input_and_keeps_the_stored_choice(platform: Platform):
    base = platform.url
    browser = requests.Session()
    assert browser.put(f"{base}/api/identity/consent", json={"analytics": True}, timeout=T).status_code == 200
    for body in ({}, {"analytics": "yes"}, {"analytics": 1}, {"analytics": None}, ["analytics"],
                 {"analytics": True, "marketing": True}):
        assert_error(browser.put(f"{base}/api/identity/consent", json=body, timeout=T), 422)
    not_json = browser.put(f"{base}/api/identity/consent", data="analytics=true", timeout=T,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= not_json.status_code < 500
    assert_error(not_json, not_json.status_code)
    broken = browser.put(f"{base}/api/identity/consent", data="{", timeout=T,
                         headers={"Content-Type": "application/json"})
    assert_error(broken, broken.status_code)
    assert 400 <= broken.status_code < 500
    # A tampered consent cookie is a new browser, not an error.
    tampered = requests.get(f"{base}/api/identity/consent", cookies={"portal_consent": "abc.def"}, timeout=T)
    assert tampered.status_code == 200 and tampered.json()["decided"] is False
    assert browser.get(f"{base}/api/identity/consent", timeout=T).json()["analytics"] is True


# 2. Staff roles and need-to-know -------------------------------------------------------------------------


def test_roles_are_given_by_admins_only_audited_and_applied_at_once(platform: Platform, reviewer: Person):
    base = platform.url
    admin = person(platform, "Adam", "admin")
    sam = person(platform, "Sam", confirmed=True)  # a role goes only to a confirmed address
    ada = person(platform, "Ada")
    reason = "ticket 815: wrong phone number"
    roles_url = f"{base}/api/identity/users/{sam.id}/roles"

    # Nobody but an admin gives roles, reads them, or reads someone's data without the role.
    assert_error(sam.http.post(f"{base}/api/identity/users/{sam.id}/roles", json={"role": "admin"}, timeout=T), 403)
    assert_error(ada.http.get(roles_url, timeout=T), 403)
    assert_error(requests.post(roles_url, json={"role": "support"}, timeout=T), 401)
    assert_error(sam.http.get(f"{base}/api/identity/users/{ada.id}", params={"reason": reason}, timeout=T), 403)
    no_csrf = requests.post(roles_url, json={"role": "support"}, cookies=admin.http.cookies, timeout=T)
    assert_error(no_csrf, 403, "csrf_failed")

    # Bad input: the error shape, and nothing changes.
    assert_error(admin.http.post(roles_url, json={"role": "superuser"}, timeout=T), 422)
    assert_error(admin.http.post(roles_url, json={}, timeout=T), 422, field="role")
    assert_error(admin.http.post(roles_url, json={"role": ["support"]}, timeout=T), 422)
    missing = admin.http.post(f"{base}/api/identity/users/{uuid.uuid4()}/roles", json={"role": "support"},
                              timeout=T)
    assert_error(missing, 404)
    assert admin.http.get(roles_url, timeout=T).json()["roles"] == []

    granted = admin.http.post(roles_url, json={"role": "support"}, timeout=T)
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"user_id": sam.id, "roles": ["support"]}
    # A privilege change ends the person's sessions: the role only ever belongs to a new session id.
    assert_error(sam.http.get(f"{base}/api/identity/me", timeout=T), 401)
    sam = Person(sam.id, sam.email, sam.name, log_in(base, sam.email))

    # Need-to-know: a reason, every time.
    url = f"{base}/api/identity/users/{ada.id}"
    assert_error(sam.http.get(url, timeout=T), 422, field="reason")
    assert_error(sam.http.get(url, params={"reason": "x"}, timeout=T), 422, field="reason")
    assert_error(sam.http.get(f"{base}/api/identity/users/{uuid.uuid4()}", params={"reason": reason}, timeout=T),
                 404)
    read = sam.http.get(url, params={"reason": reason}, timeout=T)
    assert read.status_code == 200, read.text
    assert read.json()["email"] == ada.email and read.json()["roles"] == []
    assert "password" not in read.text.lower()

    # Taking the role away applies to Sam's open session at once (the gateway drops its cache).
    revoked = admin.http.delete(f"{roles_url}/support", timeout=T)
    assert revoked.status_code == 200 and revoked.json()["roles"] == [], revoked.text
    assert_error(sam.http.get(url, params={"reason": reason}, timeout=T), 403)
    assert sam.http.get(f"{base}/api/identity/me", timeout=T).status_code == 200  # still logged in

    # An admin ends all of a person's sessions.
    ended = admin.http.delete(f"{base}/api/identity/users/{ada.id}/sessions", timeout=T)
    assert ended.status_code == 200 and ended.json()["revoked"] >= 1, ended.text
    assert_error(ada.http.get(f"{base}/api/identity/me", timeout=T), 401)

    # Audited: who gave and took which role, and the staff read with its reason, which Ada can see.
    def role_events() -> list[dict] | None:
        items = [e for e in audited(reviewer, base, subject=sam.id)
                 if e["type"] in {"identity.role.granted", "identity.role.revoked"}]
        return items if len(items) >= 2 else None

    changes = wait_until(role_events, message="the role changes in the audit store", **POLL)
    assert [(e["type"], e["payload"]["role"]) for e in changes] == [
        ("identity.role.granted", "support"), ("identity.role.revoked", "support")], changes
    assert changes[0]["payload"]["granted_by"] == admin.id and changes[1]["payload"]["revoked_by"] == admin.id
    assert all(e["actor"] == admin.id for e in changes), changes

    ada_again = log_in(base, ada.email)

    def staff_reads() -> list[dict] | None:
        resp = ada_again.get(f"{base}/api/audit/me/events", params={"limit": 200}, timeout=T)
        assert resp.status_code == 200, resp.text
        return [e for e in resp.json()["items"] if e["kind"] == "staff_access"] or None

    (seen,) = wait_until(staff_reads, message="the staff read in Ada's history", **POLL)
    assert seen["actor"] == sam.id and seen["details"]["reason"] == reason, seen


# 3. Policy versions ------------------------------------------------------------------------------------------


def notices(platform: Platform, address: str) -> list[str]:
    """Subjects of the policy notices mailed to ``address``."""
    subjects = []
    for path in sorted((platform.var_dir / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if str(msg["To"]).strip().lower() == address.lower() and "privacy policy" in str(msg["Subject"]):
            subjects.append(str(msg["Subject"]))
    return subjects


def publish(platform: Platform, tmp_path, version: str, text: str, *flags: str):
    policy_file = tmp_path / f"policy-{version}.md"
    policy_file.write_text(text, encoding="utf-8")
    return portal(platform, "policy", "publish", "--version", version, "--file", str(policy_file), *flags)


def test_rights_reducing_policy_gates_every_route_until_accepted(platform: Platform, tmp_path):
    base = platform.url
    ada = person(platform, "Ada")
    bob = person(platform, "Bob")
    tag = uuid.uuid4().hex[:8]

    # A version that does not reduce rights is announced, and nobody is stopped.
    minor = f"{tag}-minor"
    done = publish(platform, tmp_path, minor, "Typos fixed.\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reduces rights: no" in done.stdout
    assert ada.http.get(f"{base}/api/identity/me", timeout=T).status_code == 200
    assert requests.get(f"{base}/api/identity/policy", timeout=T).json()["version"] == minor

    major = f"{tag}-major"
    text = "We now share usage trends with partners.\n"
    done = publish(platform, tmp_path, major, text, "--reduces-rights")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reduces rights: yes" in done.stdout
    policy = requests.get(f"{base}/api/identity/policy", timeout=T).json()
    assert policy["version"] == major and policy["reduces_rights"] is True, policy

    # At once (no cached session lets a request by), every route of every service answers 428 ...
    gated = [
        ("GET", "/api/identity/me", None), ("PATCH", "/api/identity/me", {"name": "Ada L"}),
        ("GET", "/api/identity/sessions", None), ("GET", "/api/content/items", None),
        ("POST", "/api/content/queries", {"subject": "hi", "body": "hello"}),
        ("GET", "/api/linking/me/companies", None), ("GET", "/api/audit/me/events", None),
    ]
    for method, path, body in gated:
        assert_error(ada.http.request(method, f"{base}{path}", json=body, timeout=T), 428,
                     "policy_acceptance_required")
    # ... but the policy, the privacy rights, cookie consent and logout.
    assert ada.http.get(f"{base}/api/identity/policy", timeout=T).status_code == 200
    read = ada.http.get(f"{base}/api/identity/policy/versions/{major}", timeout=T)
    assert read.status_code == 200 and read.json()["text"] == text, read.text
    assert ada.http.get(f"{base}/api/identity/consent", timeout=T).status_code == 200
    assert ada.http.put(f"{base}/api/identity/consent", json={"analytics": False}, timeout=T).status_code == 200
    assert ada.http.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=T).status_code == 200
    export = ada.http.post(f"{base}/api/identity/privacy/exports", timeout=T)
    assert export.status_code == 202, export.text
    assert bob.http.delete(f"{base}/api/identity/sessions/current", timeout=T).status_code == 204
    # Logging in again does not get around it.
    bob_again = log_in(base, bob.email)
    assert_error(bob_again.get(f"{base}/api/identity/me", timeout=T), 428, "policy_acceptance_required")
    # Someone who registers now accepts the version in force when registering.
    carol = person(platform, "Carol")
    assert carol.http.get(f"{base}/api/identity/me", timeout=T).status_code == 200

    # Only the version in force can be accepted; bad input is refused in the contract's shape.
    accept_url = f"{base}/api/identity/policy/acceptances"
    assert_error(ada.http.post(accept_url, json={"version": minor}, timeout=T), 409, "policy_version_not_current")
    assert_error(ada.http.post(accept_url, json={}, timeout=T), 422, field="version")
    assert_error(ada.http.post(accept_url, json={"version": 7}, timeout=T), 422, field="version")
    assert_error(ada.http.post(accept_url, json={"version": "x" * 65}, timeout=T), 422, field="version")
    assert_error(requests.post(accept_url, json={"version": major}, timeout=T), 401)
    assert_error(ada.http.get(f"{base}/api/identity/policy/versions/no-such-{tag}", timeout=T), 404)

    accepted = ada.http.post(accept_url, json={"version": major}, timeout=T)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["version"] == major and accepted.json()["accepted_at"]
    # The very next request goes through, everywhere.
    for method, path, _ in gated[:1] + gated[2:4] + gated[5:]:
        resp = ada.http.request(method, f"{base}{path}", timeout=T)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:500])
    twice = ada.http.post(accept_url, json={"version": major}, timeout=T)
    assert twice.status_code == 201 and twice.json()["accepted_at"] == accepted.json()["accepted_at"]
    assert_error(bob_again.get(f"{base}/api/identity/me", timeout=T), 428)  # Bob has not accepted

    # Every user existing at publication was mailed a notice of each version; Carol came later.
    expected = {f"Our privacy policy changed (version {v})" for v in (minor, major)}
    for someone in (ada, bob):
        wait_until(lambda who=someone: expected <= set(notices(platform, who.email)),
                   message=f"the policy notices to {someone.name}", **POLL)
    assert notices(platform, carol.email) == []

    # The mails and the acceptance are recorded: Ada's own export shows them.
    export_id = export.json()["id"]

    def completed() -> dict | None:
        got = ada.http.get(f"{base}/api/identity/privacy/exports/{export_id}", timeout=T)
        assert got.status_code == 200, got.text
        return got.json() if got.json()["status"] == "completed" else None

    wait_until(completed, message="Ada's export", **POLL)
    assert ada.http.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=T).status_code == 200
    later = ada.http.post(f"{base}/api/identity/privacy/exports", timeout=T)  # after the acceptance
    assert later.status_code == 202, later.text
    export_id = later.json()["id"]
    status = wait_until(completed, message="Ada's second export", **POLL)
    assert status["download_url"].startswith(f"{base}/api/identity/privacy/exports/"), status  # this portal's URL
    bundle = ada.http.get(status["download_url"], timeout=60)
    assert bundle.status_code == 200, bundle.text[:1000]
    identity = bundle.json()["sections"]["identity"]
    assert major in {a["version"] for a in identity["policy_acceptances"]}, identity["policy_acceptances"]
    mailed = {m["policy_version"]: m for m in identity["mails"] if m["template"] == "policy_notice"}
    assert set(mailed) >= {minor, major}, identity["mails"]
    assert mailed[major]["to_address"] == ada.email and mailed[major]["sent_at"], mailed[major]
    assert bob.email not in json.dumps(identity)

    # Publishing the same version twice is refused, and changes nothing.
    again = publish(platform, tmp_path, major, "Something else.\n")
    assert again.returncode != 0 and "already exists" in again.stderr, (again.stdout, again.stderr)
    assert requests.get(f"{base}/api/identity/policy/versions/{major}", timeout=T).json()["text"] == text


# 4. Bad input on the remaining identity routes -----------------------------------------------------------


def test_bad_input_on_privacy_staff_and_session_routes_never_5xx(platform: Platform):
    """The routes test_identity_e2e.py does not sweep: through the gateway, each refusal in the contract's
    shape with its status, and nothing stored."""
    base = platform.url
    admin = person(platform, "Alma", "admin")
    rita = person(platform, "Rhea", "compliance")
    ada = person(platform, "Ada")
    api = f"{base}/api/identity"
    cases = [
        (ada.http, "POST", "/privacy/exports", {"all": True}, 422),
        (ada.http, "POST", "/privacy/erasures", {"confirm": True}, 422),
        (ada.http, "GET", f"/privacy/exports/{uuid.uuid4()}", None, 404),
        (ada.http, "GET", f"/privacy/exports/{uuid.uuid4()}/download", None, 422),
        (ada.http, "GET", f"/privacy/erasures/{uuid.uuid4()}", None, 404),
        (ada.http, "POST", "/privacy/holds", {"user_id": ada.id, "reason": "mine"}, 403),
        (rita.http, "POST", "/privacy/holds", {"user_id": ada.id}, 422),
        (rita.http, "POST", "/privacy/holds", {"user_id": ada.id, "reason": "lawsuit 12", "until": "tomorrow"}, 422),
        (rita.http, "POST", "/privacy/holds", {"user_id": "", "reason": "lawsuit 12"}, 422),
        (rita.http, "GET", "/privacy/holds", None, 200),
        (rita.http, "DELETE", f"/privacy/holds/{uuid.uuid4()}", None, 404),
        (admin.http, "DELETE", f"/users/{ada.id}/roles/superuser", None, 422),
        (admin.http, "DELETE", f"/users/{uuid.uuid4()}/roles/support", None, 404),
        (admin.http, "DELETE", f"/users/{uuid.uuid4()}/sessions", None, 404),
        (admin.http, "GET", f"/users/{uuid.uuid4()}/roles", None, 404),
        (ada.http, "DELETE", f"/users/{admin.id}/sessions", None, 403),
        (ada.http, "POST", "/policy/acceptances", ["not", "an", "object"], 422),
        (ada.http, "PATCH", "/me", {"email": "not-an-address"}, 422),
        (ada.http, "PATCH", "/me", {"role": "admin"}, 422),
    ]
    for http, method, path, body, status in cases:
        resp = http.request(method, f"{api}{path}", json=body, timeout=T)
        if status == 200:
            assert resp.status_code == 200, (path, resp.text[:500])
            assert resp.json()["items"] == [], resp.text  # no hold was stored by the refused requests
        else:
            assert_error(resp, status)
    malformed = ada.http.post(f"{api}/privacy/exports", data=b'{"oops', timeout=T,
                              headers={"Content-Type": "application/json"})
    assert_error(malformed, 400, "malformed_json")
    profile = ada.http.get(f"{api}/me", timeout=T).json()
    assert profile["email"] == ada.email and profile["name"] == "Ada"
    assert ada.http.get(f"{api}/me", timeout=T).status_code == 200  # nothing ended Ada's session
    assert admin.http.get(f"{api}/users/{ada.id}/roles", timeout=T).json()["roles"] == []
