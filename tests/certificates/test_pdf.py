import os
import random
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from io import BytesIO

import pytest
from PIL import Image, ImageChops, ImageDraw
from reportlab.lib.units import mm

from certificates import pdf as certificate_pdf
from certificates.pdf import (
    PAGE_HEIGHT,
    TITLE,
    CertificateData,
    format_date,
    render_certificate_pdf,
    render_preview_png,
)
from certportal import pdf
from certportal.pdf import MissingGlyphError, wrap_text
from conftest import need

NUMBER = "闽C052026000001"
VERIFY_URL = "https://zjt.example.gov.cn/v/3q2-kT9xYzA7LmN0pQabcdef/"
AUTHORITY = "泉州市住房和城乡建设局"
SUPERVISOR = "中华人民共和国住房和城乡建设部"
EXT_A = "\u4dae"  # 䶮, CJK extension A
EXT_B = "\U00020bb7"  # 𠮷, CJK extension B: only the HanaMin fallback has it
NO_FONT_HAS = "\U0010fffd"  # supplementary private use
MAX_BYTES = 150 * 1024


def need_poppler() -> None:
    need(shutil.which("pdftotext") is not None, "poppler-utils")


def holder_photo() -> bytes:
    """A 1-inch ID photo of about 40 KB: face, hair, shoulders and some sensor noise."""
    rng = random.Random(2026)
    image = Image.new("RGB", (295, 413), (90, 150, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 70, 215, 250), fill=(222, 184, 150))
    draw.rectangle((35, 280, 260, 413), fill=(30, 40, 60))
    draw.ellipse((75, 55, 220, 150), fill=(20, 20, 20))
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    image = Image.blend(image, Image.merge("RGB", (noise, noise, noise)), 0.1)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


PHOTO = holder_photo()


@pytest.fixture
def certificate() -> CertificateData:
    return CertificateData(
        number=NUMBER,
        name="王小明",
        sex="男",
        trade_name="建筑起重机械司机（塔式起重机）",
        first_issued_on=date(2020, 6, 15),
        valid_from=date(2026, 12, 1),
        valid_until=date(2028, 11, 30),
        authority_name=AUTHORITY,
        issued_on=date(2026, 11, 28),
        ecert_identifier=(
            "1.2.156.3005.2.11100000000013338W032.91350100M000100Y43.C052026000001.001.X"
        ),
        verify_url=VERIFY_URL,
        photo=PHOTO,
    )


def write(data: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return str(path)


def pdftotext(data: bytes, tmp_path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", write(data, tmp_path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def rasterize(data: bytes, tmp_path, dpi: int) -> Image.Image:
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            write(data, tmp_path),
            tmp_path / "page",
        ],
        check=True,
    )
    return Image.open(tmp_path / "page.png").convert("RGB")


def red_pixels(image: Image.Image) -> int:
    """Pixels clearly redder than they are green or blue (the seal's red, or pink)."""
    red, green, blue = image.split()
    redness = ImageChops.subtract(red, ImageChops.lighter(green, blue))
    return redness.point(lambda value: 255 if value > 60 else 0).histogram()[255]


def test_render_certificate_pdf_text_comes_back_from_pdftotext(certificate, tmp_path):
    need_poppler()
    text = pdftotext(render_certificate_pdf(certificate), tmp_path)
    for expected in (
        TITLE,
        NUMBER,
        "王小明",
        "男",
        "建筑起重机械司机（塔式起重机）",
        "2020年6月15日",
        "2026年12月1日 至 2028年11月30日",
        "2026年11月28日",
        AUTHORITY,
        SUPERVISOR,
        "监制",
        "查询二维码",
        certificate.ecert_identifier,
    ):
        assert expected in text, expected
    assert "证书状态" not in text


def test_format_date_prints_without_leading_zeros():
    assert format_date(date(2026, 1, 5)) == "2026年1月5日"
    assert format_date(date(2028, 11, 30)) == "2028年11月30日"


def test_render_certificate_pdf_qr_code_reads_back_the_verify_url(certificate, tmp_path):
    need_poppler()
    need(shutil.which("zbarimg") is not None, "zbar-tools")
    rasterize(render_certificate_pdf(certificate), tmp_path, dpi=150)
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "page.png")], capture_output=True, text=True
    )
    assert result.stdout.splitlines() == [VERIFY_URL]


