import logging
import os
import random
import re
import shutil
import subprocess
import zlib
from io import BytesIO

import pytest
import segno
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from certportal import pdf
from certportal.pdf import (
    FontConfigurationError,
    MissingGlyphError,
    draw_photo,
    draw_qr,
    draw_text,
    load_font_set,
    missing_glyphs,
    new_canvas,
    qr_matrix,
    register_fonts,
    text_width,
    wrap_text,
)
from conftest import need

DROID_SANS_FALLBACK = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
EXT_A = "\u4dae"  # 䶮, CJK extension A
EXT_B = "\U00020bb7"  # 𠮷, CJK extension B (HanaMinA has it too)
EXT_B_ONLY_IN_HANAMIN_B = "\U0002a6d6"
NO_FONT_HAS = "\U0010fffd"  # supplementary private use


def need_debian_fonts() -> None:
    for path in (pdf.UMING_PATH, pdf.HANAMIN_A_PATH, pdf.HANAMIN_B_PATH):
        need(os.path.exists(path), f"font {path} (fonts-arphic-uming, fonts-hanazono)")


def need_poppler() -> None:
    need(shutil.which("pdftotext") is not None, "poppler-utils")


def face_name(font_name: str) -> bytes:
    return pdfmetrics.getFont(font_name).face.name


def render(draw) -> bytes:
    """A one-page PDF drawn by ``draw(canvas, fonts)``."""
    fonts = register_fonts()
    buffer = BytesIO()
    canvas = new_canvas(buffer, A4, font_set=fonts)
    draw(canvas, fonts)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def rasterize(data: bytes, tmp_path, dpi: int = 150) -> Image.Image:
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
    )
    return Image.open(tmp_path / "page.png").convert("RGB")


