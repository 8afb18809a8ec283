"""The HTTP side of a download: conditional and Range headers in, a streamed response out."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, request
from werkzeug.http import http_date

from services.content.domain.collaterals import Collateral, resolve_range
from services.content.handlers.collaterals import Download, DownloadPlan


def negotiate(collateral: Collateral) -> DownloadPlan:
    """304 when the client has it; one byte range when asked for exactly one (several ranges, an
    unknown unit or a stale ``If-Range`` get the whole file, as HTTP allows); HEAD sends no body."""
    etag = collateral.sha256
    if request.if_none_match and request.if_none_match.contains_weak(etag):
        return DownloadPlan(send_body=False, not_modified=True)
    send_body = request.method != "HEAD"
    rng = request.range
    if rng is None or rng.units != "bytes" or len(rng.ranges) != 1 or not _if_range_holds(collateral):
        return DownloadPlan(send_body=send_body)
    start, stop = rng.ranges[0]
    return DownloadPlan(send_body=send_body, byte_range=resolve_range(start, stop, collateral.size))


def _if_range_holds(collateral: Collateral) -> bool:
    if_range = request.if_range
    if if_range.etag is not None:
        return if_range.etag == collateral.sha256
    if if_range.date is not None:
        return int(if_range.date.timestamp()) == int(collateral.created_at.timestamp())
    return True


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name).strip() or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(download: Download) -> Response:
    c, plan = download.collateral, download.plan
    headers = {
        "ETag": f'"{c.sha256}"',
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(c.created_at),
        "Content-Disposition": content_disposition(c.filename),
    }
    if plan.not_modified:
        return Response(status=304, headers=headers)
    rng = plan.byte_range
    if rng is not None:
        headers["Content-Range"] = f"bytes {rng.start}-{rng.end}/{c.size}"
    headers["Content-Length"] = str(rng.length if rng else c.size)
    return Response(download.body if download.body is not None else [], status=206 if rng else 200,
                    headers=headers, content_type=c.content_type, direct_passthrough=True)
