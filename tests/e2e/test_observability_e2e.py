"""What an operator sees of a running platform.

Prometheus metrics: each service's ``/metrics`` on its own port (the pages service's too), the gateway's on
its internal listener, the relay's and the scheduler's on their own; none through the public gateway; and
the figures move when traffic flows (web tier, worker and relay are separate processes: the counts cross
them) and when a periodic duty runs. Logs: with ``PORTAL_LOG_FORMAT=json``
every process writes one JSON object per line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.people import PASSWORD, T, register
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

BACKENDS = ("identity", "linking", "content", "audit")
LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s+\| (.*)$")  # portal run's prefix: time, child, bar


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # One periodic duty, every few seconds from the start (the others off): the scheduler's figures move.
    duties = {f"PORTAL_SCHEDULE_{d}_SECONDS": "0" for d in ("PRIVACY_RETRY_EXPORTS", "PRIVACY_PURGE_EXPORTS",
                                                            "CONTENT_PURGE_COMPLAINTS", "CONTENT_SWEEP_FILES",
                                                            "AUDIT_RETAIN")}
    env = {"PORTAL_LOG_FORMAT": "json", "PORTAL_SCHEDULE_START_DELAY": "1", "PORTAL_SCHEDULE_AUDIT_VERIFY_SECONDS": "3",
           **duties}
    with running_platform(tmp_path_factory.mktemp("portal-run"), env) as running:
        yield running


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    resp = requests.get(url, timeout=T)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=T).status_code == 200
    except requests.ConnectionError:
        return False


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum over the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def endpoints(platform: Platform) -> dict[str, str]:
    urls = {s: f"{platform.service_url(s)}/metrics" for s in (*BACKENDS, "web")}
    for name in ("gateway", "relay", "scheduler"):
        urls[name] = f"http://127.0.0.1:{platform.metrics_ports[name]}/metrics"
    return urls


def test_metrics_are_never_served_through_the_public_gateway(platform: Platform):
    for path in ("/metrics", "/metrics/", "/metrics/x", "/api/identity/metrics", "/api/audit//metrics",
                 "/api/gateway/metrics", "/api/web/metrics"):
        resp = requests.get(platform.url + path, timeout=T)
        assert resp.status_code == 404, path
        assert "portal_http_requests_total" not in resp.text


def test_every_endpoint_answers_and_the_figures_move_with_traffic(platform: Platform):
    urls = endpoints(platform)
    # The relay opens its listener once it has loaded every service (after "Portal ready" at times).
    wait_until(lambda: all(_answers(url) for url in urls.values()), timeout=60, message="metrics listeners up")
    before = {name: scrape(url) for name, url in urls.items()}
    assert value(before["identity"], "portal_outbox_backlog", service="identity") >= 0
    assert ("portal_queue_depth", frozenset({("queue", "events.audit")})) in before["audit"]
    assert ("portal_outbox_backlog", frozenset({("service", "gateway")})) in before["gateway"]  # the spool

    _uid, email = register(platform.url, "Metric")
    ok = requests.post(f"{platform.url}/api/identity/sessions", json={"email": email, "password": PASSWORD},
                       timeout=T)
    bad = requests.post(f"{platform.url}/api/identity/sessions", json={"email": email, "password": "wrong" * 3},
                        timeout=T)
    assert (ok.status_code, bad.status_code) == (200, 401)
    assert requests.get(f"{platform.url}/", timeout=T).status_code == 200  # a page: the pages service counts

    def moved() -> bool:
        now = {name: scrape(url) for name, url in urls.items()}
        checks = [
            (now["identity"], before["identity"], "portal_http_requests_total",
             {"service": "identity", "route": "/users", "status": "201"}),
            (now["identity"], before["identity"], "portal_identity_logins_total", {"outcome": "ok"}),
            (now["identity"], before["identity"], "portal_identity_logins_total", {"outcome": "failed"}),
            (now["identity"], before["identity"], "portal_http_request_duration_seconds_count",
             {"service": "identity", "route": "/sessions"}),
            (now["gateway"], before["gateway"], "portal_http_requests_total",
             {"service": "gateway", "route": "/api/identity", "status": "201"}),
            (now["relay"], before["relay"], "portal_events_published_total",
             {"service": "identity", "type": "identity.user.registered"}),
            (now["audit"], before["audit"], "portal_events_consumed_total",
             {"service": "audit", "type": "identity.user.registered"}),
            (now["audit"], before["audit"], "portal_consumer_batch_size_count", {"service": "audit"}),
            (now["audit"], before["audit"], "portal_audit_chain_head_seq", {}),
            (now["web"], before["web"], "portal_http_requests_total",
             {"service": "web", "route": "/", "status": "200"}),
            (now["web"], before["web"], "portal_http_request_duration_seconds_count", {"service": "web"}),
            (now["scheduler"], before["scheduler"], "portal_schedule_duty_runs_total",
             {"duty": "audit-verify", "outcome": "ok"}),
            (now["scheduler"], before["scheduler"], "portal_schedule_duty_last_start_timestamp_seconds",
             {"duty": "audit-verify"}),
        ]
        return all(value(a, name, **labels) > value(b, name, **labels) for a, b, name, labels in checks)

    wait_until(moved, timeout=90, interval=1.0, message="metrics moved with the traffic")


def test_every_process_logs_one_json_object_per_line(platform: Platform):
    requests.get(f"{platform.url}/api/identity/{'x' * 9000}", timeout=T)  # gunicorn's own warning line
    wait_until(lambda: "Invalid request from ip" in platform.proc.output(), timeout=30, message="gunicorn warned")
    by_child: dict[str, list[dict]] = {}
    not_json = []
    for raw in platform.proc.output().splitlines():
        match = LINE.match(raw)
        if not match or match.group(1) in ("portal", "redis"):  # the supervisor's own words; Redis's log
            continue
        try:
            line = json.loads(match.group(2))
        except ValueError:
            not_json.append(raw)
            continue
        assert {"time", "level", "service", "process", "pid", "logger", "message", "correlation_id"} <= set(line)
        by_child.setdefault(match.group(1), []).append(line)
    assert not not_json, "\n".join(not_json[:20])
    audit_worker = platform.worker_child("audit")
    assert {"identity-web", audit_worker, "relay", "gateway"} <= set(by_child), sorted(by_child)
    assert {line["service"] for line in by_child["identity-web"]} == {"identity"}
    assert {line["process"] for line in by_child[audit_worker]} == {"worker"}
    assert "audit" in {line["service"] for line in by_child[audit_worker]}  # its thread's lines name its service
    warned = [line for line in by_child["gateway"] if "Invalid request" in line["message"]]
    assert warned and warned[0]["level"] == "warning" and warned[0]["service"] == "gateway"
