"""Cookie consent, per person and per anonymous browser, each record with the policy version in force."""

from __future__ import annotations

from typing import Any

from services.identity.domain.model import Consent
from services.identity.handlers.ports import IdentityUow
from shared import clock

DEFAULT = {"analytics": False, "policy_version": None, "decided": False, "updated_at": None}


def _view(consent: Consent | None) -> dict[str, Any]:
    if consent is None:
        return dict(DEFAULT)
    return {"analytics": consent.analytics, "policy_version": consent.policy_version, "decided": True,
            "updated_at": consent.created_at}


def get_consent(uow: IdentityUow, *, user_id: str | None, browser_id: str | None) -> dict[str, Any]:
    """The person's choice when logged in (else this browser's); nothing decided means essential only."""
    with uow:
        found = uow.consents.latest_for_user(user_id) if user_id else None
        if found is None and browser_id:
            found = uow.consents.latest_for_browser(browser_id)
    return _view(found)


def _record(uow: IdentityUow, *, analytics: bool, source: str, user_id: str | None, browser_id: str | None,
            version: str | None) -> Consent:
    consent = Consent(analytics=analytics, policy_version=version, source=source, created_at=clock.now(),
                      user_id=user_id, browser_id=browser_id)
    uow.consents.add(consent)
    uow.emit("identity.consent.changed", subject=user_id or f"browser:{browser_id}",
             payload={"user_id": user_id, "browser_id": browser_id, "analytics": analytics,
                      "policy_version": version, "source": source})
    return consent


def set_consent(uow: IdentityUow, *, analytics: bool, user_id: str | None, browser_id: str) -> dict[str, Any]:
    """Record the browser's choice, and the person's too when logged in (the browser keeps it after
    logout, so the banner does not come back)."""
    with uow:
        policy = uow.policies.current()
        version = policy.version if policy else None
        consent = _record(uow, analytics=analytics, source="browser", user_id=None, browser_id=browser_id,
                          version=version)
        if user_id:
            consent = _record(uow, analytics=analytics, source="account", user_id=user_id, browser_id=browser_id,
                              version=version)
        uow.commit()
    return _view(consent)


def carry_browser_consent(uow: IdentityUow, user_id: str, browser_id: str | None) -> None:
    """At login, inside the login's unit of work: a choice made anonymously in this browser becomes the
    account's, unless the account has a newer one."""
    if not browser_id:
        return
    browser = uow.consents.latest_for_browser(browser_id)
    if browser is None:
        return
    mine = uow.consents.latest_for_user(user_id)
    if mine is not None and mine.created_at >= browser.created_at:
        return
    _record(uow, analytics=browser.analytics, source="login_carry", user_id=user_id, browser_id=browser_id,
            version=browser.policy_version)
