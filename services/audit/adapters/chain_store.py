"""Appending to the chained store, and reading it back in sequence order for verification.

One batch is one transaction: lock the chain head, drop events already stored (and repeats within the
batch), number and hash the rest, insert them in one multi-row statement, sign the checkpoints that fall
in the batch (each naming the one before it), move the head and sign it. The unit of work appends the
signed head to the external anchor once the transaction has committed (``pending_head``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.audit.adapters import bulk, tables
from services.audit.adapters.person_keys import PersonKeys
from services.audit.domain import sealing, signing
from services.audit.domain.chain import canonical_payload, chain_hash, iso
from services.audit.domain.verify import Checkpoint, Head, RetentionRecord
from shared.events import Event

E = tables.audit_events
INSERT_COLUMNS = ("seq", "event_id", "type", "actor", "actor_ix", "subject", "correlation_id", "occurred_at",
                  "stored_at", "producer", "version", "payload", "prev_hash", "hash")
HEAD_ID = 1
# Built once: building an IN clause of 500 literals per batch cost more than the lookup itself.
_STORED_IDS = select(E.c.event_id).where(E.c.event_id.in_(bindparam("ids", expanding=True)))


def stored_time(text: str) -> tuple[str, datetime | None]:
    """An event's time as stored and hashed (``chain.iso``), and the moment itself when it had to be parsed
    for that. Producers write times in that form already (``clock.isoformat``); then it is taken as it is."""
    if len(text) == 32 and text[10] == "T" and text[19] == "." and text.endswith("+00:00"):
        return text, None
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return iso(moment), moment


class NoSigningKey(RuntimeError):
    """This process holds no audit signing key (only the audit writer does)."""


class ChainStore:
    def __init__(self, session: Session, signer: signing.Signer | None, checkpoint_every: int, keys: PersonKeys,
                 index_key: bytes) -> None:
        self.session = session
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.keys = keys
        self.index_key = index_key
        self.pending_head: Head | None = None  # signed in this transaction, to anchor after commit

    def _signer(self) -> signing.Signer:
        if self.signer is None:
            raise NoSigningKey("this process holds no audit signing key (PORTAL_AUDIT_SIGNING_KEY_FILE)")
        return self.signer

    # --- writing -----------------------------------------------------------------------------------
    def lock_head(self) -> Head:
        """The head row, locked until commit (FOR UPDATE on PostgreSQL; on SQLite the write session's
        BEGIN IMMEDIATE already holds the database write lock)."""
        return self._read_head(lock=True)

    def _read_head(self, lock: bool) -> Head:
        h = tables.chain_head
        query = select(h.c.seq, h.c.hash, h.c.checkpoint_seq, h.c.signed_at, h.c.signature, h.c.key_id) \
            .where(h.c.id == HEAD_ID)
        row = self.session.execute(query.with_for_update() if lock else query).one()
        return Head(seq=int(row.seq), hash=row.hash, checkpoint_seq=int(row.checkpoint_seq or 0),
                    signed_at=row.signed_at or "", signature=row.signature or "", key_id=row.key_id or "")

    def sign_head(self, seq: int, hash_: str, checkpoint_seq: int, signed_at: str) -> Head:
        """Move the head and sign it; it is anchored after commit."""
        signer = self._signer()
        unsigned = Head(seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at)
        head = Head(seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at,
                    signature=signer.sign(unsigned.message()), key_id=signer.key_id)
        self.session.execute(update(tables.chain_head).where(tables.chain_head.c.id == HEAD_ID).values(
            seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at, signature=head.signature,
            key_id=head.key_id))
        self.pending_head = head
        return head

    def append(self, events: Sequence[Event], stored_at: datetime) -> list[dict[str, Any]]:
        """Store the events not stored yet; return the new rows (with ``seq`` and ``hash``; times are
        the ISO text that was hashed)."""
        if not events:
            return []
        self._signer()  # refuse before numbering anything
        head = self.lock_head()
        ids = list({e.event_id for e in events})
        seen = set(self.session.execute(_STORED_IDS, {"ids": ids}).scalars())
        stored_iso = iso(stored_at)
        as_db_time = bulk.time_value(self.session)
        stored_db = as_db_time(stored_at, stored_iso)
        fresh = []
        for e in events:
            if e.event_id not in seen:
                seen.add(e.event_id)
                fresh.append(e)
        if not fresh:
            return []
        tokens, plans = self._batch_keys(fresh, stored_at)
        sealer = sealing.Sealer()
        seq, prev = head.seq, head.hash
        rows: list[dict[str, Any]] = []
        values: list[tuple] = []
        for e, plan in zip(fresh, plans, strict=True):
            actor, payload = self._sealed(e, tokens, plan, sealer)
            occurred_iso, occurred = stored_time(e.occurred_at)
            seq += 1
            record = {
                "seq": seq, "event_id": e.event_id, "type": e.type, "actor": actor, "subject": e.subject,
                "correlation_id": e.correlation_id, "occurred_at": occurred_iso, "stored_at": stored_iso,
                "producer": e.producer, "version": e.version, "payload": canonical_payload(payload),
            }
            digest = chain_hash(prev, record)  # over the stored (sealed) form
            values.append((seq, e.event_id, e.type, actor, tokens[e.actor], e.subject, e.correlation_id,
                           as_db_time(occurred, occurred_iso), stored_db, e.producer, e.version, record["payload"],
                           prev, digest))
            record["prev_hash"], record["hash"] = prev, digest
            rows.append(record)
            prev = digest
        if not rows:
            return []
        bulk.insert_rows(self.session, E, INSERT_COLUMNS, values)
        last_checkpoint = self._sign_checkpoints(rows, stored_iso, head.checkpoint_seq)
        self.sign_head(seq, prev, last_checkpoint, stored_iso)
        return rows

    def _batch_keys(self, events: Sequence[Event], now: datetime) -> tuple[dict[str, str], list[Any]]:
        """The blind index of every actor, and per event (sealed fields, owner token, cipher): one key
        query (and at most one insert) per batch."""
        tokens: dict[str, str] = {}
        people: set[str] = set()
        plans: list[tuple[list[str], str | None]] = []
        key = self.index_key
        for e in events:
            if e.actor not in tokens:
                tokens[e.actor] = sealing.person_token(key, e.actor)
            if sealing.is_person(e.actor):
                people.add(tokens[e.actor])
            names = sealing.personal_fields(e.type, e.version, e.payload)
            owner = sealing.owner_of_payload(e.actor, e.payload) if names else None
            owner_token = sealing.person_token(key, owner) if owner is not None else None
            if owner_token is not None:
                people.add(owner_token)
            plans.append((names, owner_token))
        ring = self.keys.for_batch(people, now) if people else {}
        return tokens, [(names, owner, ring) for names, owner in plans]

    @staticmethod
    def _sealed(e: Event, tokens: dict[str, str], plan: Any, sealer: sealing.Sealer) -> tuple[str, dict[str, Any]]:
        """The actor and payload as stored: a person's identifying fields sealed under their key."""
        names, owner, ring = plan
        actor = e.actor
        if sealing.is_person(actor):
            token = tokens[actor]
            actor = sealer.seal(ring[token], token, actor)
        payload = e.payload
        if owner is not None:
            payload = dict(payload)
            aead = ring[owner]
            for name in names:
                payload[name] = sealer.seal(aead, owner, payload[name])
        return actor, payload

    def _sign_checkpoints(self, rows: list[dict[str, Any]], created_at: str, previous: int) -> int:
        """Sign the checkpoints due in ``rows``, each linked to the one before; the last checkpoint's seq."""
        every = self.checkpoint_every
        out = []
        for r in rows:
            if r["seq"] % every == 0:
                out.append(self.checkpoint_row(Checkpoint(seq=r["seq"], hash=r["hash"], created_at=created_at,
                                                          signature="", prev_seq=previous)))
                previous = r["seq"]
        if out:
            self.session.execute(insert(tables.checkpoints), out)
        return previous

    def checkpoint_row(self, cp: Checkpoint) -> dict[str, Any]:
        signer = self._signer()
        return {"seq": cp.seq, "hash": cp.hash, "created_at": cp.created_at, "prev_seq": cp.prev_seq,
                "key_id": signer.key_id, "signature": signer.sign(cp.message())}

    def replace_checkpoints(self, signed: list[dict[str, Any]]) -> None:
        """``portal audit resign``: the same checkpoints, signed again with the Ed25519 key."""
        c = tables.checkpoints
        for row in signed:
            self.session.execute(update(c).where(c.c.seq == row["seq"]).values(
                prev_seq=row["prev_seq"], key_id=row["key_id"], signature=row["signature"]))

    # --- retention -----------------------------------------------------------------------------------
    def last_seq_stored_before(self, cutoff: datetime) -> int | None:
        """Sequence numbers follow storage time (assigned under the head lock), so "stored before the
        cutoff" is one range from the start of the chain."""
        value = self.session.execute(select(func.max(E.c.seq)).where(E.c.stored_at < cutoff)).scalar_one()
        return None if value is None else int(value)

    def range_chunks(self, last_seq: int, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
        after = 0
        while True:
            rows = [r._asdict() for r in self.session.execute(
                select(E.c.seq, E.c.actor_ix, E.c.subject, E.c.hash)
                .where(E.c.seq > after, E.c.seq <= last_seq).order_by(E.c.seq).limit(chunk))]
            if not rows:
                return
            yield rows
            after = rows[-1]["seq"]

    def delete(self, seqs: Sequence[int]) -> None:
        if seqs:
            self.session.execute(delete(E).where(E.c.seq.in_(seqs)))
            self.session.execute(delete(tables.person_refs).where(tables.person_refs.c.seq.in_(seqs)))

    def sign_retention(self, record: RetentionRecord) -> RetentionRecord:
        signer = self._signer()
        return RetentionRecord(**{**record.__dict__, "signature": signer.sign(record.message())})

    def add_retention(self, record: RetentionRecord) -> RetentionRecord:
        signed = self.sign_retention(record)
        self.session.execute(insert(tables.retention_records).values(**signed.message_row(),
                                                                     key_id=self._signer().key_id))
        return signed

    def resign_retention(self, record: RetentionRecord) -> None:
        r = tables.retention_records
        latest = self.session.execute(select(func.max(r.c.id))).scalar_one()
        signed = self.sign_retention(record)
        self.session.execute(update(r).where(r.c.id == latest).values(signature=signed.signature,
                                                                      key_id=self._signer().key_id))

    # --- reading for verification ------------------------------------------------------------------
    def head(self) -> Head:
        return self._read_head(lock=False)

    def checkpoints(self) -> list[Checkpoint]:
        c = tables.checkpoints
        return [Checkpoint(seq=int(r.seq), hash=r.hash, created_at=r.created_at, signature=r.signature,
                           prev_seq=None if r.prev_seq is None else int(r.prev_seq), key_id=r.key_id)
                for r in self.session.execute(select(c).order_by(c.c.seq))]

    def latest_retention(self) -> RetentionRecord | None:
        r = tables.retention_records
        row = self.session.execute(select(r).order_by(r.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return RetentionRecord(first_seq=int(row.first_seq), last_seq=int(row.last_seq), removed=int(row.removed),
                               kept=int(row.kept), kept_digest=row.kept_digest, anchor_hash=row.anchor_hash,
                               cutoff=row.cutoff, created_at=row.created_at, signature=row.signature)

    def iter_rows(self, chunk: int = 5000, after: int = 0) -> Iterator[Mapping[str, Any]]:
        """Every row in sequence order (times as ISO text), a chunk per query: constant memory."""
        cols = tables.stored_row_columns()
        last = after
        while True:
            batch = self.session.execute(select(*cols).where(E.c.seq > last).order_by(E.c.seq).limit(chunk)).all()
            fields = tables.STORED_FIELDS
            for row in batch:
                yield dict(zip(fields, row, strict=True))
            if len(batch) < chunk:
                return
            last = batch[-1].seq
