"""The ingestion use case with in-memory fakes: what each kind of event feeds besides the chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.audit.domain import trends
from services.audit.domain.search import personal_row
from services.audit.handlers import ingest
from shared.events import Event


def event(type_="identity.user.registered", actor="u1", subject="u1", payload=None, **kw) -> Event:
    return Event(event_id=kw.get("event_id") or str(uuid.uuid4()), type=type_, version=1,
                 occurred_at=kw.get("occurred_at", "2026-05-04T10:00:00+02:00"), producer=type_.split(".")[0],
                 actor=actor, subject=subject, correlation_id="req-1", payload=payload or {})


class FakeChain:
    chains = 1

    def __init__(self):
        self.stored: dict[str, int] = {}

    def append(self, events, stored_at, chain=0, skip_locked=False):
        rows = []
        for e in events:
            if e.event_id not in self.stored:
                self.stored[e.event_id] = len(self.stored) + 1
                rows.append({"seq": self.stored[e.event_id], "event_id": e.event_id})
        return rows


class FakeCompliance:
    def __init__(self):
        self.refs, self.usages, self.holds, self.released, self.disclosures = set(), [], {}, [], []

    def add_person_refs(self, refs):
        self.refs |= set(refs)

    def add_usage(self, usages):
        self.usages += usages

    def place_hold(self, hold_id, user_id, placed_at, until):
        self.holds[hold_id] = (user_id, until)

    def release_hold(self, hold_id, released_at):
        self.released.append(hold_id)

    def add_disclosure(self, row):
        self.disclosures.append(row)


class FakeUow:
    """Both the unit of work and the ``Units`` the use case opens it from."""

    def __init__(self):
        self.chain, self.compliance, self.commits = FakeChain(), FakeCompliance(), 0

    def uow(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def commit(self):
        self.commits += 1


def test_duplicates_are_stored_once_and_the_batch_is_one_commit():
    uow = FakeUow()
    a, b = event(), event()
    assert ingest.store_events(uow, [a, b, a]) == 2
    assert ingest.store_events(uow, [b]) == 0
    assert uow.commits == 2


def test_staff_access_to_personal_data_is_referenced_to_each_person_named():
    uow = FakeUow()
    e = event("identity.pii.accessed", actor="staff-1", subject="u7",
              payload={"user_ids": ["u8", "staff-1", 5], "fields": ["email"]})
    ingest.store_events(uow, [e])
    assert uow.compliance.refs == {("u7", 1), ("u8", 1)}  # never the staff member themself


def test_legal_holds_follow_identity_events():
    uow = FakeUow()
    ingest.store_events(uow, [
        event("identity.privacy.hold_placed", actor="c1", subject="u5",
              payload={"hold_id": "hold-1", "user_id": "u5", "reason": "litigation", "until": "not a date",
                       "owner_id": "c1"}),
        event("identity.privacy.hold_placed", actor="c1", subject="u6",
              payload={"hold_id": "hold-2", "user_id": "u6", "reason": "litigation",
                       "until": "2027-01-01T00:00:00Z", "owner_id": "c1"}),
        event("identity.privacy.hold_released", actor="c1", subject="u6",
              payload={"hold_id": "hold-2", "user_id": "u6", "released_by": "c1"}),
        # The old four-part names were never real events: ignored.
        event("identity.privacy.hold.placed", actor="c1", subject="u7", payload={"hold_id": "hold-3", "user_id": "u7"}),
    ])
    assert uow.compliance.holds["hold-1"] == ("u5", None)  # unreadable end: held indefinitely
    assert uow.compliance.holds["hold-2"][1].year == 2027
    assert uow.compliance.released == ["hold-2"]
    assert "hold-3" not in uow.compliance.holds


def test_shared_contact_details_enter_the_disclosure_register():
    uow = FakeUow()
    e = event("linking.contact.shared", actor="u3", subject="lr-1",
              payload={"user_id": "u3", "company_id": "c9", "fields": ["email", "phone"]})
    ingest.store_events(uow, [e])
    (row,) = uow.compliance.disclosures
    assert row["subject_user_id"] == "u3" and row["recipient"].startswith("company:c9")
    assert row["data_categories"] == ["email", "phone"] and row["source_event_id"] == e.event_id
    assert row["legal_basis"] == "consent"


def test_content_views_and_downloads_feed_the_trends():
    uow = FakeUow()
    access = "gateway.request.completed"
    ingest.store_events(uow, [
        event(access, actor="u1", subject="/api/content/items/i1",
              payload={"method": "GET", "path": "/api/content/items/i1", "status": 200}),
        # Downloads are counted per item from content's event, not from the gateway's path.
        event(access, actor="anonymous", subject="/api/content/collaterals/f1/download",
              payload={"method": "GET", "path": "/api/content/collaterals/f1/download", "status": 200}),
        event("content.collateral.downloaded", actor="anonymous", subject="collateral:f1",
              payload={"collateral_id": "f1", "item_id": "i1", "size": 10, "bytes_sent": 10, "range": None}),
        event("content.collateral.downloaded", actor="u2", subject="collateral:f1",  # a resumed download
              payload={"collateral_id": "f1", "item_id": "i1", "size": 10, "bytes_sent": 5, "range": "bytes 5-9/10"}),
        event("content.collateral.downloaded", actor="u2", subject="collateral:f1",
              payload={"collateral_id": "f1", "item_id": "i1", "size": 10, "bytes_sent": 5, "range": "bytes 0-4/10"}),
        event(access, actor="u1", subject="/api/content/items/i1",
              payload={"method": "GET", "path": "/api/content/items/i1", "status": 404}),
        event(access, actor="u1", subject="/api/content/items",
              payload={"method": "GET", "path": "/api/content/items", "status": 200}),
    ])
    assert uow.compliance.usages == [
        trends.Usage(date(2026, 5, 4), "view", "i1", "u1"),
        trends.Usage(date(2026, 5, 4), "download", "i1", None),
        trends.Usage(date(2026, 5, 4), "download", "i1", "u2"),
    ]


def test_k_anonymity_threshold():
    assert trends.visible(10, 10) and not trends.visible(9, 10)


def test_a_person_sees_only_safe_details():
    own = {"seq": 1, "type": "gateway.request.completed", "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
           "actor": "u1", "subject": "/x", "correlation_id": "r",
           "payload": '{"method":"GET","path":"/x","status":200,"session_hash":"s"}'}
    staff = own | {"type": "identity.pii.accessed", "actor": "staff-1", "subject": "u1",
                   "payload": '{"fields":["email"],"user_ids":["u1","u2"],"purpose":"ticket 4"}'}
    assert personal_row(own, "u1")["details"] == {"method": "GET", "path": "/x", "status": 200}
    seen = personal_row(staff, "u1")
    assert seen["kind"] == "staff_access" and seen["details"] == {"fields": ["email"], "purpose": "ticket 4"}
