"""Who the client is and which of its claims the gateway believes.

Only a peer in ``GATEWAY_TRUSTED_PROXIES`` (a load balancer terminating TLS) may tell the gateway the
client's address (``X-Forwarded-For``), the scheme (``X-Forwarded-Proto``) and a request id; anyone
else gets the socket's address, the gateway's own scheme and a fresh request id.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII: no spaces, no header injection


def _ip(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted(address: str | None, networks: Sequence[IpNetwork]) -> bool:
    if not networks or not address:
        return False
    ip = _ip(address)
    return ip is not None and any(ip in net for net in networks)


def client_ip(peer: str, forwarded_for: str | None, networks: Sequence[IpNetwork]) -> str:
    """The first address, from the right, that is not one of our proxies (the left part of
    ``X-Forwarded-For`` is whatever the client chose to write there)."""
    if not forwarded_for or not is_trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            return peer
        if not any(ip in net for net in networks):
            return str(ip)
    return str(_ip(hops[0])) if hops else peer


def scheme(own_scheme: str, forwarded_proto: str | None, peer_trusted: bool) -> str:
    if peer_trusted and forwarded_proto:
        proto = forwarded_proto.split(",")[0].strip().lower()
        if proto in ("http", "https"):
            return proto
    return own_scheme


def acceptable_request_id(value: str | None) -> str | None:
    if value and _REQUEST_ID_RE.match(value):
        return value
    return None
