"""The QR page's preview image: the current e-certificate, rasterised, watermarked 仅供查验.

Rasterising a PDF takes pdftoppm tens of milliseconds, so the plain image is cached per issued
PDF version (keyed by the PDF's SHA-256: a new version is a new key, never a stale image). The
watermark carries the time of the request, to the minute, so a screenshot of the preview shows
when it was taken and cannot pass for the certificate itself; it is drawn with Pillow on the
cached image and kept for the rest of that minute.
"""

from __future__ import annotations

import functools
import logging
import math
from datetime import datetime
from io import BytesIO

from django.conf import settings
from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from certificates.models import Certificate
from certificates.pdf import render_preview_png
from certportal.pdf import UMING_PATH, WQY_MICROHEI_PATH

logger = logging.getLogger(__name__)

# A4 → 596 × 842 px: the text stays legible at the 320-odd CSS pixels a phone gives the image
# (about two device pixels each), and the image is a third lighter than at 96 dpi.
PREVIEW_DPI = 72
# What pdftoppm makes of an A4 page at PREVIEW_DPI (the page's <img> reserves this box).
PREVIEW_SIZE = (math.ceil(210 / 25.4 * PREVIEW_DPI), math.ceil(297 / 25.4 * PREVIEW_DPI))
PLAIN_CACHE_SECONDS = 7 * 24 * 3600
WATERMARKED_CACHE_SECONDS = 90  # the rest of the minute, and a little

WATERMARK_TEXT = "仅供查验"
WATERMARK_COLOUR = (200, 16, 24)  # the red of a stamp
WATERMARK_ALPHA = 70  # of 255: the certificate stays readable underneath
WATERMARK_ANGLE = 30  # degrees, counter-clockwise
WATERMARK_SIZE_RATIO = 0.045  # of the image width
WATERMARK_GAP = (5.0, 3.0)  # between tiles, as multiples of the line height (rows, columns)
BANNER_SIZE_RATIO = 0.032  # of the image width
BANNER_ALPHA = 225
BANNER_PADDING = 0.5  # of the banner's font size

# Pillow draws with the fonts the PDFs use, sans first: thin Song strokes blur when tilted.
FONT_CANDIDATES = (WQY_MICROHEI_PATH, UMING_PATH)


class PreviewUnavailable(Exception):
    """The certificate has no PDF yet, or it cannot be rasterised here."""


def _font_paths() -> tuple[str, ...]:
    configured = getattr(settings, "CERT_FONT_PATH", "")
    return ((configured,) if configured else ()) + FONT_CANDIDATES


@functools.lru_cache(maxsize=8)
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(font, whether it draws Chinese). Without any CJK font the watermark still carries
    the date and time, in Pillow's built-in Latin font."""
    for path in _font_paths():
        try:
            return ImageFont.truetype(path, size), True
        except OSError:
            continue
    logger.warning("No CJK font for the preview watermark: only the date and time are drawn.")
    return ImageFont.load_default(size=size), False


def plain_preview(certificate: Certificate) -> bytes:
    """The current PDF rasterised at PREVIEW_DPI, cached per PDF version."""
    if not certificate.pdf or not certificate.pdf_sha256:
        raise PreviewUnavailable("no PDF rendered yet")
    key = f"verify-preview:{certificate.pdf_sha256}:{PREVIEW_DPI}"
    png = cache.get(key)
    if png is None:
        try:
            with certificate.pdf.open("rb") as handle:
                pdf = handle.read()
            png = render_preview_png(pdf, dpi=PREVIEW_DPI)
        except (OSError, RuntimeError) as exc:
            raise PreviewUnavailable(str(exc)) from exc
        cache.set(key, png, PLAIN_CACHE_SECONDS)
    return png


# What the QR page offers: WebP to every browser that takes it (<picture>), PNG otherwise.
# WebP of the page as drawn (not of a 256-colour palette, whose dithering it would spend its
# bytes on): 30–36 KB at quality 40 (text still crisp at this size) against 43–53 KB for the
# palette PNG, so that the QR page with its preview stays within SPEC 7's 50 KB
# (benchmarks/pages.py).
FORMATS = ("png", "webp")
WEBP_QUALITY = 40


def watermark(png: bytes, when: datetime, fmt: str = "png") -> bytes:
    """``png`` with 仅供查验 and ``when`` (to the minute) tiled across it and in a banner, as
    ``fmt`` (one of FORMATS)."""
    stamp = f"{when:%Y-%m-%d %H:%M}"
    image = Image.open(BytesIO(png)).convert("RGBA")
    width, height = image.size

    font, has_cjk = _font(max(12, round(width * WATERMARK_SIZE_RATIO)))
    line = f"{WATERMARK_TEXT} {stamp}" if has_cjk else stamp
    left, top, right, bottom = font.getbbox(line)
    tile = Image.new("RGBA", (right + 4, bottom + 4), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((2 - left, 2), line, font=font, fill=(*WATERMARK_COLOUR, 255))
    tile = tile.rotate(WATERMARK_ANGLE, expand=True, resample=Image.Resampling.BICUBIC)
    alpha = tile.getchannel("A").point(lambda a: a * WATERMARK_ALPHA // 255)
    tile.putalpha(alpha)

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    line_height = bottom - top
    step_y = round(line_height * WATERMARK_GAP[0])
    step_x = tile.width + round(line_height * WATERMARK_GAP[1])
    for row, y in enumerate(range(-tile.height // 3, height, step_y)):
        # Each row shifted by a third of a tile, so the lines do not stack into columns.
        shift = (row * tile.width // 3) % step_x
        for x in range(shift - step_x, width, step_x):
            if x + tile.width > 0:
                overlay.alpha_composite(tile, (max(x, 0), max(y, 0)), (max(-x, 0), max(-y, 0)))

    banner_font, banner_cjk = _font(max(12, round(width * BANNER_SIZE_RATIO)))
    banner = f"{WATERMARK_TEXT}　查询时间 {stamp}" if banner_cjk else f"{stamp}"
    draw = ImageDraw.Draw(overlay)
    b_left, b_top, b_right, b_bottom = draw.textbbox((0, 0), banner, font=banner_font)
    padding = round(banner_font.size * BANNER_PADDING) if banner_cjk else 6
    box_height = b_bottom - b_top + 2 * padding
    draw.rectangle((0, 0, width, box_height), fill=(*WATERMARK_COLOUR, BANNER_ALPHA))
    draw.text(
        ((width - (b_right - b_left)) // 2 - b_left, padding - b_top),
        banner,
        font=banner_font,
        fill=(255, 255, 255, 255),
    )

    image.alpha_composite(overlay)
    out = BytesIO()
    if fmt == "webp":
        image.convert("RGB").save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
        return out.getvalue()
    # A 256-colour palette: a quarter of the bytes and no visible loss; the photo is dithered.
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        out, format="PNG"
    )
    return out.getvalue()


def watermarked_preview(certificate: Certificate, when: datetime, fmt: str = "png") -> bytes:
    """The preview for a request at ``when``: drawn once per certificate version, minute and
    format."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    key = f"verify-preview-wm:{certificate.pdf_sha256}:{PREVIEW_DPI}:{fmt}:{when:%Y%m%d%H%M}"
    image = cache.get(key)
    if image is None:
        image = watermark(plain_preview(certificate), when, fmt)
        cache.set(key, image, WATERMARKED_CACHE_SECONDS)
    return image