def test_render_certificate_pdf_embeds_only_subset_fonts(certificate, tmp_path):
    need(shutil.which("pdffonts") is not None, "poppler-utils")
    need(pdf.register_fonts().embedded, "a TrueType CJK font (fonts-arphic-uming)")
    output = subprocess.run(
        ["pdffonts", write(render_certificate_pdf(certificate), tmp_path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    fonts = [line.split() for line in output.splitlines()[2:] if line.strip()]
    assert fonts
    for columns in fonts:
        name, embedded, subset = columns[0], columns[-5], columns[-4]
        assert (embedded, subset) == ("yes", "yes"), name
        assert "+" in name  # the subset tag, ABCDEF+
    # The seal's glyphs come from the same subset as the text: one font, one subset.
    assert len(fonts) == 1


def test_render_certificate_pdf_rare_name_character_comes_back(certificate, tmp_path):
    need_poppler()
    data = render_certificate_pdf(replace(certificate, name=f"刘{EXT_A}"))
    assert f"刘{EXT_A}" in pdftotext(data, tmp_path)


def test_render_certificate_pdf_extension_b_name_falls_back_to_hanamin(certificate, tmp_path):
    need_poppler()
    for path in (pdf.UMING_PATH, pdf.HANAMIN_A_PATH, pdf.HANAMIN_B_PATH):
        need(os.path.exists(path), f"font {path} (fonts-arphic-uming, fonts-hanazono)")
    data = render_certificate_pdf(replace(certificate, name=f"张{EXT_B}{EXT_A}"))
    assert f"张{EXT_B}{EXT_A}" in pdftotext(data, tmp_path)
    assert b"HanaMinA" in data


@pytest.mark.parametrize("field", ["name", "trade_name", "authority_name"])
def test_render_certificate_pdf_character_no_font_has_raises(certificate, field):
    broken = replace(certificate, **{field: getattr(certificate, field) + NO_FONT_HAS})
    with pytest.raises(MissingGlyphError) as caught:
        render_certificate_pdf(broken)
    assert caught.value.character == NO_FONT_HAS


def test_render_certificate_pdf_with_photo_stays_small_and_embeds_the_jpeg_as_is(certificate):
    assert 30_000 < len(PHOTO) < 50_000
    data = render_certificate_pdf(certificate)
    assert len(data) <= MAX_BYTES
    assert PHOTO in data  # not re-encoded
    assert data.startswith(b"%PDF-")


def test_render_certificate_pdf_is_deterministic(certificate):
    assert render_certificate_pdf(certificate) == render_certificate_pdf(certificate)
    assert render_certificate_pdf(certificate) != render_certificate_pdf(
        replace(certificate, number="闽C052026000002")
    )


def test_render_certificate_pdf_without_photo_prints_a_placeholder(certificate, tmp_path):
    need_poppler()
    data = render_certificate_pdf(replace(certificate, photo=None))
    assert "照片" in pdftotext(data, tmp_path)
    assert b"/DCTDecode" not in data


def test_render_certificate_pdf_draws_the_red_seal(certificate, tmp_path):
    need_poppler()
    page = rasterize(render_certificate_pdf(certificate), tmp_path, dpi=30)
    height = page.height
    seal_x, seal_y = certificate_pdf.SEAL_CENTRE
    radius = certificate_pdf.SEAL_RADIUS + 2 * mm  # and the ring's anti-aliased edge
    scale = 30 / 72
    seal = page.crop(
        (
            int((seal_x - radius) * scale),
            int(height - (seal_y + radius) * scale),
            int((seal_x + radius) * scale),
            int(height - (seal_y - radius) * scale),
        )
    )
    assert red_pixels(seal) > 0.15 * seal.width * seal.height
    # Red nowhere else on a valid certificate.
    assert red_pixels(page) == red_pixels(seal)


def test_render_certificate_pdf_prints_the_status_of_a_non_valid_certificate(certificate, tmp_path):
    need_poppler()
    valid = render_certificate_pdf(certificate)
    revoked = render_certificate_pdf(replace(certificate, status_label="已吊销"))
    text = pdftotext(revoked, tmp_path)
    assert "证书状态：已吊销" in text
    # The diagonal stamp crosses the page in red above the seal, where a valid one has none.
    seal_top = certificate_pdf.SEAL_CENTRE[1] + certificate_pdf.SEAL_RADIUS + 2 * mm

    def red_above_seal(data: bytes) -> float:
        page = rasterize(data, tmp_path, dpi=20)
        above = page.crop((0, 0, page.width, int(page.height * (1 - seal_top / PAGE_HEIGHT))))
        return red_pixels(above) / (above.width * above.height)

    assert red_above_seal(valid) == 0
    assert red_above_seal(revoked) > 0.03


def test_render_certificate_pdf_shrinks_a_long_value_and_refuses_one_that_cannot_fit(
    certificate, tmp_path
):
    need_poppler()
    long_trade = "建筑起重机械安装拆卸工（塔式起重机）"
    text = pdftotext(render_certificate_pdf(replace(certificate, trade_name=long_trade)), tmp_path)
    assert long_trade in text
    with pytest.raises(ValueError, match="操作类别"):
        render_certificate_pdf(replace(certificate, trade_name=long_trade * 4))


def test_render_certificate_pdf_wraps_a_long_authority_name(certificate, tmp_path):
    need_poppler()
    authority = "新疆生产建设兵团第八师石河子市住房和城乡建设局"
    text = pdftotext(
        render_certificate_pdf(replace(certificate, authority_name=authority)), tmp_path
    )
    lines = wrap_text(
        authority,
        certificate_pdf.FIELD_RIGHT - certificate_pdf.ISSUER_VALUE_LEFT,
        certificate_pdf.VALUE_WRAP_SIZE,
        pdf.register_fonts(),
    )
    assert len(lines) == 2
    for line in lines:
        assert line in text


def test_certificate_data_refuses_an_unknown_sex_or_an_inverted_validity(certificate):
    with pytest.raises(ValueError, match="sex"):
        replace(certificate, sex="M")
    with pytest.raises(ValueError, match="valid_until"):
        replace(certificate, valid_until=date(2026, 11, 30))


def test_render_preview_png_rasterises_page_one(certificate):
    need(shutil.which("pdftoppm") is not None, "poppler-utils")
    png = render_preview_png(render_certificate_pdf(certificate), dpi=30)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(BytesIO(png))
    # A4 at 30 dpi: 248 × 351 pixels.
    assert image.size == pytest.approx((248, 351), abs=1)


def test_render_preview_png_without_pdftoppm_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(certificate_pdf.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="poppler-utils"):
        render_preview_png(b"%PDF-1.4")


def test_render_preview_png_refuses_what_is_not_a_pdf():
    need(shutil.which("pdftoppm") is not None, "poppler-utils")
    with pytest.raises(RuntimeError, match="pdftoppm failed"):
        render_preview_png(b"not a pdf")
