"""Mails telling a person the outcome of something another service decided (linking's link decisions,
content's complaint steps). The other service sends only ids; identity owns the address and the mailer,
and records each mail like every other (``mails`` + ``identity.mail.queued``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from services.identity.config import Settings
from services.identity.domain import mails
from services.identity.handlers.mail import queue_mails
from services.identity.handlers.ports import IdentityUow

log = logging.getLogger("portal.identity.notifications")


def _recipient(uow: IdentityUow, user_id: Any) -> Any:
    """The living account the mail goes to, or None (unknown or erased: nobody to tell)."""
    user = uow.users.get(str(user_id)) if user_id else None
    if user is None or user.erased_at is not None:
        log.info("no mail for an outcome about an unknown or erased account")
        return None
    return user


def notify_link_decision(uow: IdentityUow, settings: Settings, *, approved: bool, payload: Mapping[str, Any]) -> bool:
    """Tell the requester that a company's manager approved or rejected their link request."""
    with uow:
        user = _recipient(uow, payload.get("user_id"))
        if user is None:
            return False
        company = str(payload.get("company_name") or "the company")
        draft = (mails.link_approved(settings.public_url, user.name, company) if approved
                 else mails.link_rejected(settings.public_url, user.name, company, payload.get("reason")))
        queue_mails(uow, [(user.id, user.email, draft)], subject=user.id)
        uow.commit()
    return True


def notify_complaint(uow: IdentityUow, settings: Settings, *, event_type: str, payload: Mapping[str, Any]) -> bool:
    """Tell a complainant about a step of their complaint's case (received, status, answer, due date)."""
    if event_type not in mails.COMPLAINT_EVENTS:
        return False
    with uow:
        user = _recipient(uow, payload.get("complainant_user_id"))
        if user is None:
            return False
        draft = mails.complaint_update(settings.public_url, user.name, event_type, str(payload.get("query_id")),
                                       str(payload.get("status") or payload.get("to_status") or ""),
                                       payload.get("due_at"))
        queue_mails(uow, [(user.id, user.email, draft)], subject=user.id)
        uow.commit()
    return True
