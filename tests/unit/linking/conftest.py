from __future__ import annotations

import pytest

from services.linking.domain.model import Caller, Company, Contact
from services.linking.domain.users import UserRecord
from services.linking.handlers import companies, link_requests
from shared import clock
from tests.unit.linking.fakes import FakeDirectory, FakeUnitOfWork

ADMIN = Caller("admin-1", is_admin=True)
PRIMARY = Caller("primary-1")


def contact(user_id: str, phone: str | None = "+32 2 555 01 01") -> Contact:
    return Contact(user_id=user_id, name=f"Person {user_id}", email=f"{user_id}@example.test", phone=phone)


def know(uow: FakeUnitOfWork, *users: Contact) -> None:
    """Put people in the users projection, as identity's events would."""
    now = clock.now()
    for c in users:
        uow.state.users[c.user_id] = UserRecord(c.user_id, c.name, c.email, c.phone, now, now, now)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory(contact(PRIMARY.user_id))


@pytest.fixture
def company(uow: FakeUnitOfWork, directory: FakeDirectory) -> Company:
    created = companies.create_company(
        companies.CreateCompany(name="Acme Corp", domain="acme.test", primary_contact_user_id=PRIMARY.user_id),
        ADMIN, uow, directory)
    uow.committed.clear()
    return created


def ask(uow: FakeUnitOfWork, directory: FakeDirectory, company: Company, user_id: str, message: str | None = None):
    know(uow, contact(user_id))
    directory.contacts.setdefault(user_id, contact(user_id))  # identity knows them, their address confirmed
    return link_requests.request_link(link_requests.RequestLink(company.id, True, message), Caller(user_id), uow,
                                      directory)


def join(uow: FakeUnitOfWork, directory: FakeDirectory, company: Company, user_id: str) -> None:
    request = ask(uow, directory, company, user_id)
    link_requests.approve_link_request(request.id, PRIMARY, uow)
    uow.committed.clear()
