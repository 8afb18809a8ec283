"""Login, logout, the gateway's session resolution, and the owner's session management."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.identity.config import Settings
from services.identity.domain.errors import InvalidCredentials, NotFound, SessionInvalid, Throttled
from services.identity.domain.model import LoginSession, User
from services.identity.domain.rules import (
    guess_delay,
    new_token,
    normalize_email,
    session_end_reason,
    token_hash,
)
from services.identity.handlers.consent import carry_browser_consent
from services.identity.handlers.ports import Counters, PasswordHasher
from shared import clock


@dataclass(frozen=True)
class LoginResult:
    token: str  # the cookie value; never stored
    csrf_token: str
    session: LoginSession
    user: User


@dataclass(frozen=True)
class LoginRequest:
    email: str
    password: str
    user_agent: str = ""
    client_ip: str = ""
    previous_session_id: str | None = None  # the session this browser had, replaced by the new one
    browser_id: str | None = None  # from the consent cookie: an anonymous choice carried into the account


def throttle_key(email: str) -> str:
    # Keyed by the address, known or not, so throttling answers alike for both (no enumeration).
    return token_hash("login:" + normalize_email(email))


def reserve_guess(uow: Any, settings: Settings, key: str, email: str) -> User | None:
    """Count this guess as failed before checking it (so parallel guesses cannot overtake the limit);
    a success resets the count. Raises ``Throttled`` while the account must wait. Returns the live
    account with this address, or None (no account, or an erased one)."""
    now = clock.now()
    with uow:
        failures, next_allowed = uow.throttle.lock(key, now)
        found = uow.users.by_email(normalize_email(email))
        user = found if found is not None and found.erased_at is None else None
        if failures >= settings.throttle_max_failures:
            _failed(uow, settings, email, user, "locked", "")
            uow.commit()
            raise Throttled("Too many failed attempts on this account. Reset your password to sign in again.",
                            retry_after=settings.throttle_max_delay)
        if next_allowed is not None and next_allowed > now:
            _failed(uow, settings, email, user, "throttled", "")
            uow.commit()
            raise Throttled("Too many failed attempts. Try again later.",
                            retry_after=int((next_allowed - now).total_seconds()) + 1)
        delay = guess_delay(failures + 1, settings.throttle_free_failures, settings.throttle_max_delay)
        uow.throttle.put(key, failures + 1, now + timedelta(seconds=delay) if delay else None, now)
        uow.commit()
    return user


def email_digest(settings: Settings, email: str) -> str:
    """A keyed digest of an address: attempts on one address can be told apart and counted in the server
    log without the log holding the address (a plain hash of an address is reversed by guessing)."""
    key = settings.common.internal_secret
    return hmac.new(key, b"login-email:" + normalize_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def _failed(uow: Any, settings: Settings, email: str, user: User | None, reason: str, client_ip: str) -> None:
    """A failed or refused login, for the server log. The address is named only when it is a live
    account's (``user``; then audit seals it under that person's key, and it goes with their erasure); an
    address that names nobody — a typo, someone else's, an erased person's — is kept only as a keyed digest."""
    uow.emit("identity.login.failed", subject=user.id if user else "unknown",
             payload={"email": normalize_email(email)[:254] if user else "",
                      "email_digest": email_digest(settings, email),
                      "user_id": user.id if user else None, "reason": reason, "client_ip": client_ip})


def check_password_guess(uow: Any, hasher: PasswordHasher, counters: Counters, settings: Settings,
                         email: str, password: str, client_ip: str) -> User:
    """The throttled password check shared by login and re-authentication."""
    if counters.ip_failures(client_ip) >= settings.ip_failure_limit:
        with uow:
            _failed(uow, settings, email, None, "ip_throttled", client_ip)
            uow.commit()
        raise Throttled("Too many failed logins from your network. Try again later.",
                        retry_after=counters.ip_retry_after(client_ip))
    user = reserve_guess(uow, settings, throttle_key(email), email)
    if user is None:
        hasher.waste_time(password)
        ok = False
    else:
        ok = hasher.verify(user.password_hash, password)
    if not ok:
        counters.add_ip_failure(client_ip, settings.ip_failure_window)
        with uow:
            _failed(uow, settings, email, user, "bad_password" if user else "unknown_email", client_ip)
            uow.commit()
        raise InvalidCredentials("Wrong email or password.")
    assert user is not None
    return user


def login(uow: Any, hasher: PasswordHasher, counters: Counters, settings: Settings,
          req: LoginRequest) -> LoginResult:
    """Check the password (throttled) and open a fresh session: a new id at every login. A cookie
    choice this browser made anonymously becomes the account's."""
    user = check_password_guess(uow, hasher, counters, settings, req.email, req.password, req.client_ip)
    new_hash = hasher.hash(req.password) if hasher.needs_rehash(user.password_hash) else None
    token, csrf = new_token(), new_token()
    now = clock.now()
    session = LoginSession(
        id=str(uuid.uuid4()), user_id=user.id, token_hash=token_hash(token), csrf_hash=token_hash(csrf),
        user_agent=req.user_agent[:512], client_ip=req.client_ip[:64], created_at=now, last_seen_at=now,
        auth_time=now, expires_at=now + timedelta(seconds=settings.session_absolute_seconds))
    replaced = False
    with uow:
        uow.throttle.put(throttle_key(req.email), 0, None, now)
        if req.previous_session_id:
            replaced = _end(uow, req.previous_session_id, "replaced")
        uow.sessions.add(session)
        if new_hash:
            uow.users.update(user.id, password_hash=new_hash)
        carry_browser_consent(uow, user.id, req.browser_id)
        uow.emit("identity.session.started", subject=user.id, actor=user.id,
                 payload={"user_id": user.id, "session_id": session.id, "user_agent": session.user_agent,
                          "client_ip": session.client_ip})
        uow.commit()
    if replaced:
        counters.bump_epoch()
    return LoginResult(token=token, csrf_token=csrf, session=session, user=user)


