"""/v/<token>/: the page a certificate's QR code opens, and its watermarked preview."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from PIL import Image, ImageChops

from certificates import services
from certificates.models import Certificate, CertificateStatus, ValidityPeriod
from certificates.pdf import render_preview_png
from certportal.pii import mask_id_number, mask_name
from tests.verification.helpers import import_holder
from verification import preview

pytestmark = pytest.mark.django_db
C = CertificateStatus

LABELS = {
    C.VALID: "有效",
    C.SUSPENDED: "暂扣",
    C.REVOKED: "吊销",
    C.WITHDRAWN: "撤销",
    C.CANCELLED: "注销",
    C.EXPIRED: "过期失效",
}


def banner(body: str) -> str:
    match = re.search(r'<section class="v-banner.*?</section>', body, re.S)
    assert match, "no status banner"
    return match.group(0)


def test_qr_page_shows_the_status_in_every_status(client, by_status):
    today = timezone.localdate()
    for status, certificate in by_status.items():
        response = client.get(certificate.verify_path)
        assert response.status_code == 200, status
        assert response.templates[0].name == "verification/qr.html"
        body = response.content.decode()
        top = banner(body)
        assert f"</span>{LABELS[status]}</p>" in top, status
        if status == C.VALID:
            assert "v-banner-valid" in top
            assert f"有效期至 {certificate.valid_until:%Y年%-m月%-d日}" in top
        else:
            assert "v-banner-invalid" in top, status
            assert "不能作为上岗作业的资格证明" in top
        if status in (C.SUSPENDED, C.REVOKED, C.WITHDRAWN, C.CANCELLED):
            assert f"{today:%Y年%-m月%-d日}起{LABELS[status]}" in top, status
        if status == C.EXPIRED:  # from the day after its validity, swept or not
            ended = certificate.valid_until + timedelta(days=1)
            assert f"{ended:%Y年%-m月%-d日}起过期失效" in top
        for fact in (
            mask_name(certificate.holder_name),
            mask_id_number(certificate.holder_id_number),
            certificate.trade.name,
            certificate.number,
            certificate.authority.name,
            certificate.ecert_identifier,
        ):
            assert fact in body, (status, fact)
        assert certificate.holder_name not in body  # masked, as the ID number
        assert "这是什么页面？" in body and "发证机关" in body


def test_a_suspended_certificate_past_its_date_reads_expired(client, by_status):
    suspended = by_status[C.SUSPENDED]
    ended = timezone.localdate() - timedelta(days=3)
    Certificate.objects.filter(pk=suspended.pk).update(
        valid_from=ended - timedelta(days=730), valid_until=ended
    )
    top = banner(client.get(suspended.verify_path).content.decode())
    assert "</span>过期失效</p>" in top and "暂扣" not in top
    assert f"{ended + timedelta(days=1):%Y年%-m月%-d日}起过期失效" in top


def test_qr_page_explains_itself_to_a_stranger(client, certificate):
    body = client.get(certificate.verify_path).content.decode()
    assert "您扫描的是建筑施工特种作业操作资格证书" in body
    assert f"“{certificate.authority.name}”的证书登记记录" in body
    assert "以本页为准" in body
    assert "127.0.0.1:8000" in body  # the address to check the browser shows (SITE_URL)


def test_qr_page_links_carry_no_number_or_id(client, certificate):
    response = client.get(certificate.verify_path)
    body = response.content.decode()
    links = re.findall(r'(?:href|src|action)="([^"]*)"', body)
    assert f"/v/{certificate.qr_token}/preview.png?v={certificate.pdf_sha256[:12]}" in links
    for link in links:
        assert certificate.number not in link and certificate.holder_id_number not in link
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


def test_the_token_is_random_and_not_the_number(certificate):
    token = certificate.qr_token
    assert len(token) >= 24 and certificate.number not in token
    assert not re.search(r"\d{6,}", token)  # no ID number or date fragment, in practice
    assert certificate.holder_id_number[-6:] not in token


def test_an_unknown_token_is_a_clear_404(client, certificate):
    for token in ("not-a-real-token-000000", "x" * 200):
        response = client.get(f"/v/{token}/")
        assert response.status_code == 404
        assert response.templates[0].name == "verification/qr_not_found.html"
        body = response.content.decode()
        assert "此二维码不是有效的证书查验码" in body and "/verify/" in body
        assert certificate.number not in body


def test_preview_is_a_png_with_the_watermark(client, certificate):
    response = client.get(f"/v/{certificate.qr_token}/preview.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(BytesIO(response.content))
    assert image.format == "PNG"
    with certificate.pdf.open("rb") as handle:
        plain = Image.open(BytesIO(render_preview_png(handle.read(), dpi=preview.PREVIEW_DPI)))
    assert image.size == plain.size == preview.PREVIEW_SIZE
    difference = ImageChops.difference(image.convert("RGB"), plain.convert("RGB"))
    assert difference.getbbox() is not None
    # The banner across the top is the watermark's red, readable, not a faint tint.
    red, green, blue = image.convert("RGB").getpixel((5, 5))
    assert red > 150 and green < 80 and blue < 80
    # Watermark strokes across the page, not only the banner.
    lower_half = difference.crop((0, plain.height // 2, plain.width, plain.height))
    assert lower_half.getbbox() is not None


def test_phones_get_a_webp_preview_light_enough_for_the_page_budget(client, certificate):
    """The QR page offers the preview as WebP first (every current phone browser takes it):
    the same watermarked picture, light enough that the page, its stylesheets and the image
    stay within SPEC 7's 50 KB."""
    page = client.get(certificate.verify_path).content.decode()
    webp_url = f"/v/{certificate.qr_token}/preview.webp"
    assert f'<source type="image/webp" srcset="{webp_url}?v=' in page
    assert f'src="/v/{certificate.qr_token}/preview.png?v=' in page  # the fallback

    response = client.get(webp_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    image = Image.open(BytesIO(response.content))
    assert image.format == "WEBP" and image.size == preview.PREVIEW_SIZE
    red, green, blue = image.convert("RGB").getpixel((5, 5))
    assert red > 150 and green < 80 and blue < 80  # the banner
    png = client.get(f"/v/{certificate.qr_token}/preview.png").content
    assert len(response.content) < len(png)
    stylesheets = sum(
        len(b"".join(client.get(href).streaming_content))
        for href in re.findall(r'rel="stylesheet" href="([^"]+)"', page)
    )
    assert len(page.encode()) + stylesheets + len(response.content) <= 50 * 1024


def test_the_watermark_carries_the_time_of_the_request(certificate):
    plain = preview.plain_preview(certificate)
    at_nine = preview.watermark(plain, timezone.localtime().replace(hour=9, minute=0))
    at_ten = preview.watermark(plain, timezone.localtime().replace(hour=10, minute=0))
    assert at_nine != at_ten


def test_the_watermark_is_drawn_without_any_cjk_font(certificate, monkeypatch, settings):
    """A bare machine still stamps the date and time."""
    settings.CERT_FONT_PATH = ""
    monkeypatch.setattr(preview, "FONT_CANDIDATES", ("/nonexistent/font.ttf",))
    preview._font.cache_clear()
    try:
        plain = preview.plain_preview(certificate)
        marked = Image.open(BytesIO(preview.watermark(plain, timezone.localtime())))
        base = Image.open(BytesIO(plain)).convert("RGB")
        assert ImageChops.difference(marked.convert("RGB"), base).getbbox() is not None
    finally:
        preview._font.cache_clear()


def test_preview_follows_the_current_pdf_version(
    client, certificate, authority_staff, django_capture_on_commit_callbacks
):
    url = f"/v/{certificate.qr_token}/preview.png"
    before = Image.open(BytesIO(client.get(url).content)).convert("RGB")
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_revoke(certificate=certificate, actor=authority_staff, reason="测试")
    certificate.refresh_from_db()
    assert certificate.ecert_version == 2
    after = Image.open(BytesIO(client.get(url).content)).convert("RGB")
    # The re-rendered certificate carries the 已吊销 stamp across its middle.
    middle = (0, after.height // 3, after.width, 2 * after.height // 3)
    assert ImageChops.difference(before.crop(middle), after.crop(middle)).getbbox() is not None


def test_preview_of_an_unknown_token_is_404(client, db):
    assert client.get("/v/not-a-real-token-000000/preview.png").status_code == 404


def test_preview_before_the_pdf_exists_is_404_and_the_page_omits_it(client, authority_staff):
    certificate = import_holder(
        actor=authority_staff, name="吴海峰", id17="35050319790101234", serial=401
    )  # the render callback is never run: no PDF yet
    assert not certificate.pdf
    assert client.get(f"/v/{certificate.qr_token}/preview.png").status_code == 404
    body = client.get(certificate.verify_path).content.decode()
    assert "preview.png" not in body and "有效" in body


def test_a_certificate_renewed_ahead_says_which_period_runs_today(
    client, submitted_renewal, authority_staff, django_capture_on_commit_callbacks
):
    """Approved before the expiry, the renewal records a period that starts after it (SPEC
    4.6): the QR page, the lookup and the holder's list show it with the period running
    today, so an inspector does not read it as "not valid yet"."""
    from renewals.services import renewal_approve

    certificate = submitted_renewal.certificate
    old_until = certificate.valid_until
    with django_capture_on_commit_callbacks(execute=True):
        renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate.refresh_from_db()
    assert certificate.valid_from == old_until + timedelta(days=1) > timezone.localdate()
    note = f"（延续后的有效期；当前有效期至 {old_until:%Y年%-m月%-d日}）"
    assert note in client.get(certificate.verify_path).content.decode()
    found = client.post(
        "/verify/",
        {"name": certificate.holder_name, "id_number": certificate.holder_id_number},
    ).content.decode()
    assert note in found and certificate.number in found
    # The API says the same, for employers' systems that compare valid_from with today.
    answer = client.post(
        "/api/v1/verify",
        {"name": certificate.holder_name, "id_number": certificate.holder_id_number},
        content_type="application/json",
    ).json()["certificates"][0]
    assert answer["valid_from"] == certificate.valid_from.isoformat()
    assert answer["current_period_until"] == old_until.isoformat()
    # The PDF, a paper that cannot say "today", prints the whole unbroken validity.
    from certificates.services.rendering import certificate_data

    printed = certificate_data(certificate, version=certificate.ecert_version)
    first = ValidityPeriod.objects.filter(certificate=certificate).order_by("valid_from")[0]
    assert (printed.valid_from, printed.valid_until) == (first.valid_from, certificate.valid_until)
    client.force_login(certificate.holder)
    assert note in client.get("/me/certificates/").content.decode()


def test_a_period_that_runs_today_has_no_renewal_note(client, certificate):
    assert "延续后的有效期" not in client.get(certificate.verify_path).content.decode()
    answer = client.get(
        "/api/v1/verify", {"cert_no": certificate.number, "name": certificate.holder_name}
    ).json()
    assert answer["certificates"][0]["current_period_until"] is None
