"""Synchronous calls between services: ``requests`` with timeouts, retries and signed identity."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.web.errors import Unavailable
from shared.web.identity import Identity, sign_headers


class ServiceClient:
    """Calls another service as ``system:<caller>`` (or on behalf of a given identity)."""

    def __init__(self, base_url: str, secret: bytes, caller: str, timeout: float = 5.0, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.caller = caller
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=0, status=0, backoff_factor=0.2,
                      allowed_methods=None, raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method: str, path: str, *, identity: Identity | None = None,
                request_id: str | None = None, **kwargs: Any) -> requests.Response:
        ident = identity or Identity(user_id=f"system:{self.caller}", request_id=request_id)
        url = self.base_url + path
        signed_path = unquote(urlsplit(url).path)
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.update(sign_headers(self.secret, ident, method, signed_path))
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, url, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise Unavailable(f"{self.base_url} is unreachable: {type(exc).__name__}") from exc

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)
