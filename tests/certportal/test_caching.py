"""certportal.caching.never_cache writes the very headers Django's never_cache writes."""

from __future__ import annotations

from unittest import mock

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache as django_never_cache

from certportal import caching


def both(make_response):
    ours = caching.never_cache(lambda request: make_response())(RequestFactory().get("/"))
    theirs = django_never_cache(lambda request: make_response())(RequestFactory().get("/"))
    return ours, theirs


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Cache-Control": "no-store"},  # as the rate limit's refusal sets it
        {"Cache-Control": "public, max-age=600"},
        {"Expires": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ],
)
def test_the_headers_are_djangos(headers):
    def make():
        response = HttpResponse("x")
        for name, value in headers.items():
            response[name] = value
        return response

    with mock.patch("time.time", return_value=1_795_000_000.7):
        ours, theirs = both(make)
    assert dict(ours.headers) == dict(theirs.headers)
    assert "no-store" in ours["Cache-Control"] and ours["Expires"]


def test_expires_follows_the_clock():
    with mock.patch("time.time", return_value=1_795_000_000.2):
        first = caching.never_cache(lambda r: HttpResponse())(RequestFactory().get("/"))
    with mock.patch("time.time", return_value=1_795_000_061.0):
        later = caching.never_cache(lambda r: HttpResponse())(RequestFactory().get("/"))
    expected = HttpResponse()
    with mock.patch("time.time", return_value=1_795_000_061.0):
        add_never_cache_headers(expected)
    assert first["Expires"] != later["Expires"] == expected["Expires"]


@pytest.mark.django_db
def test_the_lookup_page_is_never_cached(client):
    response = client.get("/verify/", {"cert_no": "闽C052026000001", "name": "王小明"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert response["Expires"].endswith(" GMT")
