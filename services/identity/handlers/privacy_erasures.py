"""Erasure (the right to be forgotten), legal holds and the erasure ledger.

identity owns the request: it checks the re-authentication and the legal holds, erases its own data
at once (the person can no longer log in), records the request in the ledger and announces it with
``identity.privacy.erasure_requested``. Every other service answers with
``<service>.privacy.erasure_completed``; the request is ``completed`` when all have answered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.identity.config import Settings
from services.identity.domain import errors
from services.identity.domain.privacy import (
    IDENTITY,
    IDENTITY_ERASED,
    IDENTITY_KEPT,
    PENDING,
    WITHHELD,
    ErasureRequest,
    ErasureResult,
    Kept,
    LedgerEntry,
    LegalHold,
    withheld_reason,
)
from services.identity.handlers.ports import Counters, ErasureLedgerCopy, IdentityUow
from services.identity.handlers.reauth import check_recent_auth
from services.identity.handlers.sessions import end_user_sessions, throttle_key
from shared import clock
from shared.identity import Identity
from shared.leftovers import checkpoint_wal, engine_of
from shared.uow import RecordConflict


def request_erasure(uow: IdentityUow, counters: Counters, settings: Settings, ledger_file: ErasureLedgerCopy, *,
                    user_id: str, session_id: str | None, mailer: Any = None) -> ErasureRequest:
    """Erase me everywhere: needs a recent re-authentication; withheld while a legal hold stands. After the
    commit, the copies outside the tables go too: the mails spooled to the person's address (``mailer``),
    the pages the WAL still holds, and the gateway's spool (told through ``counters.announce_erased``)."""
    now = clock.now()
    address = ""
    try:
        with uow:
            bind = engine_of(uow)
            if uow.privacy.running_erasure_of(user_id) is not None:  # e.g. a second click racing the first
                raise errors.ErasureRunning("Your erasure is already under way.")
            user = uow.users.get(user_id)
            if user is None or user.erased_at is not None:
                raise errors.NotFound("No such account.")
            check_recent_auth(uow, settings, user_id=user_id, session_id=session_id, now=now)
            request = ErasureRequest(id=str(uuid.uuid4()), user_id=user_id, status=PENDING, requested_at=now)
            holds = [h for h in uow.privacy.holds_of(user_id) if h.active(now)]
            if holds:
                request.status = WITHHELD
                request.reason, request.hold_until = withheld_reason(holds)
                uow.privacy.add_erasure(request)
                uow.emit("identity.privacy.erasure_withheld", subject=user_id, payload={
                    "request_id": request.id, "user_id": user_id, "hold_ids": [h.id for h in holds]})
                uow.commit()
                return request
            uow.privacy.add_erasure(request)
            address = user.email
            erase_own_data(uow, user_id, now)
            uow.privacy.add_result(request.id, ErasureResult(IDENTITY, IDENTITY_ERASED, IDENTITY_KEPT, now))
            entry = LedgerEntry(request_id=request.id, user_id=user_id, requested_at=now)
            uow.privacy.add_ledger_entry(entry)
            uow.emit("identity.privacy.erasure_requested", subject=user_id,
                     payload={"request_id": request.id, "user_id": user_id})
            _complete_if_answered(uow, request.id, user_id, settings.privacy_services)
            uow.commit()
    except RecordConflict as exc:  # a concurrent request won the one-running-erasure index
        raise errors.ErasureRunning("Your erasure is already under way.") from exc
    counters.bump_epoch()  # every session ended: the gateway must forget its cached ones now
    ledger_file.append(entry)
    counters.announce_erased(user_id)
    if mailer is not None and address:
        mailer.forget(address)
    if bind is not None:
        checkpoint_wal(bind)
    return request


def erase_own_data(uow: IdentityUow, user_id: str, at: datetime) -> int:
    """identity's part, inside the caller's unit of work (idempotent): every session ends, the profile
    and everything personal goes; the account id stays as a tombstone. Returns the sessions ended."""
    user = uow.users.get(user_id)
    if user is None:
        return 0
    ended = end_user_sessions(uow, user_id, "account_erased")
    key = throttle_key(user.email) if user.erased_at is None else None
    uow.personal_data.erase(user_id, at, key)
    uow.privacy.delete_exports_of(user_id)
    return ended


def record_erasure_answer(uow: IdentityUow, services: Iterable[str], *, service: str, request_id: str, user_id: str,
                          erased: list[str], kept: list[Kept]) -> bool:
    """A service reports what it erased and kept. The first answer per service stands (replays answer
    again); the request completes once every service has answered. Returns whether it completed now."""
    with uow:
        request = uow.privacy.erasure(request_id, lock=True)
        if request is None or request.user_id != user_id:
            raise errors.UnknownErasureRequest(f"{service} answered erasure {request_id}, which identity does not know")
        if request.status == WITHHELD:
            return False
        uow.privacy.add_result(request_id, ErasureResult(service, erased, kept, clock.now()))
        done = _complete_if_answered(uow, request_id, user_id, services)
        uow.commit()
    return done


def _complete_if_answered(uow: IdentityUow, request_id: str, user_id: str, services: Iterable[str]) -> bool:
    request = uow.privacy.erasure(request_id)
    if request is None:  # the caller read it under the lock, in this transaction
        return False
    answered = set(request.results)
    if request.status != PENDING or not {IDENTITY, *services} <= answered:
        return False
    now = clock.now()
    if not uow.privacy.complete_erasure(request_id, now):
        return False
    uow.privacy.ledger_completed(request_id, now)
    uow.emit("identity.privacy.erasure_completed", subject=user_id, actor="system:identity",
             payload={"request_id": request_id, "user_id": user_id, "services": sorted(answered)})
    return True


