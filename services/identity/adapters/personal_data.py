"""Everything identity holds about one person, read out (their export section) or erased (their
erasure), table by table. Which tables hold personal data is this adapter's knowledge; when and why
to read or erase is the handlers' (``handlers/privacy_*.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from services.identity.adapters import tables as t
from services.identity.adapters.records import stored_throttle_key
from services.identity.domain.privacy import UNUSABLE_PASSWORD, erased_email
from shared import clock
from shared.inbox import forget_copies


def _iso(value: datetime | None) -> str | None:
    return None if value is None else clock.isoformat(value)


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [{k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()}
            for row in session.execute(query).mappings()]


class PersonalDataRepository:
    def __init__(self, session: Session, throttle_secret: bytes) -> None:
        self.s = session
        self.throttle_secret = throttle_secret

    def export(self, user_id: str) -> dict[str, Any]:
        """identity's section of the person's export: what it holds about them, secrets excepted
        (password hash, session and CSRF token hashes, mailed tokens and mail bodies)."""
        u, s, c, pa, r, m = t.users, t.sessions, t.consents, t.policy_acceptances, t.user_roles, t.mails
        profile = _rows(self.s, select(u.c.id, u.c.name, u.c.email, u.c.phone, u.c.email_verified, u.c.created_at,
                                       u.c.updated_at, u.c.password_changed_at).where(u.c.id == user_id))
        et = t.email_tokens
        pending = _rows(self.s, select(et.c.new_email.label("address"), et.c.purpose, et.c.created_at,
                                       et.c.expires_at).where(et.c.user_id == user_id, et.c.used_at.is_(None),
                                                              et.c.expires_at > clock.now()))
        pe, er = t.privacy_exports, t.erasure_requests
        return {
            "profile": profile[0] if profile else None,
            "pending_email_confirmations": pending,
            "sessions": _rows(self.s, select(s.c.id, s.c.created_at, s.c.last_seen_at, s.c.expires_at, s.c.ended_at,
                                             s.c.end_reason, s.c.user_agent, s.c.client_ip)
                              .where(s.c.user_id == user_id).order_by(s.c.created_at)),
            "consents": _rows(self.s, select(c.c.analytics, c.c.policy_version, c.c.source, c.c.browser_id,
                                             c.c.created_at).where(c.c.user_id == user_id).order_by(c.c.id)),
            "policy_acceptances": _rows(self.s, select(pa.c.version, pa.c.accepted_at)
                                        .where(pa.c.user_id == user_id).order_by(pa.c.accepted_at)),
            "roles": _rows(self.s, select(r.c.role, r.c.granted_at, r.c.granted_by).where(r.c.user_id == user_id)
                           .order_by(r.c.role)),
            "mails": _rows(self.s, select(m.c.id, m.c.template, m.c.subject, m.c.to_address, m.c.policy_version,
                                          m.c.created_at, m.c.sent_at)
                           .where(m.c.user_id == user_id).order_by(m.c.created_at)),
            "privacy_requests": {
                "exports": _rows(self.s, select(pe.c.id, pe.c.status, pe.c.requested_at, pe.c.due_at,
                                                pe.c.completed_at).where(pe.c.user_id == user_id)
                                 .order_by(pe.c.requested_at)),
                "erasures": _rows(self.s, select(er.c.id, er.c.status, er.c.requested_at, er.c.completed_at,
                                                 er.c.reason).where(er.c.user_id == user_id)
                                  .order_by(er.c.requested_at)),
            },
        }

    def erase(self, user_id: str, at: datetime, throttle_key: str | None) -> None:
        """Erase or anonymize everything identity holds about the person (idempotent). The account row
        stays as a tombstone (its id is referenced, and nobody may register it again); the address is
        freed for a new account."""
        user = self.s.execute(select(t.users.c.email).where(t.users.c.id == user_id)).first()
        email = user[0] if user else None
        self.s.execute(update(t.users).where(t.users.c.id == user_id).values(
            name="", email=erased_email(user_id), phone=None, password_hash=UNUSABLE_PASSWORD,
            email_verified=False, updated_at=at))
        self.s.execute(update(t.users).where(t.users.c.id == user_id, t.users.c.erased_at.is_(None))
                       .values(erased_at=at))  # a replay keeps the first erasure's date
        self.s.execute(update(t.sessions).where(t.sessions.c.user_id == user_id).values(user_agent="", client_ip=""))
        self.s.execute(delete(t.email_tokens).where(t.email_tokens.c.user_id == user_id))
        self.s.execute(delete(t.consents).where(t.consents.c.user_id == user_id))
        self.s.execute(delete(t.policy_acceptances).where(t.policy_acceptances.c.user_id == user_id))
        self.s.execute(delete(t.user_roles).where(t.user_roles.c.user_id == user_id))
        m = t.mails
        self.s.execute(delete(m).where(m.c.user_id == user_id, m.c.sent_at.is_(None)))
        self.s.execute(update(m).where(m.c.user_id == user_id).values(to_address="", body=None))
        if throttle_key:
            stored = stored_throttle_key(self.throttle_secret, throttle_key)
            self.s.execute(delete(t.login_throttle).where(t.login_throttle.c.key == stored))
        # Events already published still sit in the outbox for a day; those about the person go now
        # (unsent ones must still be delivered; the relay forgets them a day after sending).
        o = t.outbox
        about = [o.c.body.contains(f'"subject":"{user_id}"', autoescape=True)]
        if email and not email.endswith("@erased.invalid"):
            about.append((o.c.type == "identity.login.failed")
                         & o.c.body.contains(f'"email":"{email}"', autoescape=True))
        self.s.execute(delete(o).where(o.c.sent_at.is_not(None), or_(*about)))
        forget_copies(self.s, t.outbox, t.dead_letters, user_id)  # and dead letters naming them
