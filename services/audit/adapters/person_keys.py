"""Per-person keys (``audit_person_keys``) and reading sealed rows back.

Each person's AES-256-GCM key is stored wrapped (encrypted) under the wrap key, which never lives in the
database (``PORTAL_AUDIT_KEY_WRAP_KEY``, else derived from the signing key). Erasure destroys the
wrapped key and keeps a tombstone row, so a later event about the person is sealed under a throwaway key
and reads ``[erased]`` too. Keys are loaded once per batch or page (one query), never per event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.audit.adapters import tables
from services.audit.adapters.sealed_text import (
    SEALED_PARTS,
    SEALED_TOKEN,
    SEALED_VALUE,
    carried_values,
    open_own,
    open_parts,
    opener,
    sealed_payload,
)
from services.audit.domain import sealing, signing
from services.audit.domain.chain import canonical_payload

K = tables.person_keys
log = logging.getLogger(__name__)
# Unwrapped ciphers by person, with the wrapped text they came from: every batch still reads the wrapped
# keys (so a key destroyed by any process is seen at once), but unwrapping is skipped when the wrapped
# text is the one already unwrapped (unwrapping every person of every batch cost ~5 µs per event).
_UNWRAPPED: dict[str, tuple[str, AESGCM]] = {}
_UNWRAPPED_MAX = 20_000
_KEYS_ANY = "SELECT person, wrapped, key_id FROM audit_person_keys WHERE person = ANY(%s)"


class KeyUnavailable(RuntimeError):
    """A person's key is wrapped under a wrap key this process does not have (a rotation half done)."""


