"""identity's unit of work: one transaction with every repository and the outbox."""

from __future__ import annotations

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

    def _start(self) -> None:
        s = self.session
        self.users = SqlUsers(s)
        self.sessions = SqlSessions(s)
        self.policies = SqlPolicies(s)
        self.tokens = SqlTokens(s)
        self.throttle = SqlThrottle(s)
        self.consents = SqlConsents(s)
        self.mails = SqlMails(s)
        self.privacy = SqlPrivacy(s)
        self.personal_data = SqlPersonalData(s)
