from __future__ import annotations

import pytest

from shared.identity import Identity
from tests.unit.content.fakes import FakeStorage, FakeUnitOfWork, State

ANON = Identity(request_id="req-anon")
USER = Identity(user_id="u-user", request_id="req-user")
MEMBER = Identity(user_id="u-member", request_id="req-member")
OTHER = Identity(user_id="u-other", request_id="req-other")
EDITOR = Identity(user_id="u-editor", roles=frozenset({"editor"}), request_id="req-editor")
SUPPORT = Identity(user_id="u-support", roles=frozenset({"support"}), request_id="req-support")
SUPPORT2 = Identity(user_id="u-support2", roles=frozenset({"support"}), request_id="req-support2")
ADMIN = Identity(user_id="u-admin", roles=frozenset({"admin"}), request_id="req-admin")


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def uow(state):
    """``uow(identity)``: a fake unit of work acting for that caller on the shared state."""
    return lambda identity=ANON: FakeUnitOfWork(state, identity)


@pytest.fixture
def storage() -> FakeStorage:
    return FakeStorage()