def erasure_status(uow: IdentityUow, *, request_id: str, viewer: Identity, services: Iterable[str]) -> dict[str, Any]:
    """The request's status and every service's results. The owner and compliance staff may read it;
    once the account is erased (its owner can no longer log in), so may whoever holds the request's
    id — a random UUID only the person was given. The view names no one."""
    with uow:
        request = uow.privacy.erasure(request_id)
        user = uow.users.get(request.user_id) if request else None
    if request is None:
        raise errors.ErasureNotFound("No such erasure request.")
    erased_account = user is None or user.erased_at is not None
    if not (viewer.user_id == request.user_id or viewer.has_role("compliance") or erased_account):
        raise errors.ErasureNotFound("No such erasure request.")
    waiting = [] if request.status != PENDING else [s for s in (IDENTITY, *services) if s not in request.results]
    return {
        "id": request.id, "status": request.status, "requested_at": request.requested_at,
        "completed_at": request.completed_at, "reason": request.reason, "until": request.hold_until,
        "waiting_for": waiting,
        "results": {name: {"erased": r.erased, "kept": [k.to_dict() for k in r.kept], "answered_at": r.answered_at}
                    for name, r in request.results.items()},
    }


# --- the ledger ------------------------------------------------------------------------------------------

def replay_erasures(uow: IdentityUow, counters: Counters, ledger_file: ErasureLedgerCopy, *,
                    actor: str = "system:cli") -> list[LedgerEntry]:
    """After a restore from backup: re-apply every erasure in the ledger (the table and its copy in the
    ledger file, so a restored identity database that lost rows still replays them). identity erases
    its own data again and announces ``identity.privacy.erasure_replayed``, which every service handles
    like the original request. Idempotent; returns the entries replayed."""
    entries = {e.request_id: e for e in ledger_file.entries()}
    in_file = set(entries)
    with uow:
        for entry in uow.privacy.ledger():
            entries[entry.request_id] = entry
    ended = 0
    now = clock.now()
    for entry in sorted(entries.values(), key=lambda e: (e.requested_at, e.request_id)):
        with uow:
            uow.privacy.add_ledger_entry(entry)  # restores a row the restore lost
            ended += erase_own_data(uow, entry.user_id, now)
            _restore_request(uow, entry, now)
            uow.privacy.ledger_replayed(entry.request_id, now)
            uow.emit("identity.privacy.erasure_replayed", subject=entry.user_id, actor=actor,
                     payload={"request_id": entry.request_id, "user_id": entry.user_id})
            uow.commit()
        if entry.request_id not in in_file:
            ledger_file.append(entry)
    if ended:
        counters.bump_epoch()
    for entry in entries.values():
        counters.announce_erased(entry.user_id)
    return list(entries.values())


def _restore_request(uow: IdentityUow, entry: LedgerEntry, now: datetime) -> None:
    """A restored database may predate the request: bring its record back (pending until the services
    answer the replay), so its status can complete again."""
    if uow.privacy.erasure(entry.request_id) is not None or uow.users.get(entry.user_id) is None:
        return
    uow.privacy.add_erasure(ErasureRequest(id=entry.request_id, user_id=entry.user_id, status=PENDING,
                                           requested_at=entry.requested_at))
    uow.privacy.add_result(entry.request_id, ErasureResult(IDENTITY, IDENTITY_ERASED, IDENTITY_KEPT, now))


# --- legal holds -------------------------------------------------------------------------------------------

def place_hold(uow: IdentityUow, *, owner_id: str, user_id: str, reason: str, until: datetime | None) -> LegalHold:
    """Compliance stops a person's erasure (and audit's retention of their events) for a legal reason."""
    reason = reason.strip()
    if len(reason) < 3:
        raise errors.Invalid("Say why the data must be kept.", fields={"reason": ["At least 3 characters."]})
    now = clock.now()
    if until is not None and until <= now:
        raise errors.Invalid("A hold's end must be in the future.", fields={"until": ["Must be in the future."]})
    with uow:
        if uow.users.get(user_id) is None:
            raise errors.Invalid("Some fields are invalid.", fields={"user_id": ["Unknown user."]})
        hold = LegalHold(id=str(uuid.uuid4()), user_id=user_id, reason=reason, until=until, owner_id=owner_id,
                         placed_at=now)
        uow.privacy.add_hold(hold)
        uow.emit("identity.privacy.hold_placed", subject=user_id, actor=owner_id, payload={
            "hold_id": hold.id, "user_id": user_id, "reason": reason,
            "until": clock.isoformat(until) if until else None, "owner_id": owner_id})
        uow.commit()
    return hold


def release_hold(uow: IdentityUow, *, hold_id: str, released_by: str) -> None:
    """End a hold (idempotent: releasing a released hold changes nothing and says so in no event)."""
    with uow:
        hold = uow.privacy.hold(hold_id)
        if hold is None:
            raise errors.HoldNotFound("No such legal hold.")
        if uow.privacy.release_hold(hold_id, clock.now(), released_by):
            uow.emit("identity.privacy.hold_released", subject=hold.user_id, actor=released_by,
                     payload={"hold_id": hold_id, "user_id": hold.user_id, "released_by": released_by})
        uow.commit()


def list_holds(uow: IdentityUow, *, user_id: str | None, include_released: bool) -> list[LegalHold]:
    now = clock.now()
    with uow:
        holds = uow.privacy.holds_of(user_id)
    return [h for h in holds if include_released or h.active(now)]