class PersonKeys:
    def __init__(self, session: Session, wrap_key: bytes, previous_wrap_keys: Sequence[bytes] = ()) -> None:
        self.session = session
        self.wrap = AESGCM(wrap_key)
        self.wrap_id = signing.secret_key_id(wrap_key)
        # Every wrap key this process may open person keys with, by key id (the current one included).
        self.wraps = {signing.secret_key_id(k): AESGCM(k) for k in previous_wrap_keys}
        self.wraps[self.wrap_id] = self.wrap

    def load(self, people: Iterable[str], *, strict: bool = False) -> dict[str, AESGCM | None]:
        """token -> the person's cipher, or None when their key was destroyed; unknown people absent.
        A key wrapped under a wrap key this process lacks raises ``KeyUnavailable`` when ``strict`` (new
        data must never be sealed under anything but the person's real key); for reads it becomes a
        cipher that opens nothing, so those fields read ``[unreadable]`` rather than failing the page."""
        wanted = list(set(people))
        if not wanted:
            return {}
        out: dict[str, AESGCM | None] = {}
        conn = self.session.connection()
        # Through the driver: SQLAlchemy's per-row result processing was most of this query's cost. On
        # PostgreSQL one array parameter: psycopg parses a query of thousands of placeholders in Python.
        params: tuple[Any, ...]
        if conn.dialect.name == "postgresql":
            sql, params = _KEYS_ANY, (wanted,)
        else:
            sql = f"SELECT person, wrapped, key_id FROM audit_person_keys WHERE person IN ({', '.join(['?'] * len(wanted))})"  # noqa: S608, E501 - placeholders only
            params = tuple(wanted)
        for person, wrapped, key_id in conn.exec_driver_sql(sql, params).fetchall():
            if not wrapped:
                out[person] = None
                continue
            try:
                out[person] = self._cipher(person, wrapped, key_id)
            except KeyUnavailable:
                if strict:
                    raise
                log.error("person key %s is wrapped under key %s, which this process lacks", person, key_id)
                out[person] = AESGCM(sealing.new_key())
        return out

    def _cipher(self, person: str, wrapped: str, key_id: str) -> AESGCM:
        hit = _UNWRAPPED.get(person)
        if hit is not None and hit[0] == wrapped:
            return hit[1]
        wrapper = self.wraps.get(key_id)
        if wrapper is None:
            raise KeyUnavailable(f"person key {person} is wrapped under key {key_id}: set that key in "
                                 "PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS, then run `portal audit rewrap`")
        cipher = AESGCM(sealing.unwrap(wrapper, person, wrapped))
        if len(_UNWRAPPED) >= _UNWRAPPED_MAX:
            _UNWRAPPED.clear()
        _UNWRAPPED[person] = (wrapped, cipher)
        return cipher

    def rewrap(self, limit: int = 1000) -> int:
        """Move up to ``limit`` person keys wrapped under an earlier (configured) wrap key to the current
        one; how many moved. A key destroyed meanwhile stays destroyed (the update matches its old text)."""
        earlier = [key_id for key_id in self.wraps if key_id != self.wrap_id]
        if not earlier:
            return 0
        rows = self.session.execute(select(K.c.person, K.c.wrapped, K.c.key_id).where(
            K.c.wrapped.is_not(None), K.c.key_id.in_(earlier)).order_by(K.c.person).limit(limit)).all()
        moved = 0
        for person, wrapped, key_id in rows:
            key = sealing.unwrap(self.wraps[key_id], person, wrapped)
            done = self.session.execute(update(K).where(K.c.person == person, K.c.wrapped == wrapped).values(
                wrapped=sealing.wrap(self.wrap, person, key), key_id=self.wrap_id))
            moved += int(getattr(done, "rowcount", 0))  # a CursorResult: rows touched
        return moved

    def unavailable(self) -> int:
        """Live person keys wrapped under a wrap key this process does not have."""
        return int(self.session.execute(select(func.count()).select_from(K).where(
            K.c.wrapped.is_not(None), K.c.key_id.not_in(list(self.wraps)))).scalar_one())

    def for_batch(self, people: Iterable[str], now: datetime, *, commit_new: bool = False) -> dict[str, AESGCM]:
        """A cipher for every person of a batch: their key, a new key for someone new, and for an erased
        person a throwaway key nobody keeps (what is sealed with it is unreadable from the start).

        ``commit_new``: new keys are committed at once in a short transaction of their own (writers of several
        chains, docs/audit.md "Several chains"), so a writer meeting the same new person waits for that
        INSERT only, never for another writer's whole batch; a key whose batch then fails is a key with
        nothing sealed under it yet."""
        wanted = set(people)
        ring = self.load(wanted, strict=True)
        fresh = [p for p in wanted if p not in ring]
        keys = {p: sealing.new_key() for p in sorted(fresh)}
        if keys:
            # The first key committed for a person wins; a writer that lost the race reads it.
            dialect = self.session.get_bind().dialect.name
            base = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(K)
            stmt = base.on_conflict_do_nothing().returning(K.c.person)
            rows = [{"person": p, "wrapped": sealing.wrap(self.wrap, p, k), "key_id": self.wrap_id, "created_at": now}
                    for p, k in keys.items()]
            if commit_new:
                engine: Any = self.session.get_bind()
                with engine.connect() as conn:
                    if conn.dialect.name == "postgresql":
                        # Not waited for on disk: the chain's transaction sealing under these keys commits
                        # after this one and its flush covers this commit's WAL too; a crash before it loses
                        # keys nothing is sealed under yet. A flush here doubled the commits a batch waited
                        # for (two writers on two chains ran at half the rate of one, on a busy disk).
                        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    made = set(conn.execute(stmt, rows).scalars())
                    conn.commit()
            else:
                made = set(self.session.execute(stmt, rows).scalars())
            if len(made) < len(keys):
                ring.update(self.load(set(keys) - made, strict=True))
                keys = {p: k for p, k in keys.items() if p in made}
        out = {p: (c if c is not None else AESGCM(sealing.new_key())) for p, c in ring.items()}
        out.update({p: AESGCM(k) for p, k in keys.items()})
        return out

    def destroy(self, person: str, request_id: str, now: datetime) -> bool:
        """Destroy the person's key (keep a tombstone). True when a live key was destroyed now; a second
        call (a replay) changes nothing."""
        _UNWRAPPED.pop(person, None)
        row = self.session.execute(select(K.c.wrapped).where(K.c.person == person).with_for_update()).first()
        if row is None:
            self.session.execute(insert(K).values(person=person, wrapped=None, key_id=self.wrap_id, created_at=now,
                                                  destroyed_at=now, erasure_request_id=request_id[:200]))
            return False
        if row.wrapped is None:
            return False
        self.session.execute(update(K).where(K.c.person == person).values(
            wrapped=None, destroyed_at=now, erasure_request_id=request_id[:200]))
        return True

    # --- reading sealed rows -----------------------------------------------------------------------
    def open_rows(self, rows: Sequence[dict[str, Any]], only: str | None = None) -> list[dict[str, Any]]:
        """Rows as readers see them: sealed fields opened (or ``[erased]``), payload text re-encoded.
        Rows without a sealed field are passed through untouched (no JSON round trip). With ``only`` (a
        person token), payload fields sealed for anyone else are left out: a person's own export."""
        if only is None:
            return self._open_rows_for_reviewers(rows)
        parsed: dict[int, dict[str, Any]] = {}
        people: set[str] = set()
        for i, row in enumerate(rows):
            if sealing.is_sealed(row["actor"]):
                people.add(sealing.sealed_person(row["actor"]))
            if sealed_payload(row["payload"]):
                parsed[i] = json.loads(row["payload"])
                people |= set(SEALED_TOKEN.findall(row["payload"]))
        if not people:
            return list(rows)
        ring = self.load(people)
        out = []
        for i, row in enumerate(rows):
            actor = row["actor"]
            carried = carried_values(ring, actor, row["payload"])
            if sealing.is_sealed(actor):
                row = {**row, "actor": sealing.opened_value(actor, ring.get(sealing.sealed_person(actor)), carried)}
            if i in parsed:
                row = {**row, "payload": canonical_payload(open_own(parsed[i], ring, carried, only))}
            out.append(row)
        return out

    def _open_rows_for_reviewers(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every sealed value opened, in place in the stored payload text. That text is canonical JSON
        (sorted keys, ASCII only), so swapping each sealed string literal for the opened one's literal gives
        exactly what decoding, opening and re-encoding would: the export of a million rows spent most of
        its time in that round trip. The page's people are found in one scan of all its text."""
        actors = [row["actor"] for row in rows]
        sealed_text = "\n".join([*actors, *[row["payload"] for row in rows if sealed_payload(row["payload"])]])
        people = set(SEALED_TOKEN.findall(sealed_text))
        if not people:
            return list(rows)
        ring = self.load(people)
        out = []
        for row, actor in zip(rows, actors, strict=True):
            payload = row["payload"]
            sealed_actor = actor.startswith(sealing.PREFIXES)
            if not sealed_actor and not sealed_payload(payload):
                out.append(row)
                continue
            carried = carried_values(ring, actor, payload)
            row = {**row, "payload": SEALED_VALUE.sub(opener(ring, carried), payload)}
            if sealed_actor:
                row["actor"] = sealing.opened_value(actor, ring.get(sealing.sealed_person(actor)), carried)
            out.append(row)
        return out


    def open_text(self, text: str, kept: dict[str, AESGCM | None] | None = None) -> str:
        """The export's JSON lines (one row each, written by the database: ``SearchRepository.json_lines``) with
        every sealed value opened where it is a member's value or a list element, exactly as ``open_rows``
        opens the actor and the payload: one scan of the page's text (``open_parts``).

        ``kept``: person ciphers kept across the pages of one export (filled here). A key is never replaced,
        only destroyed, so a kept cipher stays right until then: the page's people already kept are only
        checked for a key destroyed since (``[erased]`` from the first page read after the destruction,
        as when every page loads its keys), and only people not met before are loaded."""
        parts = SEALED_PARTS.split(text)
        if len(parts) == 1:
            return text
        people = set(parts[2::4])
        return open_parts(parts, self.load(people) if kept is None else self._keep(kept, people))

    def _keep(self, kept: dict[str, AESGCM | None], people: set[str]) -> dict[str, AESGCM | None]:
        if len(kept) > _UNWRAPPED_MAX:
            kept.clear()
        live = [p for p in people if kept.get(p) is not None]
        if live:
            kept.update(dict.fromkeys(self._destroyed(live)))
        fresh = people.difference(kept)
        if fresh:
            kept.update(self.load(fresh))
        return kept

    def _destroyed(self, people: list[str]) -> list[str]:
        """Which of these people's keys are destroyed (tokens: hex, as the page's sealed values name them)."""
        conn = self.session.connection()
        if conn.dialect.name == "postgresql":  # one array literal: hex tokens need no quoting
            sql = "SELECT person FROM audit_person_keys WHERE wrapped IS NULL AND person = ANY(%s::text[])"
            params: tuple[Any, ...] = ("{" + ",".join(people) + "}",)
        else:
            sql = f"SELECT person FROM audit_person_keys WHERE wrapped IS NULL AND person IN ({', '.join(['?'] * len(people))})"  # noqa: S608, E501 - placeholders only
            params = tuple(people)
        return [person for (person,) in conn.exec_driver_sql(sql, params).fetchall()]
