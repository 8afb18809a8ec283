"""The compliance console: search the server log store (every filter, cursor paging), one event in full,
export of the current filter, chain integrity, usage trends, the disclosure register and the live view.

Every page is for the ``compliance`` role and reads the audit service as the reviewer, so each search,
export, verification and stream is recorded in the store like the API's own (docs/audit.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, container, done, form_failure, form_values, identity, render, require_role
from services.web.domain.usage_chart import usage_chart

blp = Blueprint("compliance", __name__)
NAV = [NavLink("/compliance", "Compliance", roles=("compliance",), order=70)]

ROLE = "compliance"
FILTERS = ("actor", "subject", "type", "correlation_id", "since", "until")
PAGE_SIZES = ("20", "50", "100", "200")
LIVE_BACKLOG = 20  # events the live view shows when it opens, before new ones arrive
EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _filters(args: Any) -> dict[str, str]:
    """The search filters given (blank ones left out), as the audit API takes them."""
    return {name: value for name in FILTERS if (value := (args.get(name) or "").strip())}


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


@blp.get("/compliance")
def search():
    """Audit search: the filter form (GET, so a result page can be bookmarked and paged), the results,
    the next page by cursor, and download links for the same filter."""
    require_role(ROLE)
    filters = _filters(request.args)
    order = request.args.get("order") or "desc"
    limit = request.args.get("limit") or "50"
    cursor = request.args.get("cursor") or None
    errors: dict = {}
    result: dict = {"items": [], "next_cursor": None}
    try:
        result = api("audit", "GET", "/events", params={**filters, "order": order, "limit": limit, "cursor": cursor})
    except ApiFailure as exc:
        errors = form_failure(exc)
    next_page = (f"/compliance?{_query(**filters, order=order, limit=limit, cursor=result['next_cursor'])}"
                 if result.get("next_cursor") else None)
    return render("compliance/search.html", 400 if errors else 200, errors=errors,
                  values={**filters, "order": order, "limit": limit}, items=result.get("items", []),
                  next_page=next_page, paged=bool(cursor),
                  first_page=f"/compliance?{_query(**filters, order=order, limit=limit)}",
                  export_csv=f"/compliance/export?{_query(**filters, format='csv')}",
                  export_jsonl=f"/compliance/export?{_query(**filters, format='jsonl')}",
                  page_sizes=PAGE_SIZES)


@blp.get("/compliance/export")
def export():
    """The current filter's events as a download, streamed from the audit service as it writes them."""
    require_role(ROLE)
    fmt = request.args.get("format") or "csv"
    if fmt not in EXPORT_MEDIA:
        fmt = "csv"
    upstream = container().apis.stream("audit", "GET", "/events/export", identity(),
                                       params={**_filters(request.args), "format": fmt})
    body = upstream.iter_content(64 * 1024)
    resp = Response(body, headers={
        "Content-Type": upstream.headers.get("Content-Type", EXPORT_MEDIA[fmt]),
        "Content-Disposition": f'attachment; filename="audit-events.{fmt}"',
    })
    resp.call_on_close(upstream.close)
    return resp


@blp.get("/compliance/events/<int:seq>")
def event(seq: int):
    require_role(ROLE)
    item = api("audit", "GET", f"/events/{seq}")
    return render("compliance/event.html", event=item,
                  same_request=f"/compliance?{_query(correlation_id=item.get('correlation_id'))}"
                  if item.get("correlation_id") else None)


@blp.get("/compliance/integrity")
def integrity():
    """Verifies the chain now (the API walks every row) and says what it found."""
    require_role(ROLE)
    report = api("audit", "GET", "/integrity") or {}
    known = {"ok", "checked", "last_seq", "first_broken", "problem", "problems", "public_key", "anchor"}
    return render("compliance/integrity.html", report=report, anchor=report.get("anchor") or {},
                  key=report.get("public_key") or {}, more={k: v for k, v in report.items() if k not in known})


@blp.get("/compliance/trends")
def trends():
    require_role(ROLE)
    values = {"from": (request.args.get("from") or "").strip(), "to": (request.args.get("to") or "").strip()}
    errors: dict = {}
    data: dict = {}
    try:
        data = api("audit", "GET", "/trends", params={k: v for k, v in values.items() if v}) or {}
    except ApiFailure as exc:
        errors = form_failure(exc)
    chart = usage_chart(data) if data else None
    return render("compliance/trends.html", 400 if errors else 200, errors=errors, values=values, data=data,
                  chart=chart)


@blp.route("/compliance/disclosures", methods=["GET", "POST"])
def disclosures():
    """The disclosure register: entries (all, or about one person) and a form to record one."""
    require_role(ROLE)
    errors: dict = {}
    if request.method == "POST":
        try:
            entry = api("audit", "POST", "/disclosures", json=_disclosure(request.form))
            return done(f"The disclosure to {entry['recipient']} is recorded in the register.",
                        "/compliance/disclosures")
        except ApiFailure as exc:
            errors = form_failure(exc)
    subject = (request.args.get("subject_user_id") or "").strip()
    cursor = request.args.get("cursor") or None
    listing = api("audit", "GET", "/disclosures", params={"subject_user_id": subject or None, "cursor": cursor,
                                                          "limit": 50})
    next_page = (f"/compliance/disclosures?{_query(subject_user_id=subject, cursor=listing['next_cursor'])}"
                 if listing.get("next_cursor") else None)
    return render("compliance/disclosures.html", 400 if errors else 200, errors=errors,
                  values=form_values() if errors else {}, items=listing.get("items", []), subject=subject,
                  next_page=next_page)


def _disclosure(form: Any) -> dict[str, Any]:
    categories = [c.strip() for c in (form.get("data_categories") or "").split(",") if c.strip()]
    body: dict[str, Any] = {"subject_user_id": (form.get("subject_user_id") or "").strip(),
                            "recipient": (form.get("recipient") or "").strip(),
                            "legal_basis": (form.get("legal_basis") or "").strip(),
                            "data_categories": categories}
    if (form.get("disclosed_at") or "").strip():
        body["disclosed_at"] = form["disclosed_at"].strip()
    return body


@blp.get("/compliance/live")
def live():
    """The newest matching events, then (with script) every new one as it is stored, through the audit
    stream (Server-Sent Events, resumed after the newest shown). Without script: a refresh link."""
    require_role(ROLE)
    filters = _filters(request.args)
    errors: dict = {}
    items: list = []
    try:
        items = api("audit", "GET", "/events", params={**filters, "order": "desc", "limit": LIVE_BACKLOG})["items"]
    except ApiFailure as exc:
        errors = form_failure(exc)
    newest = max((i["seq"] for i in items), default=None)
    return render("compliance/live.html", 400 if errors else 200, errors=errors, values=filters, items=items,
                  stream_url=f"/api/audit/events/stream?{_query(**filters)}".rstrip("?"), last_event_id=newest)