def _end(uow: Any, session_id: str, reason: str, user_id: str | None = None) -> bool:
    """End one open session (and say so in an event); False if it was not open."""
    session = uow.sessions.get(session_id)
    if session is None or session.ended_at is not None or (user_id and session.user_id != user_id):
        return False
    if not uow.sessions.end(session_id, clock.now(), reason):
        return False
    uow.emit("identity.session.ended", subject=session.user_id,
             payload={"user_id": session.user_id, "session_id": session_id, "reason": reason})
    return True


def logout(uow: Any, counters: Counters, session_id: str | None, user_id: str) -> None:
    """End the caller's session. Ending an already ended one is not an error: the cookie goes anyway."""
    if not session_id:
        return
    with uow:
        ended = _end(uow, session_id, "logout", user_id)
        uow.commit()
    if ended:
        counters.bump_epoch()


def resolve_session(uow: Any, read_uow: Any, counters: Counters, settings: Settings,
                    token: str) -> dict[str, Any]:
    """What the gateway needs to know about a cookie, or ``SessionInvalid``.

    Mostly a read: ``last_seen_at`` is written only when it is older than a small fraction of the
    idle timeout, so a busy session costs no write per request; an expired session is ended here.
    """
    now = clock.now()
    idle = timedelta(seconds=settings.session_idle_seconds)
    with read_uow:
        session = read_uow.sessions.by_token_hash(token_hash(token))
        if session is None or session.ended_at is not None:
            raise SessionInvalid("The session is unknown or has ended.")
        user = read_uow.users.get(session.user_id)
        reason = session_end_reason(now, session.last_seen_at, session.expires_at, idle)
        if user is None or user.erased_at is not None:
            reason = reason or "account_closed"
        required = False if reason else read_uow.policies.acceptance_required(session.user_id)
    if reason:
        with uow:
            ended = _end(uow, session.id, reason)
            uow.commit()
        if ended:
            counters.bump_epoch()
        raise SessionInvalid("The session is unknown or has ended.")
    last_seen = session.last_seen_at
    if now - last_seen >= min(timedelta(seconds=60), idle / 10):
        with uow:
            uow.sessions.touch(session.id, now)
            uow.commit()
        last_seen = now
    assert user is not None
    return {
        "session_id": session.id,
        "user_id": session.user_id,
        "roles": sorted(user.roles),
        "csrf_hash": session.csrf_hash,
        "auth_time": int(session.auth_time.timestamp()),
        "policy_acceptance_required": required,
        "valid_until": int(min(session.expires_at, last_seen + idle).timestamp()),
    }


def list_sessions(uow: Any, user_id: str, current_session_id: str | None) -> list[dict[str, Any]]:
    with uow:
        sessions = uow.sessions.active_for_user(user_id)
    return [{"id": s.id, "user_agent": s.user_agent, "client_ip": s.client_ip, "created_at": s.created_at,
             "last_seen_at": s.last_seen_at, "expires_at": s.expires_at, "current": s.id == current_session_id}
            for s in sessions]


def revoke_session(uow: Any, counters: Counters, user_id: str, session_id: str) -> None:
    """The owner ends one of their sessions (another device, or this one)."""
    with uow:
        if not _end(uow, session_id, "revoked", user_id):
            raise NotFound("No such open session.")
        uow.commit()
    counters.bump_epoch()


def end_user_sessions(uow: Any, user_id: str, reason: str, keep: str | None = None) -> int:
    """End every open session of a user but ``keep``; call inside an open unit of work."""
    count = 0
    for session in uow.sessions.active_for_user(user_id):
        if session.id != keep and _end(uow, session.id, reason):
            count += 1
    return count


def revoke_other_sessions(uow: Any, counters: Counters, user_id: str, current_session_id: str | None) -> int:
    with uow:
        count = end_user_sessions(uow, user_id, "revoked", keep=current_session_id)
        uow.commit()
    if count:
        counters.bump_epoch()
    return count


def revoke_all_sessions(uow: Any, counters: Counters, user_id: str) -> int:
    """An admin ends every session of a user (a stolen laptop, a leaving employee)."""
    with uow:
        if uow.users.get(user_id) is None:
            raise NotFound("No such account.")
        count = end_user_sessions(uow, user_id, "admin_revoked")
        uow.commit()
    if count:
        counters.bump_epoch()
    return count
