"""The search planner's shortcuts for time ranges return exactly what a plain scan would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.adapters import repositories
from services.audit.domain.search import EventFilter
from tests.integration.audit.conftest import make_event, store

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("probe", [3, 40, 100_000])  # every branch: small window, bounded walk, plain
def test_planned_searches_match_a_brute_force_filter(container, monkeypatch, probe):
    rnd = random.Random(3)
    events = [make_event(rnd.choice(["gateway.request.completed", "identity.session.started"]),
                         actor=f"u{rnd.randrange(6)}", subject=f"/s{rnd.randrange(4)}", payload={"n": i},
                         occurred_at=T0 + timedelta(minutes=rnd.randrange(600)))  # late and early arrivals
              for i in range(240)]
    store(container, events, batch=60)
    monkeypatch.setattr(repositories, "PROBE", probe)
    with container.read_uow() as uow:
        everything = uow.keys.open_rows(uow.search.search(EventFilter(), None, 1000))
    for _ in range(40):
        since = T0 + timedelta(minutes=rnd.randrange(600)) if rnd.random() < 0.8 else None
        until = since + timedelta(minutes=rnd.choice([5, 60, 400])) if since and rnd.random() < 0.7 else None
        f = EventFilter(actor=rnd.choice([None, "u1"]), type=rnd.choice([None, "identity.session.started"]),
                        since=since, until=until)
        expected = [r["seq"] for r in everything
                    if (f.actor is None or r["actor"] == f.actor) and (f.type is None or r["type"] == f.type)
                    and (since is None or r["occurred_at"] >= since.isoformat(timespec="microseconds"))
                    and (until is None or r["occurred_at"] < until.isoformat(timespec="microseconds"))]
        for order in ("asc", "desc"):
            want = expected if order == "asc" else expected[::-1]
            with container.read_uow() as uow:
                first = [r["seq"] for r in uow.search.search(f, None, 7, order)]
                rest = [r["seq"] for r in uow.search.search(f, first[-1], 1000, order)] if len(first) == 7 else []
            assert first + rest == want, (f, order)
