"""Synchronous calls between services: ``requests`` with timeouts, retries and signed identity."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.config import ConfigError, service_url
from shared.errors import Unavailable
from shared.identity import Identity
from shared.web.identity import sign_headers


class ServiceClient:
    """Calls another service as ``system:<caller>`` (or on behalf of a given identity)."""

    def __init__(self, base_url: str, secret: bytes, caller: str, timeout: float = 5.0, retries: int = 2,
                 service: str | None = None) -> None:
        """``service``: the service at ``base_url`` (the signature is made for it); by default the one whose
        ``<SERVICE>_URL`` is ``base_url``."""
        self.base_url = base_url.rstrip("/")
        self.service = service or service_at(self.base_url)
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
        headers = dict(kwargs.pop("headers", {}) or {})
        send_options = {k: kwargs.pop(k) for k in ("timeout", "stream", "allow_redirects", "verify", "cert",
                                                   "proxies") if k in kwargs}
        send_options.setdefault("timeout", self.timeout)
        try:
            prepared = self.session.prepare_request(
                requests.Request(method, self.base_url + path, headers=headers, **kwargs))
            url = urlsplit(prepared.url or "")
            body = prepared.body if isinstance(prepared.body, (bytes, str)) or prepared.body is None else None
            prepared.headers.update(sign_headers(self.secret, ident, method, unquote(url.path), service=self.service,
                                                 query=url.query, body=b"" if prepared.body is None else body))
            return self.session.send(prepared, **send_options)
        except requests.RequestException as exc:
            raise Unavailable(f"{self.base_url} is unreachable: {type(exc).__name__}") from exc

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


KNOWN_SERVICES = ("identity", "linking", "content", "audit", "gateway")


def service_at(base_url: str) -> str:
    """The service whose configured URL (``<SERVICE>_URL``) is ``base_url``."""
    for name in KNOWN_SERVICES:
        if service_url(name) == base_url.rstrip("/"):
            return name
    raise ConfigError(f"no <SERVICE>_URL names {base_url}: say which service it is (ServiceClient(service=...))")
