"""Exports: request, collection from the services (some down), status, signed download, purge."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from services.identity.api.errors import STATUS
from services.identity.domain import errors
from services.identity.handlers import privacy_exports as exports
from tests.unit.identity.privacy_fakes import FakeSource
from tests.unit.identity.test_accounts_and_sessions import login, register


@pytest.fixture
def person(uow, hasher, counters, settings):
    user = register(uow, hasher)
    return user, login(uow, hasher, counters, settings).session.id


@pytest.fixture
def user(person):
    return person[0]


@pytest.fixture
def request_export(uow, settings, person):
    """Ask as the person, from the session they just logged in with."""
    return lambda: exports.request_export(uow, settings, person[0].id, person[1])


@pytest.fixture
def sources():
    return {"linking": FakeSource({"memberships": ["acme"]}), "content": FakeSource(down=True),
            "audit": FakeSource(down=True)}


def link_args(view) -> dict:
    query = parse_qs(urlsplit(view["download_url"]).query)
    return {"expires": int(query["expires"][0]), "signature": query["signature"][0]}


def test_request_stores_pending_sections_and_announces_it_once(uow, store, settings, user, request_export):
    export = request_export()
    assert export.status == "pending" and (export.due_at - export.requested_at).days == 30
    view = exports.export_status(uow, settings, export_id=export.id, user_id=user.id)
    assert view["sections"].keys() == {"identity", "linking", "content", "audit"}
    assert {s["status"] for s in view["sections"].values()} == {"pending"} and "download_url" not in view
    assert request_export().id == export.id  # still running: the same one
    requested = [e for e in store.events if e.type == "identity.privacy.export_requested"]
    assert [e.payload["request_id"] for e in requested] == [export.id]
    assert "email" not in str(requested[0].payload)


def test_sections_that_answer_are_kept_and_the_others_stay_pending(uow, store, settings, user, request_export, sources):
    export = request_export()
    missing = exports.collect_export(uow, sources, export.id)
    assert missing == ["audit", "content"]
    view = exports.export_status(uow, settings, export_id=export.id, user_id=user.id)
    assert {k: v["status"] for k, v in view["sections"].items()} == {
        "identity": "completed", "linking": "completed", "content": "pending", "audit": "pending"}
    assert view["status"] == "pending"
    assert store.privacy.section_rows[(export.id, "content")].last_error == "connection refused"

    sources["content"].down = sources["audit"].down = False
    assert exports.retry_pending_exports(uow, sources) == {export.id: []}
    assert sources["linking"].calls == [user.id]  # an answered section is never asked again
    view = exports.export_status(uow, settings, export_id=export.id, user_id=user.id)
    assert view["status"] == "completed" and view["download_url"].startswith(
        f"http://portal.test/api/identity/privacy/exports/{export.id}/download?")
    assert exports.collect_export(uow, sources, export.id) == []
    assert [e.type for e in store.events].count("identity.privacy.export_completed") == 1


def test_download_is_for_the_owner_with_an_unexpired_link(uow, store, hasher, settings, user, request_export, sources,
                                                          fake_clock):
    export = request_export()
    for source in sources.values():
        source.down = False
    exports.collect_export(uow, sources, export.id)
    args = link_args(exports.export_status(uow, settings, export_id=export.id, user_id=user.id))

    bundle = exports.download_export(uow, settings, export_id=export.id, user_id=user.id, **args)
    assert bundle["sections"]["identity"]["profile"]["email"] == "ada@example.com"
    assert bundle["sections"]["linking"] == {"user_id": user.id, "memberships": ["acme"]}
    assert set(bundle["sections"]) == {"identity", "linking", "content", "audit"}
    assert store.events[-1].type == "identity.privacy.export_downloaded"

    other = register(uow, hasher, email="eve@example.com")
    with pytest.raises(errors.ExportNotFound):  # someone else's export does not exist for them
        exports.download_export(uow, settings, export_id=export.id, user_id=other.id, **args)
    with pytest.raises(errors.ExportNotFound):
        exports.export_status(uow, settings, export_id=export.id, user_id=other.id)
    with pytest.raises(errors.DownloadLinkInvalid):
        exports.download_export(uow, settings, export_id=export.id, user_id=user.id, expires=args["expires"] + 1,
                                signature=args["signature"])
    fake_clock.advance(settings.export_link_seconds + 1)
    with pytest.raises(errors.DownloadLinkExpired):
        exports.download_export(uow, settings, export_id=export.id, user_id=user.id, **args)

    fake_clock.advance(settings.export_keep_seconds)
    fresh = exports.export_status(uow, settings, export_id=export.id, user_id=user.id)
    assert fresh["status"] == "expired" and "download_url" not in fresh
    assert exports.purge_expired_exports(uow, settings) == 1
    assert all(s.data is None for s in store.privacy.section_rows.values())


def test_a_pending_export_cannot_be_downloaded(uow, settings, user, request_export):
    from services.identity.domain.privacy import download_signature

    export = request_export()
    expires = 2**31
    signature = download_signature(settings.common.internal_secret, export.id, user.id, expires)
    with pytest.raises(errors.ExportNotReady):
        exports.download_export(uow, settings, export_id=export.id, user_id=user.id, expires=expires,
                                signature=signature)


def test_an_export_needs_a_recent_reauthentication(uow, store, settings, person, fake_clock):
    fake_clock.advance(settings.reauth_seconds + 1)
    with pytest.raises(errors.ReauthRequired) as err:
        exports.request_export(uow, settings, person[0].id, person[1])
    assert STATUS[type(err.value)] == (428, "reauth_required")
    with pytest.raises(errors.ReauthRequired):
        exports.request_export(uow, settings, person[0].id, None)
    assert not [e for e in store.events if e.type == "identity.privacy.export_requested"]
