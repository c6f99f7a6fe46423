"""The client's address behind reverse proxies: what the outermost trusted proxy saw, never
what the client wrote itself."""

import pytest
from django.test import RequestFactory

from certportal.client import client_address, client_ip

rf = RequestFactory()


def request(remote="10.0.0.5", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/verify/", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.5"),  # no proxy: the peer
        (0, "1.2.3.4", "10.0.0.5"),  # no proxy configured: the header is the client's claim
        (1, "203.0.113.9", "203.0.113.9"),  # nginx appended the real client
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the client's own claim is ignored
        (2, "1.2.3.4, 203.0.113.9, 10.1.1.1", "203.0.113.9"),  # CDN then nginx
        (2, "203.0.113.9", "10.0.0.5"),  # fewer hops than proxies: only the peer is known
        (1, "203.0.113.9:51234", "203.0.113.9"),  # a balancer that appends the port
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "<script>", "10.0.0.5"),  # not an address: not believed (axes stores an IP)
    ],
)
def test_the_address_is_what_the_outermost_trusted_proxy_saw(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(request(forwarded=forwarded)) == expected


def test_a_request_without_an_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    bare = rf.get("/")
    del bare.META["REMOTE_ADDR"]
    assert client_ip(bare) is None and client_address(bare) == "unknown"


@pytest.mark.django_db
def test_behind_a_proxy_lookups_are_limited_per_client_not_for_everyone(client, settings):
    """Every request arrives from the proxy's address: one client's flood is refused while
    another client, through the same proxy, is still answered."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.VERIFY_RATE_LIMIT = "3/m"
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    url = "/verify/?cert_no=闽C052026000001&name=王小明"
    flood = [
        client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy).status_code for _ in range(5)
    ]
    assert flood == [200, 200, 200, 429, 429]
    other = client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert other.status_code == 200
    # The flooder cannot escape by claiming another address in front of the proxy's entry.
    claimed = client.get(url, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9", **proxy)
    assert claimed.status_code == 429


@pytest.mark.django_db
def test_behind_a_proxy_login_lockout_is_per_client(client, settings, applicant):
    """Five failed logins lock the address that made them (as the proxy reports it), not the
    proxy and everyone behind it."""
    from tests.factories import PASSWORD

    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    for n in range(5):
        client.post(
            "/accounts/login/",
            {"username": f"1390000{n:04d}", "password": "wrong-password"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
            **proxy,
        )
    locked = client.post(
        "/accounts/login/",
        {"username": applicant.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        **proxy,
    )
    assert locked.status_code == 429
    other = client.post(
        "/accounts/login/",
        {"username": applicant.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **proxy,
    )
    assert other.status_code == 302
