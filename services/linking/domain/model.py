"""Companies, their members and link requests: plain data and the rules that govern them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.linking.domain import errors


class Role(StrEnum):
    MANAGER = "manager"
    MEMBER = "member"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Caller:
    """Who is asking, as far as linking's rules care: a user id and whether they administer the portal."""

    user_id: str
    is_admin: bool = False


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    domain: str | None
    primary_contact_user_id: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    company_id: str
    user_id: str
    role: Role
    joined_at: datetime

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


@dataclass(frozen=True)
class Contact:
    """The contact details a requester agrees to share with a company's managers, and nothing more."""

    user_id: str
    name: str
    email: str
    phone: str | None

    @property
    def categories(self) -> list[str]:
        """The data categories actually disclosed (a missing phone is not disclosed)."""
        return ["name", "email"] + (["phone"] if self.phone else [])


@dataclass(frozen=True)
class LinkRequest:
    id: str
    company_id: str
    user_id: str
    status: RequestStatus
    message: str | None
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None

    def decide(self, status: RequestStatus, by: str, at: datetime, reason: str | None = None) -> LinkRequest:
        """Move a pending request to its final state; a decided request never changes again."""
        if self.status is not RequestStatus.PENDING:
            raise errors.RequestNotPending(f"This link request is already {self.status.value}.")
        return replace(self, status=status, decided_by=by, decided_at=at, reason=reason)


def can_manage(caller: Caller, membership: Member | None) -> bool:
    return caller.is_admin or (membership is not None and membership.is_manager)


def ensure_can_manage(caller: Caller, membership: Member | None) -> None:
    if not can_manage(caller, membership):
        raise errors.NotAManager("Only this company's managers may do this.")


def check_removal(company: Company, target: Member, managers: int) -> None:
    """A company always keeps its primary contact, and with it at least one manager."""
    if target.user_id == company.primary_contact_user_id:
        raise errors.PrimaryContactProtected(
            "The primary contact cannot leave or be removed; transfer the primary contact first.")
    if target.is_manager and managers <= 1:
        raise errors.LastManager("A company keeps at least one manager.")


def check_role_change(company: Company, target: Member, role: Role, managers: int) -> None:
    if role is Role.MEMBER and target.is_manager:
        if target.user_id == company.primary_contact_user_id:
            raise errors.PrimaryContactProtected(
                "The primary contact is always a manager; transfer the primary contact first.")
        if managers <= 1:
            raise errors.LastManager("A company keeps at least one manager.")


def normalize_name(name: str) -> str:
    """The key companies are unique and searched by: case and inner whitespace do not matter."""
    return " ".join(name.split()).casefold()
