"""µs per event to sign (producer, four tags) and to verify (consumer, one tag) an access event, beside
the consumer's envelope and payload check of the same event (its baseline: what the consumer does anyway).

Run: ``python -m bench event_signing`` (part of ``make bench``), or ``.venv/bin/python
bench/bench_event_signing.py`` for the figures as one JSON line. Figures are recorded in docs/decisions.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.gateway.handlers import Access, access_event  # noqa: E402
from shared.events import load_events, signing  # noqa: E402
from shared.identity import Identity  # noqa: E402
from tests.support.processes import MASTER_ENV, TEST_EVENT_MASTER_KEY  # noqa: E402


def per_event_us(fn, n: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def measure() -> dict[str, float]:
    # The key every benchmark of one `make bench` process signs with (keys are read once per process: a key
    # of this module's own would make the ingestion benchmark's worker refuse its events).
    os.environ.setdefault(MASTER_ENV, TEST_EVENT_MASTER_KEY)
    n = int(os.environ.get("BENCH_SIGN_EVENTS", "20000"))
    access = Access(method="GET", path="/api/linking/companies", query="page=2", client_ip="203.0.113.7",
                    user_agent="Mozilla/5.0 (X11; Linux x86_64)", request_id="r" * 32, status=200,
                    identity=Identity(user_id="3f1c", roles=frozenset({"user"}), session_id="s"),
                    service="linking", bytes_sent=1234, duration_ms=3.2)
    _, body = access_event(access)
    envelope = json.loads(body)
    unsigned = {k: v for k, v in envelope.items() if k != signing.SIG_FIELD}
    sign = per_event_us(lambda: signing.sign(dict(unsigned)), n)
    verify = per_event_us(lambda: signing.refusal("audit", envelope), n)
    load = per_event_us(lambda: load_events([envelope]), n)  # the consumer's validation, for scale
    return {"events": n, "sign_us": round(sign, 2), "verify_us": round(verify, 2), "load_us": round(load, 2)}


def run(report) -> None:
    figures = measure()
    check = "the consumer's envelope and payload check of the same event"
    report("sign an access event (producer, four tags)", figures["sign_us"], "µs", check, figures["load_us"])
    report("verify an access event's signature (consumer, one tag)", figures["verify_us"], "µs", check,
           figures["load_us"])


if __name__ == "__main__":
    print(json.dumps(measure()))
