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
from services.identity.handlers.ports import Counters, IdentityUow, PasswordHasher
from shared import clock


@dataclass(frozen=True)
class LoginResult:
    token: str  # the cookie value; never stored
    csrf_token: str
    session: LoginSession
    user: User
    device: Device  # what the browser's device cookie names from now on


@dataclass(frozen=True)
class Device:
    """A browser that logged in to this account before, as its signed device cookie says."""

    user_id: str
    nonce: str


@dataclass(frozen=True)
class LoginRequest:
    email: str
    password: str
    user_agent: str = ""
    client_ip: str = ""
    previous_session_id: str | None = None  # the session this browser had, replaced by the new one
    browser_id: str | None = None  # from the consent cookie: an anonymous choice carried into the account
    device: Device | None = None  # from the device cookie, if the browser sent a valid one


@dataclass(frozen=True)
class Guess:
    """A password guess that was right: the account, and the throttle rows it was counted on (a success
    clears them)."""

    user: User
    keys: tuple[str, ...]
    device: Device | None  # the known device it came from (None: an unknown client)


def throttle_key(email: str) -> str:
    # Keyed by the address, known or not, so throttling answers alike for both (no enumeration).
    return token_hash("login:" + normalize_email(email))


def client_throttle_key(email: str, client_ip: str) -> str:
    """One unknown client's guesses on one address."""
    return token_hash(f"login:{normalize_email(email)}\nclient:{client_ip}")


def device_throttle_key(email: str, device: Device) -> str:
    """One known device's guesses on one address."""
    return token_hash(f"login:{normalize_email(email)}\ndevice:{device.nonce}")


def _refusal(settings: Settings, failures: int, next_allowed: Any, now: Any) -> tuple[str, int] | None:
    """Why a guess counted on a row with this state must wait (reason, seconds), or None."""
    if next_allowed is None or next_allowed <= now:
        return None
    wait = int((next_allowed - now).total_seconds()) + 1
    return ("locked" if failures >= settings.throttle_max_failures else "throttled"), wait


def _counted(settings: Settings, failures: int, next_allowed: Any, now: Any, delays: bool) -> tuple[int, Any]:
    """The row's state once this guess is counted (as failed until it proves right)."""
    if failures >= settings.throttle_max_failures:  # a lock that has lifted: counting starts again
        failures = 0
    failures += 1
    if failures >= settings.throttle_max_failures:
        return failures, now + timedelta(seconds=settings.throttle_lock_seconds)
    delay = guess_delay(failures, settings.throttle_free_failures, settings.throttle_max_delay) if delays else 0
    return failures, (now + timedelta(seconds=delay) if delay else None)


def reserve_guess(uow: IdentityUow, settings: Settings, email: str, client_ip: str,
                  device: Device | None = None) -> tuple[User | None, tuple[str, ...], Device | None]:
    """Count this guess as failed before checking it (so parallel guesses cannot overtake the limit);
    a success clears what it was counted on. Raises ``Throttled`` while it must wait.

    Who is guessing decides where it counts (OWASP, "Blocking Brute Force Attacks", device cookies): a
    browser holding a device cookie of this account counts on its own row only, so strangers hammering
    the address never lock its owner out of a browser they logged in from before. Any other client counts
    on its own row for this address (delays doubling after a few failures) and on the address's row for
    all unknown clients together (a lock for ``throttle_lock_seconds`` after ``throttle_max_failures``,
    which lifts by itself). Returns the live account with this address or None, the rows counted on, and
    the device if it is one of this account's."""
    now = clock.now()
    with uow:
        found = uow.users.by_email(normalize_email(email))
        user = found if found is not None and found.erased_at is None else None
        known = device if device is not None and user is not None and device.user_id == user.id else None
        if known is not None:
            keys: tuple[str, ...] = (device_throttle_key(email, known),)
            delays: tuple[bool, ...] = (True,)
        else:
            keys = (client_throttle_key(email, client_ip), throttle_key(email))
            delays = (True, False)
        rows = uow.throttle.lock(keys, now)
        for failures, next_allowed in rows:
            refused = _refusal(settings, failures, next_allowed, now)
            if refused is not None:
                reason, wait = refused
                _failed(uow, settings, email, user, reason, client_ip)
                uow.commit()
                raise Throttled("Too many failed attempts. Try again later.", retry_after=wait)
        uow.throttle.put([(key, *_counted(settings, failures, next_allowed, now, with_delays))
                          for key, (failures, next_allowed), with_delays in zip(keys, rows, delays, strict=True)],
                         now)
        uow.commit()
    return user, keys, known


def clear_guesses(uow: IdentityUow, keys: tuple[str, ...], now: Any) -> None:
    """Inside the caller's unit of work: a right password clears the rows its guess was counted on."""
    uow.throttle.clear(keys, now)


