"""In-memory stand-ins for the gateway's ports (counters, identity's resolve endpoint)."""

from __future__ import annotations

from services.gateway.adapters.counters import Verdict
from services.gateway.domain.sessions import SessionInfo


class FakeCounters:
    def __init__(self, epoch: str | None = "0") -> None:
        self.epoch = epoch
        self.calls: list[tuple[str, str | None, bool, bool]] = []
        self.block: dict[str, int] = {}  # "ip"/"user" -> retry_after

    def check(self, ip, user_id, *, read_epoch=True, count_ip=True) -> Verdict:
        self.calls.append((ip, user_id, read_epoch, count_ip))
        if count_ip and "ip" in self.block:
            return Verdict(epoch=None, blocked_by="ip", retry_after=self.block["ip"])
        if user_id and "user" in self.block:
            return Verdict(epoch=None, blocked_by="user", retry_after=self.block["user"])
        return Verdict(epoch=self.epoch if read_epoch else None)


class FakeResolver:
    def __init__(self, sessions: dict[str, SessionInfo] | None = None, down: bool = False) -> None:
        self.sessions = dict(sessions or {})
        self.down = down
        self.calls: list[str] = []

    def resolve(self, token, request_id):
        from shared.web.errors import Unavailable

        self.calls.append(token)
        if self.down:
            raise Unavailable("The identity service is unavailable.")
        return self.sessions.get(token)


def session(user_id: str = "u1", **overrides) -> SessionInfo:
    import hashlib

    values = dict(session_id=f"s-{user_id}", user_id=user_id, roles=frozenset({"support"}),
                  csrf_hash=hashlib.sha256(b"csrf-ok").hexdigest(), auth_time=1_700_000_000.0,
                  policy_acceptance_required=False)
    values.update(overrides)
    return SessionInfo(**values)
