"""identity's answer about one person, asked synchronously: the contact details the users projection does
not hold yet, and whether the person's address is confirmed (asked at every link request)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from services.linking.domain import errors
from services.linking.domain.model import Contact
from services.linking.handlers.ports import Account, UserDirectory
from shared.errors import Unavailable
from shared.web.client import ServiceClient

__all__ = ["Account", "IdentityDirectory", "UserDirectory"]

log = logging.getLogger("portal.linking.identity")


class IdentityDirectory:
    """``GET /internal/users/<id>`` on identity, signed as ``system:linking`` (never its database)."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    def find(self, user_id: str, request_id: str | None = None) -> Contact | None:
        account = self.lookup(user_id, request_id)
        return account.contact if account else None

    def lookup(self, user_id: str, request_id: str | None = None) -> Account | None:
        try:
            resp = self.client.get(f"/internal/users/{quote(user_id, safe='')}", request_id=request_id)
        except Unavailable as exc:
            raise errors.IdentityUnavailable(
                "The identity service cannot be reached to read contact details; try again later.") from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("identity answered %s to a user lookup", resp.status_code)
            raise errors.IdentityUnavailable(
                "The identity service cannot give contact details right now; try again later.")
        try:
            body = resp.json()
            user = body.get("user", body) if isinstance(body, dict) else {}
            found_id = str(user.get("id") or user.get("user_id") or "")
            name, email, phone = user.get("name"), user.get("email"), user.get("phone")
            verified = user.get("email_verified") is True  # absent or anything but JSON true: not confirmed
        except (ValueError, AttributeError) as exc:
            raise errors.IdentityUnavailable("The identity service gave an unreadable answer.") from exc
        if found_id != user_id or not isinstance(name, str) or not isinstance(email, str):
            raise errors.IdentityUnavailable("The identity service gave an unreadable answer.")
        contact = Contact(user_id=user_id, name=name, email=email, phone=phone if isinstance(phone, str) else None)
        return Account(contact=contact, email_verified=verified)
