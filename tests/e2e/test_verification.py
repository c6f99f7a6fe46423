"""Scanning a certificate's QR code with a phone: the code printed on the PDF, read by zbarimg,
opened on a 360-pixel-wide screen."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from certificates import services
from conftest import need
from tests.verification.helpers import import_holder

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
GREEN, RED = "rgb(17, 107, 47)", "rgb(164, 22, 26)"  # site.css --ok and --bad


def qr_link(pdf_path: str, tmp_path) -> str:
    """What a phone's camera reads from the certificate: rasterised at 150 dpi, then decoded."""
    stem = tmp_path / "certificate"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", pdf_path, str(stem)], check=True
    )
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", f"{stem}.png"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def open_on_phone(browser, live_server, path: str):
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + path)
    image = page.locator(".v-preview img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.v-preview img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    page.evaluate("window.scrollTo(0, 0)")
    return context, page, requested


def assert_fits_and_stays_home(page, requested, live_server) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the page scrolls sideways at 360 px"
    )
    home = urlsplit(live_server.url).netloc
    foreign = [
        url for url in requested if urlsplit(url).scheme != "data" and urlsplit(url).netloc != home
    ]
    assert not foreign, f"requests to other hosts: {foreign}"
    # The phone takes the light WebP preview, not the PNG fallback.
    paths = [urlsplit(url).path for url in requested]
    assert any(p.endswith("/preview.webp") for p in paths)
    assert not any(p.endswith("/preview.png") for p in paths)


def test_scanning_a_valid_and_a_revoked_certificate_on_a_phone(
    browser, live_server, screenshot, celery_eager, certificate, authority_staff, tmp_path
):
    need(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils)")
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")

    link = qr_link(certificate.pdf.path, tmp_path)
    assert link == settings.SITE_URL + certificate.verify_path
    context, page, requested = open_on_phone(browser, live_server, urlsplit(link).path)
    status = page.locator("#v-status")
    assert "有效" in status.inner_text()
    banner = page.locator(".v-banner")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
    assert certificate.number in page.content()
    assert page.get_by_text("这是什么页面？").is_visible()
    assert_fits_and_stays_home(page, requested, live_server)
    screenshot(page, "1-valid")
    context.close()

    revoked = import_holder(
        actor=authority_staff, name="钱家豪", id17="35050319810303117", serial=501
    )
    services.certificate_revoke(
        certificate=revoked, actor=authority_staff, reason="违章操作造成生产安全事故"
    )
    revoked.refresh_from_db()
    assert revoked.pdf and revoked.ecert_version == 2  # rendered again, with its 已吊销 stamp
    link = qr_link(revoked.pdf.path, tmp_path)
    context, page, requested = open_on_phone(browser, live_server, urlsplit(link).path)
    assert "吊销" in page.locator("#v-status").inner_text()
    banner = page.locator(".v-banner")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    assert "起吊销" in banner.inner_text()
    assert_fits_and_stays_home(page, requested, live_server)
    screenshot(page, "2-revoked")
    context.close()


def test_the_lookup_page_on_a_phone(browser, live_server, screenshot, certificate):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=PHONE, device_scale_factor=2
    )
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/verify/")
    page.fill("#person-name", certificate.holder_name)
    page.fill("#person-id_number", certificate.holder_id_number)
    page.locator("#by-person button[type=submit]").click()
    page.wait_for_load_state()
    assert "/verify/" in page.url and certificate.holder_id_number not in page.url
    result = page.locator("#result")
    assert certificate.number in result.inner_text() and "有效" in result.inner_text()
    assert certificate.holder_id_number not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    home = urlsplit(live_server.url).netloc
    assert all(urlsplit(u).netloc == home for u in requested if not u.startswith("data:"))
    screenshot(page, "1-found")
    context.close()


def test_english_pages_fit_a_phone(
    browser, live_server, screenshot, celery_eager, certificate, authority_staff
):
    """In English the status word is a long Latin word ("Suspended") and the labels are
    longer: the QR page, the holder's certificate list and application page still fit 360 px
    without scrolling sideways, the status word inside its banner."""
    from tests.factories import PASSWORD

    services.certificate_suspend(
        certificate=certificate, actor=authority_staff, reason="违章作业，暂扣待查"
    )
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport=PHONE, device_scale_factor=2
    )
    page = context.new_page()
    page.goto(certificate.verify_path)
    # An English browser still meets the portal in Chinese (SPEC 6); the switch gives English.
    assert "暂扣" in page.locator("#v-status").inner_text()
    page.select_option("#lang-select", "en")
    page.locator("form.lang button").click()
    page.wait_for_load_state()
    word = page.locator("#v-status")
    assert "Suspended" in word.inner_text()
    assert word.evaluate("e => e.scrollWidth <= e.clientWidth"), "the status word is cut off"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "en-suspended")

    page.goto("/accounts/login/")
    page.fill("#id_username", certificate.holder.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()
    for path in ("/me/certificates/", f"/me/applications/{certificate.application_id}/"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        screenshot(page, "en-" + path.strip("/").replace("/", "-"))
    context.close()
