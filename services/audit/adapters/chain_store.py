"""Appending to the chained store, and reading it back in sequence order for verification.

One batch is one transaction: lock the chain head, drop events already stored (and repeats within the
batch), number and hash the rest, insert them in one multi-row statement, sign the checkpoints that fall
in the batch (each naming the one before it), move the head and sign it. The unit of work appends the
signed head to the external anchor once the transaction has committed (``pending_head``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.audit.adapters import bulk, tables
from services.audit.adapters.person_keys import PersonKeys
from services.audit.domain import sealing, signing
from services.audit.domain.chain import GENESIS, chain_hash, iso
from services.audit.domain.verify import Checkpoint, Head, RetentionRecord, Root
from services.audit.handlers.ports import HeadBusy
from shared.events import Event

E = tables.audit_events
INSERT_COLUMNS = ("seq", "event_id", "type", "actor", "actor_ix", "subject", "correlation_id", "occurred_at",
                  "stored_at", "producer", "version", "payload", "prev_hash", "hash", "chain")
HEAD_ID = 1  # chain 0's head; chain c's is c + 1
# Numbers the rows of a store of several chains on PostgreSQL (migration 0006).
_NEXT_NUMBERS = "SELECT nextval('audit_events_seq') FROM generate_series(1, %s)"
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


class ChainCountMismatch(RuntimeError):
    """PORTAL_AUDIT_CHAINS differs from the number of chains a store holding events was written with."""


class ChainStore:
    def __init__(self, session: Session, signer: signing.Signer | None, checkpoint_every: int, keys: PersonKeys,
                 index_key: bytes, chains: int = 1) -> None:
        self.chains = chains
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
    def ensure_chains(self) -> None:
        """Give an empty store ``self.chains`` head rows; refuse a store holding events that was written with
        another number of chains (its rows are linked into those). Call in a write transaction."""
        h = tables.chain_head
        have = sorted(self.session.execute(select(h.c.id, h.c.seq).with_for_update()).all())
        if len(have) == self.chains:
            return
        if any(seq for _id, seq in have) or self.session.execute(select(E.c.seq).limit(1)).first() is not None:
            raise ChainCountMismatch(f"PORTAL_AUDIT_CHAINS is {self.chains}, but the log store holds events written "
                                     f"in {len(have)} chain(s); set it back to {len(have)}")
        self.session.execute(delete(h).where(h.c.id > self.chains))
        new = [{"id": i, "seq": 0, "hash": GENESIS, "checkpoint_seq": 0} for i in range(len(have) + 1, self.chains + 1)]
        if new:
            self.session.execute(insert(h), new)

    def lock_head(self, chain: int = 0, skip_locked: bool = False) -> Head:
        """A chain's head row, locked until commit (FOR UPDATE on PostgreSQL; on SQLite the write session's
        BEGIN IMMEDIATE already holds the database write lock). With ``skip_locked``, raises ``HeadBusy``
        when another writer holds it (PostgreSQL)."""
        head = self._read_head(lock=True, chain=chain, skip_locked=skip_locked)
        if head is None:
            raise HeadBusy(chain)
        return head

    def _read_head(self, lock: bool, chain: int = 0, skip_locked: bool = False) -> Head | None:
        h = tables.chain_head
        query = select(h.c.seq, h.c.hash, h.c.checkpoint_seq, h.c.signed_at, h.c.signature, h.c.key_id) \
            .where(h.c.id == HEAD_ID + chain)
        row = self.session.execute(query.with_for_update(skip_locked=skip_locked) if lock else query).first()
        if row is None:
            if skip_locked:
                return None
            raise LookupError(f"the log store has no chain {chain}")
        return Head(seq=int(row.seq), hash=row.hash, checkpoint_seq=int(row.checkpoint_seq or 0),
                    signed_at=row.signed_at or "", signature=row.signature or "", key_id=row.key_id or "",
                    chain=chain if self.chains > 1 else None)

    def sign_head(self, seq: int, hash_: str, checkpoint_seq: int, signed_at: str, chain: int = 0) -> Head:
        """Move the head and sign it; it is anchored after commit."""
        signer = self._signer()
        named = chain if self.chains > 1 else None
        unsigned = Head(seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at, chain=named)
        head = Head(seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at,
                    signature=signer.sign(unsigned.message()), key_id=signer.key_id, chain=named)
        self.session.execute(update(tables.chain_head).where(tables.chain_head.c.id == HEAD_ID + chain).values(
            seq=seq, hash=hash_, checkpoint_seq=checkpoint_seq, signed_at=signed_at, signature=head.signature,
            key_id=head.key_id))
        self.pending_head = head
        return head

    def _numbers(self, head: Head, count: int) -> list[int]:
        """Sequence numbers for ``count`` new rows. One chain: after its head (the chain order is the storage
        order). Several (PostgreSQL only): unique across chains, from a database sequence, so no writer waits
        for another."""
        if self.chains == 1:
            return list(range(head.seq + 1, head.seq + count + 1))
        conn = self.session.connection()
        return sorted(conn.exec_driver_sql(_NEXT_NUMBERS, (count,)).scalars())

    def append(self, events: Sequence[Event], stored_at: datetime, chain: int = 0,
               skip_locked: bool = False) -> list[dict[str, Any]]:
        """Store the events not stored yet in ``chain``; return the new rows (with ``seq`` and ``hash``; times
        are the ISO text that was hashed)."""
        if not events:
            return []
        self._signer()  # refuse before numbering anything
        head = self.lock_head(chain, skip_locked)
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
        numbers = self._numbers(head, len(fresh))
        rows: list[dict[str, Any]] = []
        values: list[tuple] = []
        for e, plan, seq in zip(fresh, plans, numbers, strict=True):
            actor, payload = self._sealed(e, tokens, plan, sealer)
            occurred_iso, occurred = stored_time(e.occurred_at)
            record = {
                "seq": seq, "event_id": e.event_id, "type": e.type, "actor": actor, "subject": e.subject,
                "correlation_id": e.correlation_id, "occurred_at": occurred_iso, "stored_at": stored_iso,
                "producer": e.producer, "version": e.version, "payload": payload,
            }
            digest = chain_hash(prev, record)  # over the stored (sealed) form
            values.append((seq, e.event_id, e.type, actor, tokens[e.actor], e.subject, e.correlation_id,
                           as_db_time(occurred, occurred_iso), stored_db, e.producer, e.version, record["payload"],
                           prev, digest, chain))
            record["prev_hash"], record["hash"] = prev, digest
            rows.append(record)
            prev = digest
        if not rows:
            return []
        bulk.insert_rows(self.session, E, INSERT_COLUMNS, values)
        last_checkpoint = self._sign_checkpoints(rows, stored_iso, head.checkpoint_seq, chain)
        self.sign_head(seq, prev, last_checkpoint, stored_iso, chain)
        if last_checkpoint != head.checkpoint_seq and self.chains > 1:
            self._sign_root(chain, seq, prev, stored_iso)
        return rows

    def _sign_root(self, chain: int, seq: int, hash_: str, created_at: str) -> None:
        """Sign every chain's head as one root: this chain's new head, the others' as last committed."""
        h = tables.chain_head
        rows = self.session.execute(select(h.c.id, h.c.seq, h.c.hash))
        heads = {int(r.id) - HEAD_ID: (int(r.seq), r.hash) for r in rows}
        heads[chain] = (seq, hash_)
        root = Root(heads=tuple((c, s, x) for c, (s, x) in sorted(heads.items())), created_at=created_at)
        signer = self._signer()
        self.session.execute(insert(tables.roots).values(
            heads=json.dumps([list(item) for item in root.heads], separators=(",", ":")), created_at=created_at,
            key_id=signer.key_id, signature=signer.sign(root.message())))

    def _batch_keys(self, events: Sequence[Event], now: datetime) -> tuple[dict[str, str], list[Any]]:
        """The blind index of every actor, and per event (sealed fields, owner token, cipher): one key
        query (and at most one insert) per batch."""
        tokens: dict[str, str] = {}
        people: set[str] = set()
        plans: list[tuple[bool, str | None]] = []
        key = self.index_key
        for e in events:
            if e.actor not in tokens:
                tokens[e.actor] = sealing.person_token(key, e.actor)
            if sealing.is_person(e.actor):
                people.add(tokens[e.actor])
            names = sealing.has_personal(e.type, e.version, e.payload)
            owner = sealing.owner_of_payload(e.actor, e.payload) if names else None
            owner_token = sealing.person_token(key, owner) if owner is not None else None
            if owner_token is not None:
                people.add(owner_token)
            plans.append((names, owner_token))
        ring = self.keys.for_batch(people, now, commit_new=self.chains > 1) if people else {}
        return tokens, [(names, owner, ring) for names, owner in plans]

    @staticmethod
    def _sealed(e: Event, tokens: dict[str, str], plan: Any, sealer: sealing.Sealer) -> tuple[str, str]:
        """The actor and payload text as stored: a person's identifying fields sealed under their key."""
        names, owner, ring = plan
        actor_token = tokens[e.actor] if sealing.is_person(e.actor) else None
        return sealing.seal_row(sealer, ring, e.type, e.version, e.actor, actor_token, e.payload,
                                owner if names else None)

    def _sign_checkpoints(self, rows: list[dict[str, Any]], created_at: str, previous: int, chain: int = 0) -> int:
        """Sign the checkpoints due in ``rows``, each linked to the one before; the last checkpoint's seq. One
        chain: at every multiple of ``checkpoint_every``. Several (numbers shared between chains): at a chain's
        first row at least ``checkpoint_every`` numbers past its last checkpoint."""
        every = self.checkpoint_every
        out = []
        for r in rows:
            due = r["seq"] % every == 0 if self.chains == 1 else r["seq"] - previous >= every
            if due:
                out.append({**self.checkpoint_row(Checkpoint(seq=r["seq"], hash=r["hash"], created_at=created_at,
                                                             signature="", prev_seq=previous)), "chain": chain})
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
    def _of_chain(self, chain: int) -> list[Any]:
        return [E.c.chain == chain] if self.chains > 1 else []

    def last_seq_stored_before(self, cutoff: datetime, chain: int = 0) -> int | None:
        """Sequence numbers of a chain follow storage time (drawn under its head lock), so "stored before the
        cutoff" is one range from the start of the chain."""
        value = self.session.execute(select(func.max(E.c.seq)).where(E.c.stored_at < cutoff,
                                                                     *self._of_chain(chain))).scalar_one()
        return None if value is None else int(value)

    def range_chunks(self, last_seq: int, chain: int = 0, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
        """A chain's rows up to ``last_seq``, in order, a chunk per query."""
        after = 0
        while True:
            rows = [r._asdict() for r in self.session.execute(
                select(E.c.seq, E.c.actor_ix, E.c.subject, E.c.hash)
                .where(E.c.seq > after, E.c.seq <= last_seq, *self._of_chain(chain)).order_by(E.c.seq).limit(chunk))]
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
        head = self._read_head(lock=False)
        assert head is not None
        return head

    def heads(self) -> dict[int, Head]:
        """Every chain's head by chain (a store of several chains)."""
        h = tables.chain_head
        return {int(r.id) - HEAD_ID: Head(seq=int(r.seq), hash=r.hash, checkpoint_seq=int(r.checkpoint_seq or 0),
                                          signed_at=r.signed_at or "", signature=r.signature or "",
                                          key_id=r.key_id or "", chain=int(r.id) - HEAD_ID)
                for r in self.session.execute(select(h).order_by(h.c.id))}

    def settled_seq(self) -> int:
        """The highest sequence number below which no row can still appear (what a live stream may pass).
        One chain: the newest stored row (its head lock orders the writers). Several: numbers are drawn before
        commit, so a writer in flight may still commit rows below rows another chain already committed. Its
        rows are all above its chain's committed head; so the settled number is the newest row capped by the
        head of every chain that a writer holds now. The idle heads are locked (``SKIP LOCKED``) until this
        read transaction ends, so no writer starts on them between this look and the newest row's."""
        if self.chains == 1:
            return int(self.session.execute(select(func.max(E.c.seq))).scalar_one() or 0)
        h = tables.chain_head
        idle = set(self.session.execute(select(h.c.id).with_for_update(skip_locked=True)).scalars())
        busy = self.session.execute(select(h.c.seq).where(h.c.id.not_in(idle))).scalars().all()
        newest = int(self.session.execute(select(func.max(E.c.seq))).scalar_one() or 0)
        return min([newest, *(int(seq) for seq in busy)])

    def chain_count(self) -> int:
        """How many chains the store was written with, as far as the database tells: head rows, and what signed
        checkpoints, retention records and roots name (so a chain whose head row was deleted is still counted)."""
        h, c = tables.chain_head, tables.checkpoints
        heads = self.session.execute(select(func.count(), func.max(h.c.id))).one()
        top_checkpoint = self.session.execute(select(func.max(c.c.chain))).scalar_one()
        top_retention = self.session.execute(select(func.max(tables.retention_records.c.chain))).scalar_one()
        root = self.latest_root()
        return max(int(heads[0] or 0), int(heads[1] or 0), int(top_checkpoint or 0) + 1,
                   int(top_retention or 0) + 1, len(root.heads) if root else 0)

    def latest_root(self) -> Root | None:
        r = tables.roots
        row = self.session.execute(select(r).order_by(r.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return Root(heads=tuple((int(c), int(s), str(x)) for c, s, x in json.loads(row.heads)),
                    created_at=row.created_at, signature=row.signature, key_id=row.key_id)

    def checkpoints(self, chain: int | None = None) -> list[Checkpoint]:
        c = tables.checkpoints
        query = select(c).order_by(c.c.seq) if chain is None else select(c).where(c.c.chain == chain).order_by(c.c.seq)
        return [Checkpoint(seq=int(r.seq), hash=r.hash, created_at=r.created_at, signature=r.signature,
                           prev_seq=None if r.prev_seq is None else int(r.prev_seq), key_id=r.key_id)
                for r in self.session.execute(query)]

    def latest_retention(self, chain: int = 0) -> RetentionRecord | None:
        """A chain's latest retention record (each run covers the chain from its start: it supersedes)."""
        return self.latest_retentions().get(chain)

    def latest_retentions(self) -> dict[int, RetentionRecord]:
        """Every chain's latest retention record, by chain (a store of several chains names it in the record)."""
        r = tables.retention_records
        out = {}
        for row in self.session.execute(select(r).order_by(r.c.id)):
            out[int(row.chain)] = RetentionRecord(
                first_seq=int(row.first_seq), last_seq=int(row.last_seq), removed=int(row.removed), kept=int(row.kept),
                kept_digest=row.kept_digest, anchor_hash=row.anchor_hash, cutoff=row.cutoff, created_at=row.created_at,
                signature=row.signature, chain=int(row.chain) if self.chains > 1 else None)
        return out

    def iter_rows(self, chunk: int = 5000, after: int = 0, with_chain: bool = False) -> Iterator[Mapping[str, Any]]:
        """Every row in sequence order (times as ISO text), a chunk per query: constant memory."""
        fields = tables.CHAINED_FIELDS if with_chain else tables.STORED_FIELDS
        cols = tables.stored_row_columns(fields)
        last = after
        while True:
            batch = self.session.execute(select(*cols).where(E.c.seq > last).order_by(E.c.seq).limit(chunk)).all()
            for row in batch:
                yield dict(zip(fields, row, strict=True))
            if len(batch) < chunk:
                return
            last = batch[-1].seq
