"""identity's unit of work: one transaction with every repository and the outbox."""

from __future__ import annotations

from typing import Any

from services.identity.adapters.personal_data import PersonalDataRepository
from services.identity.adapters.privacy import PrivacyRepository
from services.identity.adapters.records import ConsentRepository, MailRepository, ThrottleRepository, TokenRepository
from services.identity.adapters.repositories import PolicyRepository, SessionRepository, UserRepository
from shared.uow import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    users: UserRepository
    sessions: SessionRepository
    policies: PolicyRepository
    tokens: TokenRepository
    throttle: ThrottleRepository
    consents: ConsentRepository
    mails: MailRepository
    privacy: PrivacyRepository
    personal_data: PersonalDataRepository

    def __init__(self, *args: Any, throttle_secret: bytes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttle_secret = throttle_secret  # keys the login throttle's rows (never plain digests)

    def _start(self) -> None:
        s = self.session
        self.users = UserRepository(s)
        self.sessions = SessionRepository(s)
        self.policies = PolicyRepository(s)
        self.tokens = TokenRepository(s)
        self.throttle = ThrottleRepository(s, self.throttle_secret)
        self.consents = ConsentRepository(s)
        self.mails = MailRepository(s)
        self.privacy = PrivacyRepository(s)
        self.personal_data = PersonalDataRepository(s, self.throttle_secret)
