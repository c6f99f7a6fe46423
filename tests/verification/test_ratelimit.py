"""Per-address rate limits on every public lookup: a fixed window in the cache."""

from __future__ import annotations

import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from verification import ratelimit
from verification.models import LookupOutcome, LookupRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_clock(monkeypatch):
    """The limiter's clock, set by hand: ``frozen_clock.now += 60`` steps over a window."""

    class Clock:
        now = 1_800_000_000.0  # a window boundary for s, m and h

    monkeypatch.setattr(ratelimit, "clock", lambda: Clock.now)
    return Clock


def test_rates_are_parsed_and_bad_ones_refused():
    assert ratelimit.parse_rate("20/m") == (20, 60)
    assert ratelimit.parse_rate(" 3 / s ") == (3, 1)
    assert ratelimit.parse_rate("500/h") == (500, 3600)
    for bad in ("", "20", "20/d", "0/m", "-1/m", "m/20"):
        with pytest.raises(ImproperlyConfigured):
            ratelimit.parse_rate(bad)


def test_the_limit_trips_at_its_threshold_and_lifts_after_its_window(
    client, certificate, settings, frozen_clock
):
    settings.VERIFY_RATE_LIMIT = "3/m"
    frozen_clock.now += 15  # 45 s left in this window
    for _ in range(3):
        assert client.get(certificate.verify_path).status_code == 200
    refused = client.get(certificate.verify_path)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    body = refused.content.decode()
    assert "查询过于频繁" in body and "请在 45 秒后" in body and "每分钟最多查询 3 次" in body
    assert refused.templates[0].name == "verification/rate_limited.html"
    assert certificate.number not in body

    frozen_clock.now += 44
    assert client.get(certificate.verify_path).status_code == 429
    frozen_clock.now += 1  # the next window
    assert client.get(certificate.verify_path).status_code == 200


def test_the_limit_lifts_in_real_time(client, certificate, settings):
    """No patched clock: a one-second window really ends."""
    settings.VERIFY_RATE_LIMIT = "2/s"
    time.sleep(1 - time.time() % 1 + 0.01)  # start at the beginning of a second
    statuses = [client.get(certificate.verify_path).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    time.sleep(1 - time.time() % 1 + 0.01)
    assert client.get(certificate.verify_path).status_code == 200


def test_every_lookup_shares_the_budget(client, certificate, settings, frozen_clock):
    settings.VERIFY_RATE_LIMIT = "5/m"
    person = {"name": "王小明", "id_number": certificate.holder_id_number}
    assert client.post("/verify/", person).status_code == 200
    assert (
        client.get("/verify/", {"cert_no": certificate.number, "name": "王小明"}).status_code == 200
    )
    assert (
        client.get("/api/v1/verify", {"cert_no": certificate.number, "name": "王小明"}).status_code
        == 200
    )
    assert client.get(certificate.verify_path).status_code == 200
    with certificate.pdf.open("rb") as handle:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("c.pdf", handle.read(), "application/pdf")
    assert client.post("/verify/upload/", {"file": upload}).status_code == 200
    assert client.post("/verify/", person).status_code == 429
    assert client.get("/verify/", {"cert_no": certificate.number, "name": "王"}).status_code == 429
    assert client.post("/verify/upload/", {"file": upload}).status_code == 429


def test_the_empty_form_is_not_a_lookup(client, db, settings, frozen_clock):
    settings.VERIFY_RATE_LIMIT = "1/m"
    for _ in range(5):
        assert client.get("/verify/").status_code == 200


def test_the_api_answers_429_as_json(client, certificate, settings, frozen_clock):
    settings.VERIFY_RATE_LIMIT = "1/m"
    query = {"cert_no": certificate.number, "name": "王小明"}
    assert client.get("/api/v1/verify", query).status_code == 200
    refused = client.post(
        "/api/v1/verify",
        json.dumps({"name": "王小明", "id_number": certificate.holder_id_number}),
        content_type="application/json",
    )
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] == 60
    assert "60 秒后再试" in error["message"]


def test_the_preview_has_its_own_budget(client, certificate, settings, frozen_clock):
    """Opening a QR page costs one lookup, not two (the page and its image)."""
    settings.VERIFY_RATE_LIMIT = "2/m"
    preview = f"/v/{certificate.qr_token}/preview.png"
    for _ in range(2):
        assert client.get(certificate.verify_path).status_code == 200
        assert client.get(preview).status_code == 200
    assert client.get(preview).status_code == 429
    assert client.get(certificate.verify_path).status_code == 429


def test_addresses_are_counted_apart_and_forwarded_for_is_ignored(
    client, certificate, settings, frozen_clock
):
    settings.VERIFY_RATE_LIMIT = "1/m"
    path = certificate.verify_path
    assert client.get(path, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert client.get(path, REMOTE_ADDR="203.0.113.7").status_code == 429
    # A header anyone can send does not buy a fresh budget.
    spoofed = client.get(path, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert spoofed.status_code == 429
    assert client.get(path, REMOTE_ADDR="203.0.113.8").status_code == 200


def test_an_ipv6_subscriber_is_counted_by_its_64(client, certificate, settings, frozen_clock):
    """One subscriber holds a whole /64: rotating through it buys no fresh budget; the next
    /64 is someone else."""
    settings.VERIFY_RATE_LIMIT = "2/m"
    path = certificate.verify_path
    answers = [client.get(path, REMOTE_ADDR=f"2001:db8:1:2::{n}").status_code for n in range(1, 5)]
    assert answers == [200, 200, 429, 429]
    assert client.get(path, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200
    # The record keeps the address itself.
    from verification.models import LookupRecord

    assert LookupRecord.objects.filter(client_address="2001:db8:1:2::1").exists()


def test_a_refused_window_is_recorded_once(client, certificate, settings, frozen_clock):
    settings.VERIFY_RATE_LIMIT = "1/m"
    for _ in range(5):
        client.get(certificate.verify_path)
    limited = LookupRecord.objects.filter(outcome=LookupOutcome.RATE_LIMITED)
    assert limited.count() == 1 and limited.get().kind == "qr"
    assert limited.get().client_address == "127.0.0.1"
