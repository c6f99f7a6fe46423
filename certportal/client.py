"""The client's address, for rate limits, login throttling and lookup records.

Without a reverse proxy it is ``REMOTE_ADDR``. Behind ``TRUSTED_PROXY_COUNT`` reverse proxies,
each appending the address it saw to ``X-Forwarded-For``, it is the entry that many places from
the right: the address the outermost trusted proxy saw. Entries further left are whatever the
client sent and are never believed, so nobody can choose their own rate-limit bucket; with no
proxy configured the header is not read at all.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address as a key (rate-limit buckets): ``"unknown"`` when there is none."""
    return client_ip(request) or "unknown"


def client_ip(request: HttpRequest) -> str | None:
    """The address, or None when the request has none (django-axes stores it as an IP)."""
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return remote  # not through the expected proxies: the direct peer is all we know
    return _ip(forwarded[-hops]) or remote


def _ip(value: str) -> str | None:
    """An IP address as stored (django-axes keeps it in an IP column), or None. Some balancers
    append ``address:port``; anything else that is not an address is not believed."""
    candidates = [value]
    if value.count(":") == 1:  # IPv4 with a port
        candidates.append(value.split(":")[0])
    if value.startswith("[") and "]" in value:  # [IPv6]:port
        candidates.append(value[1 : value.index("]")])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
