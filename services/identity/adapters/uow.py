"""identity's unit of work: one transaction with every repository and the outbox."""

from __future__ import annotations

from typing import Any

from services.identity.adapters.personal_data import SqlPersonalData
from services.identity.adapters.privacy import SqlPrivacy
from services.identity.adapters.records import SqlConsents, SqlMails, SqlThrottle, SqlTokens
from services.identity.adapters.repositories import SqlPolicies, SqlSessions, SqlUsers
from shared.uow import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    users: SqlUsers
    sessions: SqlSessions
    policies: SqlPolicies
    tokens: SqlTokens
    throttle: SqlThrottle
    consents: SqlConsents
    mails: SqlMails
    privacy: SqlPrivacy
    personal_data: SqlPersonalData

    def __init__(self, *args: Any, throttle_secret: bytes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttle_secret = throttle_secret  # keys the login throttle's rows (never plain digests)

    def _start(self) -> None:
        s = self.session
        self.users = SqlUsers(s)
        self.sessions = SqlSessions(s)
        self.policies = SqlPolicies(s)
        self.tokens = SqlTokens(s)
        self.throttle = SqlThrottle(s, self.throttle_secret)
        self.consents = SqlConsents(s)
        self.mails = SqlMails(s)
        self.privacy = SqlPrivacy(s)
        self.personal_data = SqlPersonalData(s, self.throttle_secret)
