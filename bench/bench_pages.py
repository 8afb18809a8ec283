"""Page render time of the portal's busiest pages beside the API call each page is built on.

Same run, same machine: the whole platform under ``portal run`` (tests/support/platform.py: gateway,
the pages service, every service and worker, a private Redis, SQLite files) with the gateway's rate
limits off. One person is registered and logged in; a company-visible catalogue is seeded. Then, for
each page, 20 client threads in a closed loop (each asks again as soon as its answer is in) request
the page through the gateway for ``BENCH_PAGES_SECONDS``, and right after, the same way, the API call
the page is built on, also through the gateway: same session, same data. Reported: p95 (and p50) of
each, and their ratio. Goal: a page costs at most 2x its API call.

``run(report)`` is called by the benchmark runner; ``python bench/bench_pages.py`` runs alone.
Environment: BENCH_PAGES_CLIENTS (default 20), BENCH_PAGES_SECONDS per target (default 5), BENCH_KEEP=1
keeps the work directory.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.bench_login import percentile, run_threads  # noqa: E402
from tests.support.people import log_in, person  # noqa: E402
from tests.support.platform import Platform, running_platform  # noqa: E402

Report = Callable[..., None]
T = 30


def clients() -> int:
    return int(os.environ.get("BENCH_PAGES_CLIENTS", "20"))


def seconds() -> float:
    return float(os.environ.get("BENCH_PAGES_SECONDS", "5"))


def closed_loop(url: str, cookies: dict[str, str], duration: float) -> list[float]:
    """Latencies (ms) of ``clients()`` threads each asking ``url`` again as soon as it has its answer."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def client(_slot: int) -> None:
        with requests.Session() as http:
            http.cookies.update(cookies)
            mine: list[float] = []
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                resp = http.get(url, timeout=T, allow_redirects=False)
                mine.append((time.perf_counter() - began) * 1000)
                if resp.status_code != 200:
                    failures.append(resp.status_code)
            with lock:
                latencies.extend(mine)

    run_threads(client, range(clients()))
    if failures:
        raise RuntimeError(f"{url}: {len(failures)} answers were not 200 (e.g. {failures[:3]})")
    return latencies


def seed(platform: Platform) -> tuple[dict[str, str], str]:
    """A logged-in customer's cookies, and a public item with some text."""
    base = platform.url
    editor = person(platform, "Edna", "editor")
    item_id = ""
    for n in range(12):
        resp = editor.http.post(f"{base}/api/content/items", timeout=T, json={
            "title": f"Product {n}", "body": "A paragraph about the product.\n\n" * 5, "visibility": "public",
            "status": "published"})
        if resp.status_code != 201:
            raise RuntimeError(f"seeding items failed: {resp.status_code} {resp.text[:200]}")
        item_id = resp.json()["id"]
    customer = person(platform, "Cara")
    customer.http.post(f"{base}/api/content/queries", timeout=T, json={
        "subject": "Delivery", "body": "When does it come?", "kind": "question"})
    log_in(base, customer.email)  # a second session on the sessions page
    return dict(customer.http.cookies), item_id


def pairs(item_id: str) -> list[tuple[str, str]]:
    """(page, the API call it is built on): the pages a customer opens most."""
    return [
        ("/catalogue", "/api/content/items?limit=24"),
        (f"/catalogue/{item_id}", f"/api/content/items/{item_id}"),
        ("/account", "/api/identity/me"),
        ("/account/sessions", "/api/identity/sessions"),
        ("/queries", "/api/content/queries?limit=50"),
    ]


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        with running_platform(workdir, {"GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off",
                                        "PORTAL_WEB_WORKERS": "2", "PORTAL_WEB_THREADS": "4"}) as platform:
            cookies, item_id = seed(platform)
            for page, api in pairs(item_id):
                closed_loop(platform.url + page, cookies, 1.0)  # warm up both
                closed_loop(platform.url + api, cookies, 1.0)
                page_ms = closed_loop(platform.url + page, cookies, seconds())
                api_ms = closed_loop(platform.url + api, cookies, seconds())
                label = f"{clients()} clients, closed loop, through the gateway"
                for pct in (50, 95):
                    report(f"page {page.replace(item_id, '<id>')} p{pct} ({label})",
                           round(percentile(page_ms, pct), 1), "ms",
                           f"API {api.replace(item_id, '<id>')} p{pct}", round(percentile(api_ms, pct), 1))
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    from bench import print_report

    run(print_report)
