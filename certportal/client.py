"""The client's address, for rate limits, login throttling and lookup records.

Without a reverse proxy it is ``REMOTE_ADDR``. Behind ``TRUSTED_PROXY_COUNT`` reverse proxies,
each appending the address it saw to ``X-Forwarded-For``, it is the entry that many places from
the right: the address the outermost trusted proxy saw. Entries further left are whatever the
client sent and are never believed, so nobody can choose their own rate-limit bucket; with no
proxy configured the header is not read at all.

The header is believed only from the proxies themselves: read from the right, each address
up to the one taken (the peer, then what each inner proxy wrote) must be in
``TRUSTED_PROXY_NETWORKS``; the first that is not is the client as far as is known. So a client
that reaches gunicorn directly, past the proxies, is keyed by its own address whatever it
writes into the header.
"""

from __future__ import annotations

import functools
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The address as recorded (lookup records): ``"unknown"`` when there is none."""
    return client_ip(request) or "unknown"


@functools.lru_cache(maxsize=4096)
def subscriber(address: str | None) -> str | None:
    """The address as one subscriber holds it, for every limit counted per client: an IPv6
    address by its /64 (one subscriber holds a whole /64, and rotating through it must not buy
    new tries), written as the /64's first address so it still fits an IP column; an
    IPv4-mapped one (``::ffff:a.b.c.d`` from a dual-stack socket) as the IPv4 address.
    (Remembered for the addresses seen last: every lookup asks, and parsing is 2 µs.)"""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def client_subscriber(request: HttpRequest) -> str | None:
    """``subscriber`` of the request's address: django-axes' login throttling key."""
    return subscriber(client_ip(request))


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
    chain = [*forwarded, remote]  # the nearest last
    # As many hops as there are proxies, or as the proxies wrote, if fewer.
    reach = min(hops, len(forwarded))
    for depth in range(reach):
        address = chain[-1 - depth]
        if not _is_proxy(address):
            # Not one of our proxies: the entries left of it are its own claims, and this is
            # the last address known for sure.
            if depth == 0 and forwarded:
                _warn_untrusted_peer(address)
            return _ip(address) or remote
    # Every hop a proxy's: the address the outermost saw (or, if fewer proxies wrote to the
    # header than there are, the leftmost address they wrote).
    return _ip(chain[-1 - reach]) or remote


_warned = False


def _warn_untrusted_peer(address: str | None) -> None:
    """Once per process: X-Forwarded-For from a peer outside TRUSTED_PROXY_NETWORKS. Either a
    client reached gunicorn past the proxies, or the proxies connect from a network not
    listed, and then every client shares the proxy's rate-limit bucket."""
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "X-Forwarded-For from %s, which is not in TRUSTED_PROXY_NETWORKS: not believed",
            address,
        )


def _is_proxy(address: str | None) -> bool:
    """Whether ``address`` is in ``TRUSTED_PROXY_NETWORKS``."""
    ip = _ip(address)
    if ip is None:
        return False
    parsed = ipaddress.ip_address(ip)
    if parsed.version == 6 and parsed.ipv4_mapped:  # ::ffff:10.0.0.5 from a dual-stack socket
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in _networks(tuple(settings.TRUSTED_PROXY_NETWORKS)))


@functools.lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs)


def _ip(value: str | None) -> str | None:
    """An IP address as stored (django-axes keeps it in an IP column), or None. Some balancers
    append ``address:port``; anything else that is not an address is not believed."""
    if not value:
        return None
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
