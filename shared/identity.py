"""Who a use case acts for: the value every unit of work, handler and worker carries, free of Flask.

HTTP requests get it from the signed headers (``shared/web/identity.py``); workers build one for the
system actor they run as (``Identity(user_id="system:<service>", request_id=<correlation id>)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Identity:
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    anonymous_id: str | None = None
    request_id: str | None = None  # the correlation id of the events the use case emits
    auth_time: float | None = None  # when the session last proved the password (epoch seconds)
    client_ip: str = ""

    @property
    def actor(self) -> str:
        if self.user_id:
            return self.user_id
        if self.anonymous_id:
            return f"anonymous:{self.anonymous_id}"
        return "anonymous"

    @property
    def is_system(self) -> bool:
        return bool(self.user_id and self.user_id.startswith("system:"))

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
