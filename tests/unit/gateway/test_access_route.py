"""The access event's ``subject`` is the route, never what a person typed in the path: words of the services'
routes stay, everything else reads ``{}``; the full path stays in the payload (sealed per person by the log
store). ``ROUTE_WORDS`` must hold every literal segment of every service's routes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from services.gateway.domain.access_route import ROUTE_WORDS, route_template
from services.gateway.handlers import Access, access_event
from shared.web.identity import Identity

REPO = Path(__file__).resolve().parents[3]
ROUTE = re.compile(r"""\.(?:route|get|post|put|delete|patch)\(\s*["'](/[^"']*)["']""")


def test_every_literal_segment_of_every_route_is_a_route_word():
    words = set()
    for source in (REPO / "services").glob("*/api/*.py"):
        for route in ROUTE.findall(source.read_text()):
            words |= {s for s in route.split("/") if s and not s.startswith("<")}
    assert words, "no routes found"
    assert words - ROUTE_WORDS == set(), "add these route words to services/gateway/domain/access_route.py"


def test_typed_segments_become_placeholders():
    assert route_template("/api/content/items/3f2a-99") == "/api/content/items/{}"
    assert route_template("/api/identity/me") == "/api/identity/me"
    assert route_template("/api/identity/users/ada@example.com/roles") == "/api/identity/users/{}/roles"
    assert route_template("/help/Jane Roe's divorce") == "/{}/{}"
    assert route_template("/api/linking/companies/") == "/api/linking/companies/"
    assert route_template("/api/nosuch/x") == "/api/{}/{}"
    assert route_template("/" + "a/" * 400).startswith("/{}/") and len(route_template("/" + "a/" * 400)) <= 500


def test_the_access_event_names_the_route_and_keeps_the_path_in_its_payload():
    access = Access(method="GET", path="/api/content/items/jane-roe-divorce", query="q=jane", client_ip="192.0.2.1",
                    user_agent="ua", request_id="r1", service="content", identity=Identity(user_id="u1"),
                    status=404)
    _event_id, body = access_event(access)
    event = json.loads(body)
    assert event["subject"] == "/api/content/items/{}"
    assert "jane" not in event["subject"]
    assert event["payload"]["path"] == "/api/content/items/jane-roe-divorce" and event["payload"]["query"] == "q=jane"
