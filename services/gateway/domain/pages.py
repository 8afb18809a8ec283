"""What the gateway answers itself on a page path (outside ``/api/``) when it does not forward it: a
person with a browser gets an HTML page or a redirect, never the API's JSON error."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

STATIC_PREFIX = "/static/"  # the pages' own assets: versioned URLs, cached for a year, not recorded
POLICY_REVIEW = "/policy/accept"

_TITLES = {
    403: "Not allowed", 404: "Page not found", 405: "Not allowed", 413: "Too large",
    429: "Slow down", 503: "Temporarily unavailable", 504: "Temporarily unavailable",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Portal</title></head>
<body><main><h1>{title}</h1><p>{message}</p>{extra}<p><a href="/">Go to the home page</a></p></main></body></html>
"""
# The same strict policy the pages service sends: nothing inline, nothing from elsewhere.
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
]


def is_static(path: str) -> bool:
    return path.startswith(STATIC_PREFIX)


def error_page(status: int, message: str, extra_headers: dict[str, str] | None = None):
    """(status, headers, body) of a small HTML page; ``Retry-After`` (429) is kept and said in words."""
    extra_headers = dict(extra_headers or {})
    retry = extra_headers.get("Retry-After", "")
    extra = f"<p>Please wait {escape(retry)} seconds, then try again.</p>" if status == 429 and retry else ""
    title = _TITLES.get(status, "Something went wrong")
    body = _PAGE.format(title=title, message=escape(message), extra=extra).encode()
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
               *SECURITY_HEADERS, *extra_headers.items()]
    return status, headers, [body], [len(body)]


def policy_review_redirect(path: str, query: str):
    """A session that must accept a new policy version first is sent to the page for that, and the
    page sends it back here afterwards (``next`` is the path only when the request changed state)."""
    target = path + ("?" + query if query else "")
    location = f"{POLICY_REVIEW}?next={quote(target, safe='/')}"
    headers = [("Location", location), ("Content-Length", "0"), *SECURITY_HEADERS]
    return 303, headers, [], [0]
