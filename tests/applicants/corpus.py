"""Hostile and broken uploads, and good ones, all made in memory (Pillow and plain bytes).

``bad_uploads()`` is the corpus every material check must refuse; ``good_photo``,
``good_id_scan`` and ``good_pdf`` are files that pass with the default (Quanzhou) rules, for
any test that needs a material.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw

KB = 1024
MB = 1024 * KB

PHOTO_WIDTH, PHOTO_HEIGHT = 358, 500  # 25:35 at about 360 dpi: comfortably above 295×413
BLUE_BACKGROUND = (67, 142, 219)  # the usual blue of ID photos: not white


@dataclass(frozen=True)
class BadUpload:
    name: str
    kind: str
    data: bytes
    code: str  # the ValidationError code expected among the errors
    message: str  # a substring one of the messages must contain


# Photos ----------------------------------------------------------------------------------------


def portrait(
    width: int = PHOTO_WIDTH,
    height: int = PHOTO_HEIGHT,
    *,
    background: tuple[int, int, int] = (255, 255, 255),
    noise: int = 60,
    seed: int = 1,
) -> Image.Image:
    """A head-and-shoulders picture: shoulders reach both sides near the bottom, as in real
    photos; a square of noise on the face makes the JPEG realistically heavy."""
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [
            (0, height),
            (0, int(height * 0.85)),
            (int(width * 0.3), int(height * 0.72)),
            (int(width * 0.7), int(height * 0.72)),
            (width, int(height * 0.85)),
            (width, height),
        ],
        fill=(35, 45, 70),
    )
    draw.ellipse(
        (int(width * 0.3), int(height * 0.18), int(width * 0.7), int(height * 0.72)),
        fill=(226, 190, 160),
    )
    side = min(noise, width // 2, height // 2)
    if side:
        patch = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
        image.paste(patch, ((width - side) // 2, (height - side) // 2))
    return image


def jpeg_bytes(image: Image.Image, *, quality: int = 90, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, **params)
    return out.getvalue()


def pad_jpeg(data: bytes, target: int) -> bytes:
    """Grow a JPEG to exactly ``target`` bytes with comment (COM) segments after SOI."""
    missing = target - len(data)
    if missing < 0 or 0 < missing < 4:
        raise ValueError(f"cannot pad a {len(data)}-byte JPEG to {target} bytes")
    segments = []
    while missing:
        size = min(missing, 60_000)
        if 0 < missing - size < 4:
            size -= 4
        segments.append(b"\xff\xfe" + (size - 2).to_bytes(2, "big") + b"x" * (size - 4))
        missing -= size
    return data[:2] + b"".join(segments) + data[2:]


def photo_jpeg(target: int, image: Image.Image | None = None, **params) -> bytes:
    """A photo JPEG of exactly ``target`` bytes. Without ``image``, the default portrait gets
    the largest face noise that fits, so that most of the bytes are picture, not padding."""
    if image is not None:
        return pad_jpeg(jpeg_bytes(image, **params), target)
    for noise in range(180, 0, -10):
        data = jpeg_bytes(portrait(noise=noise), **params)
        if len(data) <= target - 4:
            return pad_jpeg(data, target)
    raise ValueError(f"no portrait fits in {target} bytes")


def good_photo(size_kb_target: int = 60) -> bytes:
    """A photo every default rule accepts: white background, 358×500, ``size_kb_target`` KB."""
    return photo_jpeg(size_kb_target * KB)


def with_sof_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with the frame header claiming another size (nothing else changed)."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 9 :]


# ID scans and other images ---------------------------------------------------------------------


def scan(width: int, height: int) -> Image.Image:
    """Something that looks like a card scan: a pale card with dark text lines."""
    image = Image.new("RGB", (width, height), (236, 238, 232))
    draw = ImageDraw.Draw(image)
    for line in range(6):
        top = int(height * (0.15 + line * 0.12))
        draw.rectangle((int(width * 0.08), top, int(width * 0.6), top + 8), fill=(30, 30, 30))
    draw.rectangle(
        (int(width * 0.68), int(height * 0.15), int(width * 0.92), int(height * 0.7)),
        fill=(200, 170, 150),
    )
    return image


def image_bytes(image: Image.Image, image_format: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def good_id_scan() -> bytes:
    """An 856×540 JPEG card scan (85.6×54 mm at 254 dpi)."""
    return image_bytes(scan(856, 540), "JPEG", quality=85)


def noise_png(width: int, height: int, *, compress_level: int = 1) -> bytes:
    """A PNG of random pixels: it cannot be compressed, so its size is about 3 × pixels."""
    pixels = random.Random(width * height).randbytes(width * height * 3)
    return image_bytes(
        Image.frombytes("RGB", (width, height), pixels), "PNG", compress_level=compress_level
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


@cache
def one_colour_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of a single colour: a few kilobytes that decode to width × height
    pixels (the classic decompression bomb). Written by hand: Pillow would need the whole
    image in memory to make it."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    block = row * 500
    stream = [compressor.compress(block) for _ in range(height // 500)]
    stream.append(compressor.compress(row * (height % 500)))
    stream.append(compressor.flush())
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes((1, 0, 0, 0, 0))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(stream))
        + _png_chunk(b"IEND", b"")
    )


# PDF -------------------------------------------------------------------------------------------


def minimal_pdf(padding: int = 0) -> bytes:
    """A valid one-page PDF with a correct cross-reference table; ``padding`` bytes of PDF
    comment in the page content make it as large as needed."""
    content = b"BT /F1 24 Tf 72 720 Td (Graduation certificate) Tj ET\n"
    if padding:
        content += b"%" + b"0" * (padding - 2) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def good_pdf() -> bytes:
    return minimal_pdf()


# The corpus ------------------------------------------------------------------------------------

NOT_JPEG = "文件内容不是 JPEG 图片（照片须为 JPG 格式）"
NOT_ID_IMAGE = "文件内容不是 JPEG 或 PNG 图片"
NOT_DOCUMENT = "文件内容不是 JPEG、PNG 图片或 PDF 文件"
PHOTO_SIZE = "须大于 30 KB 且小于 100 KB"


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("毕业证书.jpg", good_id_scan())
    return out.getvalue()


@cache
def _corpus() -> tuple[BadUpload, ...]:
    unpadded_photo = jpeg_bytes(portrait(noise=100))
    small_pixels = jpeg_bytes(Image.new("RGB", (100, 100), "white"))
    scan_png = image_bytes(scan(800, 500), "PNG")
    pdf = good_pdf()
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="358" '
        b'height="441"><script>fetch("/admin/")</script><rect width="100%" height="100%" '
        b'fill="white"/></svg>'
    )
    return (
        # Not images at all, whatever the name says.
        BadUpload("empty", "photo", b"", "empty", "文件为空。"),
        BadUpload(
            "html_named_jpg",
            "photo",
            b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
            "wrong_format",
            "网页（HTML）",
        ),
        BadUpload(
            "php_named_jpg", "photo", b"<?php system($_GET['c']); ?>", "wrong_format", "PHP 脚本"
        ),
        BadUpload(
            "gif_php_polyglot",
            "photo",
            b"GIF89a<?php system($_GET['c']); ?>",
            "wrong_format",
            "GIF 图片",
        ),
        BadUpload("svg_script_named_jpg", "photo", svg, "wrong_format", "SVG 图片"),
        BadUpload("svg_as_id_scan", "id_scan", svg, "wrong_format", NOT_ID_IMAGE),
        BadUpload(
            "random_bytes",
            "photo",
            random.Random(7).randbytes(50 * KB),
            "wrong_format",
            NOT_JPEG,
        ),
        BadUpload(
            "text_as_medical",
            "medical",
            "体检合格，心电图正常。\n".encode() * 100,
            "wrong_format",
            NOT_DOCUMENT,
        ),
        BadUpload("zip_as_education_proof", "education_proof", _zip(), "wrong_format", "ZIP"),
        BadUpload(
            "elf_as_medical",
            "medical",
            b"\x7fELF\x02\x01\x01" + b"\x00" * 4000,
            "wrong_format",
            "可执行程序",
        ),
        BadUpload(
            "windows_exe_as_id_scan",
            "id_scan",
            b"MZ\x90\x00" + b"\x00" * 4000,
            "wrong_format",
            "可执行程序",
        ),
        BadUpload(
            "heic_as_photo",
            "photo",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40 * KB,
            "wrong_format",
            "HEIC",
        ),
        # Images of a format the material does not take.
        BadUpload(
            "png_as_photo",
            "photo",
            image_bytes(portrait(), "PNG"),
            "wrong_format",
            NOT_JPEG,
        ),
        BadUpload(
            "gif_as_photo", "photo", image_bytes(portrait(), "GIF"), "wrong_format", "GIF 图片"
        ),
        BadUpload(
            "webp_as_photo", "photo", image_bytes(portrait(), "WEBP"), "wrong_format", "WebP 图片"
        ),
        BadUpload(
            "bmp_as_id_scan",
            "id_scan",
            image_bytes(scan(800, 500), "BMP"),
            "wrong_format",
            "BMP 图片",
        ),
        BadUpload(
            "tiff_as_education_proof",
            "education_proof",
            image_bytes(scan(800, 500), "TIFF"),
            "wrong_format",
            "TIFF 图片",
        ),
        BadUpload("pdf_as_photo", "photo", pdf, "wrong_format", NOT_JPEG),
        BadUpload("pdf_as_id_scan", "id_scan", pdf, "wrong_format", "PDF 文件"),
        BadUpload(
            "html_before_pdf_header",
            "education_proof",
            b"<html><script>alert(1)</script></html>\n" + pdf,
            "wrong_format",
            "网页（HTML）",
        ),
        # Broken files.
        BadUpload(
            "truncated_jpeg",
            "photo",
            unpadded_photo[: len(unpadded_photo) * 6 // 10],
            "corrupt_image",
            "图片文件不完整或已损坏",
        ),
        BadUpload(
            "truncated_png",
            "id_scan",
            scan_png[: len(scan_png) // 2],
            "corrupt_image",
            "图片文件不完整或已损坏",
        ),
        BadUpload(
            "jpeg_signature_then_garbage",
            "photo",
            b"\xff\xd8\xff\xe0" + b"\x00" * 40 * KB,
            "corrupt_image",
            "图片文件不完整或已损坏",
        ),
        BadUpload(
            "truncated_pdf",
            "education_proof",
            pdf[: len(pdf) // 2],
            "pdf_corrupt",
            "PDF 文件不完整或已损坏。",
        ),
        BadUpload(
            "pdf_header_only", "medical", b"%PDF-1.7\n", "pdf_corrupt", "PDF 文件不完整或已损坏。"
        ),
        # Decompression bombs.
        BadUpload(
            "png_bomb_20000x20000",
            "id_scan",
            one_colour_png(20_000, 20_000),
            "decompression_bomb",
            "图片像素过多，疑似压缩炸弹，已拒绝。",
        ),
        BadUpload(
            "png_bomb_8000x6000_over_policy_limit",
            "education_proof",
            one_colour_png(8000, 6000),
            "decompression_bomb",
            "当前为 8000×6000 像素，上限为 40000000 像素",
        ),
        BadUpload(
            "jpeg_header_claims_7000x7000",
            "photo",
            with_sof_size(small_pixels, 7000, 7000),
            "decompression_bomb",
            "图片像素过多，疑似压缩炸弹，已拒绝。",
        ),
        # Photo rules.
        BadUpload("photo_29kb", "photo", photo_jpeg(29 * KB), "photo_size", "照片大小为 29 KB"),
        BadUpload("photo_exactly_30kb", "photo", photo_jpeg(30 * KB), "photo_size", PHOTO_SIZE),
        BadUpload("photo_exactly_100kb", "photo", photo_jpeg(100 * KB), "photo_size", PHOTO_SIZE),
        BadUpload(
            "photo_101kb",
            "photo",
            photo_jpeg(101 * KB),
            "photo_size",
            "照片大小为 101 KB，须大于 30 KB 且小于 100 KB。",
        ),
        BadUpload(
            "photo_one_byte_under_30kb",
            "photo",
            photo_jpeg(30 * KB - 1),
            "photo_size",
            "照片大小为 29.9 KB",
        ),
        BadUpload(
            "photo_landscape",
            "photo",
            photo_jpeg(60 * KB, portrait(620, 450)),
            "photo_aspect",
            "照片尺寸为 620×450 像素，须为竖版，宽高比约 25:35（0.62–0.80）。",
        ),
        BadUpload(
            "photo_square",
            "photo",
            photo_jpeg(60 * KB, portrait(450, 450)),
            "photo_aspect",
            "照片尺寸为 450×450 像素",
        ),
        BadUpload(
            "photo_too_narrow",
            "photo",
            photo_jpeg(60 * KB, portrait(300, 600)),
            "photo_aspect",
            "照片尺寸为 300×600 像素",
        ),
        BadUpload(
            "photo_too_few_pixels",
            "photo",
            photo_jpeg(60 * KB, portrait(200, 280)),
            "photo_too_small",
            "照片至少 295×413 像素，当前为 200×280 像素。",
        ),
        BadUpload(
            "photo_dark_background",
            "photo",
            photo_jpeg(60 * KB, portrait(background=(60, 60, 60))),
            "photo_background",
            "照片背景须为白色：照片边缘有 100% 的像素不是白色，请在白色背景前重新拍摄。",
        ),
        BadUpload(
            "photo_blue_background",
            "photo",
            photo_jpeg(60 * KB, portrait(background=BLUE_BACKGROUND)),
            "photo_background",
            "照片背景须为白色",
        ),
        BadUpload(
            "photo_pale_pink_background",
            "photo",
            photo_jpeg(60 * KB, portrait(background=(255, 205, 215))),
            "photo_background",
            "照片背景须为白色",
        ),
        BadUpload(
            "photo_black_and_white",
            "photo",
            photo_jpeg(60 * KB, portrait().convert("L")),
            "photo_colour",
            "照片须为彩色照片，不能是黑白照片",
        ),
        BadUpload(
            "photo_greyscale_saved_as_rgb",
            "photo",
            photo_jpeg(60 * KB, portrait().convert("L").convert("RGB")),
            "photo_colour",
            "照片须为彩色照片",
        ),
        BadUpload(
            "photo_rotated_by_exif",
            "photo",
            photo_jpeg(60 * KB, exif=_orientation_exif(6)),
            "photo_orientation",
            "EXIF 方向值为 6",
        ),
        # ID scan rules.
        BadUpload(
            "id_scan_901x600",
            "id_scan",
            image_bytes(scan(901, 600), "JPEG"),
            "id_scan_too_large",
            "身份证扫描件须在 900×600 像素以内，当前为 901×600 像素。",
        ),
        BadUpload(
            "id_scan_600x901_rotated",
            "id_scan",
            image_bytes(scan(600, 901), "PNG"),
            "id_scan_too_large",
            "当前为 600×901 像素",
        ),
        BadUpload(
            "id_scan_900x601",
            "id_scan",
            image_bytes(scan(900, 601), "JPEG"),
            "id_scan_too_large",
            "当前为 900×601 像素",
        ),
        BadUpload(
            "id_scan_1000x700",
            "id_scan",
            image_bytes(scan(1000, 700), "JPEG"),
            "id_scan_too_large",
            "当前为 1000×700 像素",
        ),
        BadUpload(
            "id_scan_phone_photo",
            "id_scan",
            image_bytes(scan(4032, 3024), "JPEG", quality=40),
            "id_scan_too_large",
            "当前为 4032×3024 像素",
        ),
        # Document sizes.
        BadUpload(
            "pdf_6mb_as_education_proof",
            "education_proof",
            minimal_pdf(padding=6 * MB),
            "file_too_large",
            "毕业证书或学历证明大小为 6.0 MB，须不超过 5 MB。",
        ),
        BadUpload(
            "png_6mb_as_medical",
            "medical",
            noise_png(1500, 1400, compress_level=0),
            "file_too_large",
            "体检合格证明大小为 6.0 MB，须不超过 5 MB。",
        ),
    )


def _orientation_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def bad_uploads() -> list[BadUpload]:
    """Every file here must be refused with its code and a message containing its text."""
    return list(_corpus())
