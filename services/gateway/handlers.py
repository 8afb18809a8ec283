"""gateway's use cases: identify and admit a request (rate limits, session, CSRF, policy gate),
record its access event, check readiness. Plain functions over explicit dependencies; no Flask here."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from services.gateway.adapters.counters import RequestCounters
from services.gateway.adapters.sessions import Sessions
from services.gateway.adapters.spool import AccessSpool
from services.gateway.domain import policy
from services.gateway.domain.access_route import route_template
from services.gateway.domain.redaction import redact_query
from services.gateway.domain.routing import Route
from services.gateway.domain.sessions import SessionInfo
from shared import clock
from shared.events import signing
from shared.events.registry import latest_version
from shared.web.errors import ApiError, Forbidden, PreconditionRequired
from shared.web.identity import Identity, verify_anonymous_cookie

log = logging.getLogger(__name__)

ACCESS_EVENT = "gateway.request.completed"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


@dataclass(frozen=True)
class Caller:
    """What the gateway knows about a request before admitting it."""

    method: str
    route: Route
    client_ip: str
    request_id: str
    session_token: str | None = None
    anonymous_cookie: str | None = None
    csrf_token: str | None = None


def identify(caller: Caller, *, counters: RequestCounters, sessions: Sessions,
             secret: bytes) -> tuple[Identity, SessionInfo | None]:
    """Count the request (429 past a limit) and find who sends it: the session behind the cookie
    (or nobody: an invalid cookie means anonymous, and the service decides on 401), the signed
    anonymous browser id.

    One Redis round trip counts the request against its IP (and its user when the session is
    cached) and reads the session epoch; only a session-cache miss costs a call to identity and a
    second count, for the user.
    """
    token = caller.session_token
    cached = sessions.peek(token) if token else None
    verdict = counters.check(caller.client_ip, cached.user_id if cached else None)
    _raise_if_blocked(verdict.blocked_by, verdict.retry_after)
    session = sessions.lookup(token, verdict.epoch, caller.request_id) if token else None
    if session is not None and (cached is None or cached.user_id != session.user_id):
        late = counters.check(caller.client_ip, session.user_id, read_epoch=False, count_ip=False)
        _raise_if_blocked(late.blocked_by, late.retry_after)
    identity = Identity(
        user_id=session.user_id if session else None,
        roles=session.roles if session else frozenset(),
        session_id=session.session_id if session else None,
        anonymous_id=verify_anonymous_cookie(secret, caller.anonymous_cookie),
        request_id=caller.request_id,
        auth_time=session.auth_time if session else None,
        client_ip=caller.client_ip,
    )
    return identity, session


def enforce_session_rules(caller: Caller, session: SessionInfo | None) -> None:
    """CSRF on state changes made with a session cookie; the policy re-acceptance gate (428)."""
    if session is None:
        return
    route = caller.route
    if policy.csrf_required(caller.method, route.service, route.path) and not policy.csrf_valid(
            caller.csrf_token, session.csrf_hash):
        raise Forbidden("Send the X-CSRF-Token you got at login.", code="csrf_failed")
    if session.policy_acceptance_required and not policy.policy_gate_exempt(
            caller.method, route.service, route.path):
        raise PreconditionRequired("Accept the current privacy policy first.",
                                   code="policy_acceptance_required")


def _raise_if_blocked(blocked_by: str | None, retry_after: int) -> None:
    if blocked_by:
        raise RateLimited(f"Too many requests; try again in {retry_after} s.",
                          headers={"Retry-After": str(retry_after)})


@dataclass(frozen=True)
class Access:
    """One request as the server log records it, built when its answer is known (``api/context.close_access``)."""

    method: str
    path: str
    query: str
    client_ip: str
    user_agent: str
    request_id: str
    service: str | None = None
    identity: Identity | None = None
    status: int = 0
    bytes_sent: int | None = None
    duration_ms: float = 0.0
    traceparent: str | None = None  # the gateway's span of this request (shared/tracing.py)


UNRECORDED_MESSAGE = "The access log cannot be written right now; try again shortly."


class AccessLogUnavailable(ApiError):
    """The access event could not be made durable (spool disk full, database gone): nothing is served."""

    status, code = 503, "service_unavailable"


def record_access(spool: AccessSpool, access: Access) -> None:
    """Spool the access event before the response goes out: what is answered is recorded.

    Raises ``AccessLogUnavailable`` when the spool cannot take it; the caller answers 503 instead of
    serving an unrecorded response."""
    try:
        event_id, body = access_event(access)
        spool.write(event_id, ACCESS_EVENT, body)
    except Exception as exc:  # noqa: BLE001 - any failure of the spool means the answer cannot be recorded
        log.exception("access event not spooled; answering 503 (request %s)", access.request_id)
        raise AccessLogUnavailable(UNRECORDED_MESSAGE, headers={"Retry-After": "5"}) from exc


def access_event(access: Access) -> tuple[str, str]:
    """(event id, envelope JSON) of ``gateway.request.completed``.

    Built by hand rather than with ``shared.events.new_event``: this runs once per request, and the
    schema round trip plus ``dataclasses.asdict`` cost more than the whole spool write. Every value
    has its schema's type by construction; a unit test loads the result with the registered schema.
    """
    ident = access.identity or Identity()
    event_id = str(uuid.uuid4())
    envelope = {
        "event_id": event_id,
        "type": ACCESS_EVENT,
        "version": _access_version(),
        "occurred_at": clock.isoformat(clock.now()),
        "producer": "gateway",
        "actor": ident.actor,
        "subject": route_template(access.path),  # the route, never what a person typed (free text: payload)
        "correlation_id": access.request_id,
        "payload": {
            "method": access.method,
            "path": access.path[:2000],
            "query": redact_query(access.query)[:2000],  # never a mailed token or signature
            "status": int(access.status),
            "duration_ms": round(float(access.duration_ms), 3),
            "service": access.service,
            "user_id": ident.user_id,
            "anonymous_id": ident.anonymous_id,
            # a digest of the session id: sessions can be told apart, never used
            "session_hash": hashlib.sha256(ident.session_id.encode()).hexdigest() if ident.session_id else None,
            "user_agent": access.user_agent[:512],
            "client_ip": access.client_ip,
            "bytes_sent": access.bytes_sent,
        },
    }
    if access.traceparent:
        envelope["traceparent"] = access.traceparent
    return event_id, json.dumps(signing.sign(envelope), separators=(",", ":"))


@functools.cache
def _access_version() -> int:
    return latest_version(ACCESS_EVENT)


def readiness(checks: dict[str, Callable[[], None]], pool: ThreadPoolExecutor) -> dict[str, str]:
    """Run every check at once; ``{name: reason}`` for those that failed."""
    futures = {name: pool.submit(check) for name, check in checks.items()}
    failed = {}
    for name, future in futures.items():
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            failed[name] = getattr(exc, "message", None) or type(exc).__name__
    return failed