def email_digest(settings: Settings, email: str) -> str:
    """A keyed digest of an address: attempts on one address can be told apart and counted in the server
    log without the log holding the address (a plain hash of an address is reversed by guessing)."""
    key = settings.common.internal_secret
    return hmac.new(key, b"login-email:" + normalize_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def _failed(uow: IdentityUow, settings: Settings, email: str, user: User | None, reason: str, client_ip: str) -> None:
    """A failed or refused login, for the server log. The address is named only when it is a live
    account's (``user``; then audit seals it under that person's key, and it goes with their erasure); an
    address that names nobody — a typo, someone else's, an erased person's — is kept only as a keyed digest."""
    uow.emit("identity.login.failed", subject=user.id if user else "unknown",
             payload={"email": normalize_email(email)[:254] if user else "",
                      "email_digest": email_digest(settings, email),
                      "user_id": user.id if user else None, "reason": reason, "client_ip": client_ip})


def check_password_guess(uow: IdentityUow, hasher: PasswordHasher, counters: Counters, settings: Settings,
                         email: str, password: str, client_ip: str, device: Device | None = None) -> Guess:
    """The throttled password check shared by login, re-authentication and a password change."""
    if counters.ip_failures(client_ip) >= settings.ip_failure_limit:
        with uow:
            _failed(uow, settings, email, None, "ip_throttled", client_ip)
            uow.commit()
        raise Throttled("Too many failed logins from your network. Try again later.",
                        retry_after=counters.ip_retry_after(client_ip))
    user, keys, known = reserve_guess(uow, settings, email, client_ip, device)
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
    return Guess(user=user, keys=keys, device=known)


def login(uow: IdentityUow, hasher: PasswordHasher, counters: Counters, settings: Settings,
          req: LoginRequest) -> LoginResult:
    """Check the password (throttled) and open a fresh session: a new id at every login. A cookie
    choice this browser made anonymously becomes the account's. The result names the browser's device
    (its known one, or a new one) for the device cookie."""
    guess = check_password_guess(uow, hasher, counters, settings, req.email, req.password, req.client_ip,
                                 req.device)
    user = guess.user
    new_hash = hasher.hash(req.password) if hasher.needs_rehash(user.password_hash) else None
    token, csrf = new_token(), new_token()
    now = clock.now()
    session = LoginSession(
        id=str(uuid.uuid4()), user_id=user.id, token_hash=token_hash(token), csrf_hash=token_hash(csrf),
        user_agent=req.user_agent[:512], client_ip=req.client_ip[:64], created_at=now, last_seen_at=now,
        auth_time=now, expires_at=now + timedelta(seconds=settings.session_absolute_seconds))
    replaced = False
    with uow:
        clear_guesses(uow, guess.keys, now)
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
    device = guess.device or Device(user_id=user.id, nonce=new_token())
    return LoginResult(token=token, csrf_token=csrf, session=session, user=user, device=device)


def _end(uow: IdentityUow, session_id: str, reason: str, user_id: str | None = None) -> bool:
    """End one open session (and say so in an event); False if it was not open."""
    session = uow.sessions.get(session_id)
    if session is None or session.ended_at is not None or (user_id and session.user_id != user_id):
        return False
    if not uow.sessions.end(session_id, clock.now(), reason):
        return False
    uow.emit("identity.session.ended", subject=session.user_id,
             payload={"user_id": session.user_id, "session_id": session_id, "reason": reason})
    return True


def logout(uow: IdentityUow, counters: Counters, session_id: str | None, user_id: str) -> None:
    """End the caller's session. Ending an already ended one is not an error: the cookie goes anyway."""
    if not session_id:
        return
    with uow:
        ended = _end(uow, session_id, "logout", user_id)
        uow.commit()
    if ended:
        counters.bump_epoch()


def resolve_session(uow: IdentityUow, read_uow: IdentityUow, counters: Counters, settings: Settings,
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


def list_sessions(uow: IdentityUow, user_id: str, current_session_id: str | None) -> list[dict[str, Any]]:
    with uow:
        sessions = uow.sessions.active_for_user(user_id)
    return [{"id": s.id, "user_agent": s.user_agent, "client_ip": s.client_ip, "created_at": s.created_at,
             "last_seen_at": s.last_seen_at, "expires_at": s.expires_at, "current": s.id == current_session_id}
            for s in sessions]


def revoke_session(uow: IdentityUow, counters: Counters, user_id: str, session_id: str) -> None:
    """The owner ends one of their sessions (another device, or this one)."""
    with uow:
        if not _end(uow, session_id, "revoked", user_id):
            raise NotFound("No such open session.")
        uow.commit()
    counters.bump_epoch()


def end_user_sessions(uow: IdentityUow, user_id: str, reason: str, keep: str | None = None) -> int:
    """End every open session of a user but ``keep``; call inside an open unit of work."""
    count = 0
    for session in uow.sessions.active_for_user(user_id):
        if session.id != keep and _end(uow, session.id, reason):
            count += 1
    return count


def revoke_other_sessions(uow: IdentityUow, counters: Counters, user_id: str, current_session_id: str | None) -> int:
    with uow:
        count = end_user_sessions(uow, user_id, "revoked", keep=current_session_id)
        uow.commit()
    if count:
        counters.bump_epoch()
    return count


def revoke_all_sessions(uow: IdentityUow, counters: Counters, user_id: str) -> int:
    """An admin ends every session of a user (a stolen laptop, a leaving employee)."""
    with uow:
        if uow.users.get(user_id) is None:
            raise NotFound("No such account.")
        count = end_user_sessions(uow, user_id, "admin_revoked")
        uow.commit()
    if count:
        counters.bump_epoch()
    return count
