"""Who is asking, as far as content's rules care."""

from __future__ import annotations

from dataclasses import dataclass, field

EDITOR = "editor"
SUPPORT = "support"
ADMIN = "admin"


@dataclass(frozen=True)
class Viewer:
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    company_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_editor(self) -> bool:
        return self.logged_in and EDITOR in self.roles

    @property
    def handles_queries(self) -> bool:
        return self.logged_in and bool(self.roles & {SUPPORT, ADMIN})

    @property
    def is_admin(self) -> bool:
        return self.logged_in and ADMIN in self.roles
