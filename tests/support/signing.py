"""Calls signed the way the gateway signs them (method, path, query, body digest, target service, nonce),
for test clients: Flask's test client (``signed_open``) and ``requests`` (``signed_send``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.identity import Identity
from shared.web.identity import sign_headers


def signed_open(client: Any, secret: bytes, service: str, identity: Identity, method: str, path: str,
                headers: dict[str, str] | None = None, **kwargs: Any):
    """Call through Flask's test client as the gateway would: ``kwargs`` (json, data, query_string, content_type,
    environ_overrides ...) build the request, which is then signed for ``service`` over its path, query and
    body; ``headers`` win over the signed ones (to forge or drop them)."""
    overrides = kwargs.pop("environ_overrides", None)
    builder = EnvironBuilder(path=path, method=method, headers=headers, **kwargs)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    body = environ["wsgi.input"].read()
    query = environ.get("QUERY_STRING", "")
    signed = sign_headers(secret, identity, method, Request(environ).path, service=service, query=query, body=body)
    given = {h.lower() for h in headers or {}}
    all_headers = {**{k: v for k, v in signed.items() if k.lower() not in given}, **(headers or {})}
    if environ.get("CONTENT_TYPE"):
        all_headers.setdefault("Content-Type", environ["CONTENT_TYPE"])
    return client.open(path.split("?", 1)[0], method=method, data=body, query_string=query, headers=all_headers,
                       environ_overrides=overrides)


def signed_send(session: requests.Session, secret: bytes, service: str, identity: Identity, method: str,
                url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """A ``requests`` call signed over what is actually sent (a generator body is signed as streamed)."""
    send = {k: kwargs.pop(k) for k in ("timeout", "stream", "allow_redirects") if k in kwargs}
    prepared = session.prepare_request(requests.Request(method, url, **kwargs))
    parts = urlsplit(prepared.url or "")
    body = prepared.body
    digest_of = b"" if body is None else (body if isinstance(body, (bytes, str)) else None)
    prepared.headers.update(sign_headers(secret, identity, method, unquote(parts.path), service=service,
                                         query=parts.query, body=digest_of))
    prepared.headers.update(headers or {})
    return session.send(prepared, **send)