def content_streams(data: bytes) -> list[bytes]:
    """Every Flate stream of the file, decompressed."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            streams.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            continue
    return streams


def jpeg(width: int, height: int, colour=(200, 160, 130)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_register_fonts_registers_once():
    first = register_fonts()
    assert register_fonts() is first
    assert first.main in pdfmetrics.getRegisteredFontNames()


def test_load_font_set_prefers_uming_with_hanamin_fallbacks():
    need_debian_fonts()
    fonts = load_font_set("")
    assert face_name(fonts.main) == b"UMingCN"
    assert [face_name(name) for name in fonts.fallbacks] == [b"HanaMinA", b"HanaMinB"]
    assert fonts.embedded


def test_load_font_set_uses_cert_font_path():
    need(os.path.exists(pdf.WQY_MICROHEI_PATH), "fonts-wqy-microhei")
    fonts = load_font_set(pdf.WQY_MICROHEI_PATH)
    assert face_name(fonts.main) == b"WenQuanYiMicroHei"


def test_load_font_set_refuses_cert_font_path_that_is_no_font(tmp_path):
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"not a font")
    with pytest.raises(FontConfigurationError, match="not a readable TrueType font"):
        load_font_set(str(not_a_font))
    with pytest.raises(FontConfigurationError, match="CERT_FONT_PATH"):
        load_font_set(str(tmp_path / "missing.ttf"))


def need_droid_sans_fallback() -> None:
    # Not a dependency of the portal (the Dockerfile leaves it out), but CI installs it so
    # these run there: a CJK font without Latin digits, which the portal must refuse.
    need(os.path.exists(DROID_SANS_FALLBACK), "fonts-droid-fallback (Debian package)")


def test_load_font_set_refuses_cert_font_path_without_digits():
    need_droid_sans_fallback()
    with pytest.raises(FontConfigurationError, match="Latin digits"):
        load_font_set(DROID_SANS_FALLBACK)


def test_load_font_set_skips_droid_sans_fallback_which_lacks_digits(caplog):
    need_droid_sans_fallback()
    need_debian_fonts()
    with caplog.at_level(logging.WARNING, logger="certportal.pdf"):
        fonts = load_font_set("", main_candidates=(DROID_SANS_FALLBACK, pdf.UMING_PATH))
    assert face_name(fonts.main) == b"UMingCN"
    assert "lacks the Latin digits" in caplog.text


def test_load_font_set_skips_a_candidate_without_the_required_characters(monkeypatch, caplog):
    need_debian_fonts()
    need(os.path.exists(pdf.WQY_MICROHEI_PATH), "fonts-wqy-microhei")
    # WenQuanYi Micro Hei lacks 䶮 and AR PL UMing has it: requiring 䶮 makes the first
    # candidate fail the check exactly as a font without digits does.
    monkeypatch.setattr(pdf, "REQUIRED_MAIN_CHARACTERS", "0123456789" + EXT_A)
    with caplog.at_level(logging.WARNING, logger="certportal.pdf"):
        fonts = load_font_set("", main_candidates=(pdf.WQY_MICROHEI_PATH, pdf.UMING_PATH))
    assert face_name(fonts.main) == b"UMingCN"
    assert "lacks the Latin digits" in caplog.text


def test_load_font_set_without_truetype_font_uses_stsong_light_and_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="certportal.pdf"):
        fonts = load_font_set("", main_candidates=(), fallback_paths=())
    assert fonts.main == "STSong-Light"
    assert not fonts.embedded
    assert "STSong-Light" in caplog.text
    assert fonts.runs("准考证 2026") == [("STSong-Light", "准考证 2026")]
    assert missing_glyphs(EXT_B, fonts) == [EXT_B]


def test_font_set_runs_put_each_character_in_the_first_font_that_has_it():
    need_debian_fonts()
    fonts = load_font_set("")
    main, hanamin_a, hanamin_b = fonts.names
    assert fonts.runs(f"张{EXT_A}{EXT_B}{EXT_B_ONLY_IN_HANAMIN_B}9") == [
        (main, f"张{EXT_A}"),
        (hanamin_a, EXT_B),
        (hanamin_b, EXT_B_ONLY_IN_HANAMIN_B),
        (main, "9"),
    ]


def test_missing_glyphs_lists_each_character_no_font_has_once():
    fonts = register_fonts()
    assert missing_glyphs("王小明", fonts) == []
    assert missing_glyphs(f"王{NO_FONT_HAS}明{NO_FONT_HAS}", fonts) == [NO_FONT_HAS]


def test_draw_text_raises_missing_glyph_error_naming_the_character():
    with pytest.raises(MissingGlyphError, match="U\\+10FFFD") as caught:
        render(lambda canvas, fonts: draw_text(canvas, 10, 10, f"王{NO_FONT_HAS}", 12, fonts))
    assert caught.value.character == NO_FONT_HAS
    assert caught.value.code_point == 0x10FFFD
    with pytest.raises(MissingGlyphError):
        text_width(NO_FONT_HAS, 12, register_fonts())


def test_draw_text_rare_characters_come_back_from_pdftotext(tmp_path):
    need_poppler()
    need_debian_fonts()
    text = f"张{EXT_A}{EXT_B}{EXT_B_ONLY_IN_HANAMIN_B} 闽C042026000001"
    data = render(lambda canvas, fonts: draw_text(canvas, 72, 700, text, 14, fonts))
    assert text in pdftotext(data, tmp_path)


def test_draw_text_glyphs_are_drawn_from_the_embedded_subset(tmp_path):
    need_poppler()
    data = render(lambda canvas, fonts: draw_text(canvas, 0, 0, "国", 400, fonts))
    page = rasterize(data, tmp_path, dpi=20)
    assert page.convert("L").getextrema()[0] < 64


def test_draw_text_aligns_by_width():
    fonts = register_fonts()
    width = text_width("考核地点 2026", 12, fonts)
    assert width > 0
    positions = []

    def draw(canvas, fonts):
        for align in ("left", "center", "right"):
            positions.append(draw_text(canvas, 300, 400, "考核地点 2026", 12, fonts, align=align))

    render(draw)
    assert positions == pytest.approx([width] * 3)
    with pytest.raises(ValueError, match="align"):
        render(lambda canvas, fonts: draw_text(canvas, 0, 0, "x", 12, fonts, align="justify"))


def test_wrap_text_keeps_lines_within_width_and_loses_nothing():
    fonts = register_fonts()
    text = "福建省泉州市丰泽区东海街道 某某路88号建设培训基地实操考核场地" * 3
    lines = wrap_text(text, 100, 10, fonts)
    assert len(lines) > 1
    assert all(text_width(line, 10, fonts) <= 100 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_draw_qr_is_one_filled_path():
    data = render(lambda canvas, fonts: draw_qr(canvas, 100, 100, 25 * mm, "T350500202612050001"))
    page = next(stream for stream in content_streams(data) if b" re" in stream)
    operators = page.split()
    assert operators.count(b"re") > 20
    assert sum(operators.count(op) for op in (b"f", b"f*", b"F", b"b", b"B", b"S")) == 1


def test_draw_qr_reads_back_with_zbarimg(tmp_path):
    need_poppler()
    need(shutil.which("zbarimg") is not None, "zbar-tools")
    url = "https://cert.example.cn/v/3q2-kT9xYzA7LmN0pQ/"
    data = render(lambda canvas, fonts: draw_qr(canvas, 100, 500, 25 * mm, url))
    rasterize(data, tmp_path)
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "page.png")], capture_output=True, text=True
    )
    assert result.stdout.strip() == url


def test_qr_matrix_is_the_symbol_segno_makes():
    # Lengths from version 1 to past version 7 (version information), ASCII and Chinese.
    rng = random.Random(7)
    alphabet = "ABCXYZabcxyz0123456789-_/:.?=&%中证书"
    samples = ["", "0", "https://cert.example.cn/v/3q2-kT9xYzA7LmN0pQ/", "闽C042026000001"]
    samples += ["".join(rng.choices(alphabet, k=length)) for length in range(1, 240, 3)]
    for data in samples:
        expected = segno.make_qr(data, error="m", boost_error=False)
        rows = qr_matrix(data)
        assert rows == tuple("".join(map(str, row)) for row in expected.matrix), data


def test_draw_photo_embeds_jpeg_bytes_unchanged():
    photo = jpeg(295, 413)
    data = render(lambda canvas, fonts: draw_photo(canvas, 100, 500, 25 * mm, 35 * mm, photo))
    assert photo in data
    assert b"/DCTDecode" in data


def test_draw_photo_crops_to_the_centre_of_the_box(tmp_path):
    need_poppler()
    # A wide PNG in thirds: red, green, blue; a square box shows only the green middle.
    image = Image.new("RGB", (300, 100), (255, 0, 0))
    image.paste((0, 255, 0), (100, 0, 200, 100))
    image.paste((0, 0, 255), (200, 0, 300, 100))
    buffer = BytesIO()
    image.save(buffer, "PNG")
    box = 72  # points: 1 inch
    data = render(lambda canvas, fonts: draw_photo(canvas, 72, 72, box, box, buffer.getvalue()))
    page = rasterize(data, tmp_path, dpi=72)
    height = page.height
    inside = page.crop((74, height - 142, 142, height - 74))
    assert inside.getcolors() == [(68 * 68, (0, 255, 0))]
    assert page.getpixel((60, height - 100)) == (255, 255, 255)
    assert page.getpixel((150, height - 100)) == (255, 255, 255)


def test_new_canvas_output_is_deterministic_compressed_and_without_ascii85():
    def draw(canvas, fonts):
        draw_text(canvas, 72, 700, "建筑施工特种作业操作资格证书", 18, fonts)
        draw_qr(canvas, 72, 500, 25 * mm, "T350500202612050001")
        draw_photo(canvas, 200, 500, 25 * mm, 35 * mm, jpeg(295, 413))

    first, second = render(draw), render(draw)
    assert first == second
    assert b"ASCII85Decode" not in first
    assert b"/FlateDecode" in first
    assert b"Helvetica" not in first
