"""The pages' calls to the API services: straight to their internal URLs (not back through the
gateway), signed with the identity the gateway gave this request, with timeouts.

A call that is not a success raises ``ApiFailure`` carrying the contract's error (status, code,
message, fields); the pages decide what a person sees for it (api/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from shared.identity import Identity
from shared.web.client import ServiceClient
from shared.web.errors import ApiError


class ApiFailure(Exception):
    """A service answered with the contract's error shape (or not at all: status 503)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None,
                 retry_after: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.retry_after = retry_after


@dataclass
class ApiReply:
    status: int
    data: Any
    set_cookies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Browser:
    """What of the browser's request a service may need: its cookies (consent, analytics id) and the
    scheme, which tells identity which session cookie name to set."""

    cookie_header: str = ""
    scheme: str = "http"


class ServiceApis:
    """One pooled client per API service."""

    def __init__(self, urls: dict[str, str], secret: bytes, timeout: float) -> None:
        self.clients = {name: ServiceClient(url, secret, caller="web", timeout=timeout, retries=1)
                        for name, url in urls.items()}

    def close(self) -> None:
        for client in self.clients.values():
            client.session.close()

    def call(self, service: str, method: str, path: str, identity: Identity, *, browser: Browser | None = None,
             json: Any = None, params: dict[str, Any] | None = None) -> ApiReply:
        resp = self._send(service, method, path, identity, browser, json=json, params=params)
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = None
        if resp.status_code >= 400:
            raise failure(resp.status_code, data, resp.headers.get("Retry-After"))
        return ApiReply(resp.status_code, data, _set_cookies(resp))

    def stream(self, service: str, method: str, path: str, identity: Identity, *,
               params: dict[str, Any] | None = None) -> requests.Response:
        """A download, left unread: the page passes its bytes on as they come."""
        resp = self._send(service, method, path, identity, None, params=params, stream=True)
        if resp.status_code >= 400:
            try:
                data = resp.json()
            except ValueError:
                data = None
            finally:
                resp.close()
            raise failure(resp.status_code, data, resp.headers.get("Retry-After"))
        return resp

    def _send(self, service: str, method: str, path: str, identity: Identity, browser: Browser | None,
              **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json"}
        if browser is not None:
            headers["X-Forwarded-Proto"] = browser.scheme
            if browser.cookie_header and service == "identity":
                headers["Cookie"] = browser.cookie_header
        try:
            return self.clients[service].request(method, path, identity=identity, headers=headers, **kwargs)
        except ApiError as exc:  # unreachable: the client's own 503
            raise ApiFailure(503, "service_unavailable", exc.message) from exc


def failure(status: int, data: Any, retry_after: str | None) -> ApiFailure:
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return ApiFailure(status, "error", "The service gave an unexpected answer.", retry_after=retry_after)
    raw = err.get("fields")
    fields: dict = raw if isinstance(raw, dict) else {}
    flat = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()}
    return ApiFailure(status, str(err.get("code") or "error"), str(err.get("message") or ""), flat, retry_after)


def _set_cookies(resp: requests.Response) -> list[str]:
    raw = getattr(resp.raw, "headers", None)
    if raw is None or not hasattr(raw, "getlist"):
        return []
    return list(raw.getlist("Set-Cookie"))
