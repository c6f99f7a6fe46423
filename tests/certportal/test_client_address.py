"""The client's address behind reverse proxies: what the outermost trusted proxy saw, never
what the client wrote itself."""

import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from certportal import client
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
        # Fewer hops than proxies: a client that came to nginx past the CDN, as nginx saw it
        # (not nginx's own address, which would put it in a bucket with others).
        (2, "203.0.113.9", "203.0.113.9"),
        (1, "", "10.0.0.5"),  # nginx wrote nothing: the peer is all that is known
        (1, "203.0.113.9:51234", "203.0.113.9"),  # a balancer that appends the port
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "<script>", "10.0.0.5"),  # not an address: not believed (axes stores an IP)
    ],
)
def test_the_address_is_what_the_outermost_trusted_proxy_saw(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    assert client_address(request(forwarded=forwarded)) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # A client that reached gunicorn directly, past the proxy, claims another address.
        ("198.51.100.20", "203.0.113.9", "198.51.100.20"),
        ("198.51.100.20", "1.1.1.1, 203.0.113.9", "198.51.100.20"),
        ("::ffff:10.0.0.5", "203.0.113.9", "203.0.113.9"),  # the proxy, on a dual-stack socket
        ("::1", "203.0.113.9", "203.0.113.9"),
        ("2001:db8::7", "203.0.113.9", "2001:db8::7"),
    ],
)
def test_the_header_is_believed_only_from_the_proxies(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8", "::1/128"]
    assert client_address(request(remote=remote, forwarded=forwarded)) == expected


def test_each_proxy_behind_the_outermost_must_be_trusted_too(settings):
    """Two proxies (a CDN, then nginx): the CDN's address, as nginx wrote it, must be one of
    the trusted networks, or a client could pose as the CDN by connecting to nginx."""
    settings.TRUSTED_PROXY_COUNT = 2
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8", "192.0.2.0/24"]  # nginx's, the CDN's
    via_cdn = request(remote="10.0.0.5", forwarded="1.2.3.4, 203.0.113.9, 192.0.2.10")
    assert client_address(via_cdn) == "203.0.113.9"
    # A client that connects to nginx itself, bypassing the CDN, posing as a CDN's client.
    posing = request(remote="10.0.0.5", forwarded="203.0.113.9, 198.51.100.20")
    assert client_address(posing) == "198.51.100.20"  # as nginx saw it
    settings.TRUSTED_PROXY_NETWORKS = ["192.0.2.0/24"]  # nginx's own address not listed
    assert client_address(via_cdn) == "10.0.0.5"


def start(**environ) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter, as a process starting would."""
    return subprocess.run(
        [sys.executable, "-c", "import certportal.settings as s; print(s.TRUSTED_PROXY_NETWORKS)"],
        cwd=django_settings.BASE_DIR,
        env={"DEBUG": "true", "PATH": "", **environ},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_proxy_networks_are_read_as_an_operator_writes_them():
    started = start(TRUSTED_PROXY_COUNT="1", TRUSTED_PROXY_NETWORKS="10.0.0.0/8, 192.168.0.0/16")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "['10.0.0.0/8', '192.168.0.0/16']"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        # A typo must not quietly trust nothing (or everything).
        ({"TRUSTED_PROXY_NETWORKS": "10.0.0.0/8,10.0.0.0/33"}, "10.0.0.0/33"),
        # A proxy count without saying where the proxies are would believe anyone's header.
        ({"TRUSTED_PROXY_COUNT": "1"}, "TRUSTED_PROXY_NETWORKS"),
    ],
)
def test_a_proxy_setting_that_cannot_be_right_stops_the_start(environ, named):
    started = start(**environ)
    assert started.returncode != 0
    assert "TRUSTED_PROXY_NETWORKS" in started.stderr and named in started.stderr


def test_a_header_from_outside_the_proxies_is_logged_once(settings, caplog, monkeypatch):
    """An operator whose proxy connects from a network not listed sees why every client
    shares one bucket; a flood of forged headers does not flood the log."""
    monkeypatch.setattr(client, "_warned", False)
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    with caplog.at_level("WARNING", logger="certportal.client"):
        for _ in range(3):
            client_address(request(remote="198.51.100.20", forwarded="203.0.113.9"))
    warnings = [r for r in caplog.records if "TRUSTED_PROXY_NETWORKS" in r.getMessage()]
    assert len(warnings) == 1 and "198.51.100.20" in warnings[0].getMessage()


def test_a_request_without_an_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    bare = rf.get("/")
    del bare.META["REMOTE_ADDR"]
    assert client_ip(bare) is None and client_address(bare) == "unknown"
    bare.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    assert client_ip(bare) is None  # no peer: nothing vouches for the header


@pytest.mark.django_db
def test_behind_a_proxy_lookups_are_limited_per_client_not_for_everyone(
    client, settings, monkeypatch
):
    """Every request arrives from the proxy's address: one client's flood is refused while
    another client, through the same proxy, is still answered."""
    import time

    from verification import ratelimit

    # Inside one minute: a flood running across a window's end would start its count again.
    held = time.time() // 60 * 60 + 30
    monkeypatch.setattr(ratelimit, "clock", lambda: held)
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
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
def test_behind_a_proxy_login_lockout_is_per_client(
    client, settings, applicant, steady_login_window
):
    """An address's failed logins lock the address that made them (as the proxy reports it),
    not the proxy and everyone behind it."""
    from tests.factories import PASSWORD

    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
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
