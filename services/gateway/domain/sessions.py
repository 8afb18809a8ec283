"""A session as identity resolves it (``POST /internal/sessions/resolve``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class MalformedSession(ValueError):
    """identity answered 200 with a body the gateway cannot use."""


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    user_id: str
    roles: frozenset[str]
    csrf_hash: str
    auth_time: float | None
    policy_acceptance_required: bool
    valid_until: float | None = None  # when the session ends unless used (identity's clock, epoch seconds)

    @classmethod
    def from_resolve(cls, body: Any) -> SessionInfo:
        try:
            roles = body.get("roles") or []
            auth_time = body.get("auth_time")
            valid_until = body.get("valid_until")
            info = cls(
                session_id=str(body["session_id"]),
                user_id=str(body["user_id"]),
                roles=frozenset(str(r) for r in roles),
                csrf_hash=str(body.get("csrf_hash") or ""),
                auth_time=float(auth_time) if auth_time is not None else None,
                policy_acceptance_required=bool(body.get("policy_acceptance_required", False)),
                valid_until=float(valid_until) if valid_until is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise MalformedSession(f"unusable session resolve body: {type(exc).__name__}") from exc
        if not info.session_id or not info.user_id:
            raise MalformedSession("session resolve body without session_id or user_id")
        return info
