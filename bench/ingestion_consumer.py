"""The audit consumer's own work, in process: no broker, no Celery, no relay (not a ``make bench`` module).

    python bench/ingestion_consumer.py [N] [--profile]

N access events (20,000) signed as the gateway signs them, spliced into broker bodies of 1,000 as the relay
does; each body is decoded (``json.loads``), checked (``_load_or_dead_letter``: signatures, envelopes) and
stored (``handlers.store_events`` on SQLite), and the CPU time of each step is printed per event. The
process's collector is set as the audit worker's (``consumers.collect_less``). The chain is verified after.
``--profile``: cProfile by CPU time, sorted by own time (Python calls inflated several times by the profiler).
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_ingestion import Rig, make_events  # noqa: E402
from shared.events import signing  # noqa: E402
from tests.support.processes import MASTER_ENV, TEST_EVENT_MASTER_KEY  # noqa: E402
from tests.support.redis_server import start_redis  # noqa: E402


def main(n: int, profile: bool) -> None:
    os.environ[MASTER_ENV] = TEST_EVENT_MASTER_KEY
    server = start_redis()  # reachable: a Redis that does not answer costs its probes' CPU (shared/redis_probe.py)
    try:
        _measure(Rig(Path(tempfile.mkdtemp(prefix="bench-consumer-")), server.url).container(), n, profile)
    finally:
        server.stop()


def _measure(container, n: int, profile: bool) -> None:
    from services.audit import handlers
    from services.audit.consumers import collect_less
    from services.audit.handlers.integrity import verify
    from shared.bus.consumer import _load_or_dead_letter

    bodies = [json.dumps(signing.sign(e.to_dict()), separators=(",", ":")) for e in make_events(n, seed=11)]
    messages = ["[[[" + ",".join(bodies[i:i + 1000]) + "]],{},{}]" for i in range(0, n, 1000)]
    dead_letters = container.runtime.dead_letters()
    collect_less()
    spent = {"decode": 0.0, "verify + load": 0.0, "store": 0.0}
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    for message in messages:
        began = time.process_time()
        raw = json.loads(message)[0][0]
        decoded = time.process_time()
        _signed, events = _load_or_dead_letter("audit", raw, dead_letters, 0, check_payloads=False)
        loaded = time.process_time()
        handlers.store_events(container, events)
        stored = time.process_time()
        spent["decode"] += decoded - began
        spent["verify + load"] += loaded - decoded
        spent["store"] += stored - loaded
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    check = verify(container).to_dict()
    if not check["ok"] or check["checked"] != n:
        raise RuntimeError(f"chain verification failed: {check}")
    steps = " / ".join(f"{name} {seconds / n * 1e6:.1f}" for name, seconds in spent.items())
    print(f"µs CPU per event: {steps} (total {sum(spent.values()) / n * 1e6:.1f}); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 20_000, "--profile" in sys.argv)
