"""Content checks for uploaded materials (SPEC section 3): pure functions, no models, no storage.

``validate_material`` identifies a file by its content — never by its name —, applies the
rules of its material kind and returns the bytes to store, with metadata removed; the caller
stores ``CleanFile.content`` under a random name. Every rule a file breaks becomes one
``ValidationError`` (with a ``code``) whose Chinese message names the rule and the actual value;
when several rules fail they are reported together.

Images are parsed by Pillow limited to JPEG and PNG, and their pixel count is checked from the
header before a single pixel is decoded (decompression bombs). JPEG metadata is removed by
rewriting the segment structure without re-encoding, so the photo keeps the quality and the size
the applicant chose; PNG is re-saved losslessly without text or EXIF chunks; PDF is stored as
given.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext, gettext_lazy
from PIL import ExifTags, Image, ImageChops

KB = 1024
MB = 1024 * KB

# White background: the top band and the upper part of the side bands must be near-white. The
# bottom band and the lower third of the sides are not looked at: shoulders and clothes reach
# the edges there in every correct head-and-shoulders photo.
BACKGROUND_BAND = 0.03  # of each side
BACKGROUND_SIDE_EXTENT = 2 / 3  # of the height, from the top
NEAR_WHITE_MIN_CHANNEL = 200  # every channel at least this bright…
NEAR_WHITE_MAX_SPREAD = 40  # …and nearly grey: pale blue or pink backgrounds are not white
BACKGROUND_MAX_NON_WHITE = 0.10  # a little hair or shadow at the edge is tolerated
# 彩色照片 (the seed's photo rule): a black-and-white photo, or one saved in greyscale, has
# almost no pixel whose colour departs from grey. A colour portrait on white has its face,
# hair and clothes: far more than this share of clearly coloured pixels.
COLOUR_MIN_CHROMA = 12  # max(|R−G|, |G−B|, |R−B|) at least this: a colour, not JPEG's noise
COLOUR_MIN_SHARE = 0.02  # of the pixels
COLOUR_SAMPLE_SIDE = 96  # the check reads a thumbnail: quick, and noise averaged out

PDF_EOF_WINDOW = KB  # "%%EOF" must be within the last kilobyte

# Everything Pillow may raise while parsing hostile input.
_PILLOW_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)


class MaterialKind(models.TextChoices):
    PHOTO = "photo", gettext_lazy("电子照片")
    ID_SCAN = "id_scan", gettext_lazy("身份证扫描件")
    EDUCATION_PROOF = "education_proof", gettext_lazy("毕业证书或学历证明")
    MEDICAL = "medical", gettext_lazy("体检合格证明")


@dataclass(frozen=True)
class MaterialRules:
    """Limits for materials. The defaults are the Quanzhou document; callers build one from an
    authority's ``Policy``. Sizes are strict bounds for the photo (more than min, less than
    max) and inclusive maxima elsewhere; 1 KB = 1024 bytes."""

    photo_min_kb: int = 30
    photo_max_kb: int = 100
    photo_min_width: int = 295
    photo_min_height: int = 413
    photo_min_ratio: float = 0.62  # width / height; 25:35 ≈ 0.714
    photo_max_ratio: float = 0.80
    id_scan_max_long_px: int = 900
    id_scan_max_short_px: int = 600
    education_proof_max_mb: int = 5
    medical_max_mb: int = 5
    max_pixels: int = 40_000_000  # decompression-bomb guard for every image


DEFAULT_RULES = MaterialRules()


@dataclass(frozen=True)
class CleanFile:
    content: bytes  # what to store: metadata stripped
    extension: str  # "jpg", "png" or "pdf", from the content
    content_type: str
    width: int | None
    height: int | None


_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "PDF": ("pdf", "application/pdf"),
}

_ALLOWED_FORMATS = {
    MaterialKind.PHOTO: {"JPEG"},
    MaterialKind.ID_SCAN: {"JPEG", "PNG"},
    MaterialKind.EDUCATION_PROOF: {"JPEG", "PNG", "PDF"},
    MaterialKind.MEDICAL: {"JPEG", "PNG", "PDF"},
}


def validate_material(kind: str, data: bytes, rules: MaterialRules = DEFAULT_RULES) -> CleanFile:
    """Check ``data`` as material ``kind`` and return what to store.

    Raises ``ValidationError`` (one error, or a list when several rules fail) for a file that
    breaks a rule, and ``ValueError`` for an unknown ``kind`` (a programming error).
    """
    kind = MaterialKind(kind)
    if not data:
        raise ValidationError(gettext("文件为空。"), code="empty")
    if data.startswith(b"%PDF-"):
        if "PDF" not in _ALLOWED_FORMATS[kind]:
            raise _wrong_format(kind, data)
        _check_document_size(kind, data, rules)
        return _validate_pdf(data)

    # Pillow's bomb warning fires from Image.open; as an error it becomes a refusal.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _validate_image(kind, data, rules)


def make_thumbnail(clean: CleanFile, max_side: int = 160) -> bytes | None:
    """A small JPEG preview of a validated image; ``None`` for a PDF."""
    if clean.extension == "pdf":
        return None
    with Image.open(io.BytesIO(clean.content)) as image:
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        preview = _flatten_to_rgb(image)
    preview.thumbnail((max_side, max_side))
    out = io.BytesIO()
    preview.save(out, format="JPEG", quality=85)
    return out.getvalue()


# Images ----------------------------------------------------------------------------------------


def _validate_image(kind: MaterialKind, data: bytes, rules: MaterialRules) -> CleanFile:
    image_format, (width, height) = _identify(kind, data)
    if image_format not in _ALLOWED_FORMATS[kind]:
        raise _wrong_format(kind, data)
    _check_document_size(kind, data, rules)
    if width * height > rules.max_pixels:
        raise _bomb(width, height, rules.max_pixels)
    image = _decode(data)
    # Also a structural check: a JPEG that does not end where its segments say is refused.
    stripped = _strip_jpeg_metadata(data) if image_format == "JPEG" else None

    errors = []
    if kind == MaterialKind.PHOTO:
        errors = _photo_errors(image, data, rules)
    elif kind == MaterialKind.ID_SCAN:
        errors = _id_scan_errors(image, rules)
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationError(errors)

    content = stripped if stripped is not None else _resave_png(image)
    extension, content_type = _FORMATS[image_format]
    return CleanFile(content, extension, content_type, width, height)


def _identify(kind: MaterialKind, data: bytes) -> tuple[str, tuple[int, int]]:
    """Read the header only: the format and the pixel size, nothing decoded yet."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            # A JPEG with a multi-picture index (many phones) opens as MPO; only its first
            # picture is kept, as a plain JPEG.
            image_format = "JPEG" if image.format == "MPO" else image.format
            return image_format, image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb() from exc
    except _PILLOW_ERRORS as exc:
        if _looks_like(data) in {"JPEG", "PNG"} & _ALLOWED_FORMATS[kind]:
            raise _corrupt() from exc
        raise _wrong_format(kind, data) from exc


def _decode(data: bytes) -> Image.Image:
    """Verify the structure, then decode every pixel: a truncated file fails here."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            image.verify()
        image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb() from exc
    except _PILLOW_ERRORS as exc:
        raise _corrupt() from exc
    return image


def _resave_png(image: Image.Image) -> bytes:
    """Lossless re-save: Pillow writes text and EXIF chunks only when asked to, so none are
    carried over (the ICC colour profile and transparency are)."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _photo_errors(image: Image.Image, data: bytes, rules: MaterialRules) -> list[ValidationError]:
    errors = []
    width, height = image.size
    size = len(data)  # as uploaded: the size the applicant sees and can change
    if not rules.photo_min_kb * KB < size < rules.photo_max_kb * KB:
        errors.append(
            ValidationError(
                gettext("照片大小为 %(size)s KB，须大于 %(min_kb)d KB 且小于 %(max_kb)d KB。"),
                code="photo_size",
                params={
                    "size": _format_size(size, KB, rules.photo_min_kb, rules.photo_max_kb),
                    "min_kb": rules.photo_min_kb,
                    "max_kb": rules.photo_max_kb,
                },
            )
        )
    if width < rules.photo_min_width or height < rules.photo_min_height:
        errors.append(
            ValidationError(
                gettext(
                    "照片至少 %(min_width)d×%(min_height)d 像素，当前为 %(width)d×%(height)d 像素。"
                ),
                code="photo_too_small",
                params={
                    "min_width": rules.photo_min_width,
                    "min_height": rules.photo_min_height,
                    "width": width,
                    "height": height,
                },
            )
        )
    if not rules.photo_min_ratio <= width / height <= rules.photo_max_ratio:
        errors.append(
            ValidationError(
                gettext(
                    "照片尺寸为 %(width)d×%(height)d 像素，须为竖版，"
                    "宽高比约 25:35（%(min_ratio).2f–%(max_ratio).2f）。"
                ),
                code="photo_aspect",
                params={
                    "width": width,
                    "height": height,
                    "min_ratio": rules.photo_min_ratio,
                    "max_ratio": rules.photo_max_ratio,
                },
            )
        )
    orientation = _exif_orientation(image)
    if orientation != 1:
        # The EXIF block goes when the file is stored, and with it the rotation a phone
        # recorded there: the stored photo would show lying on its side or upside down.
        errors.append(
            ValidationError(
                gettext(
                    "照片带有旋转标记（EXIF 方向值为 %(orientation)d），保存时会去除该标记，"
                    "照片将不再是正向；请先把照片旋转为正向并另存后再上传。"
                ),
                code="photo_orientation",
                params={"orientation": orientation},
            )
        )
    if _coloured_share(image) < COLOUR_MIN_SHARE:
        errors.append(
            ValidationError(
                gettext("照片须为彩色照片，不能是黑白照片；请上传彩色的证件照。"),
                code="photo_colour",
            )
        )
    non_white = _non_white_border_share(image)
    if non_white > BACKGROUND_MAX_NON_WHITE:
        errors.append(
            ValidationError(
                gettext(
                    "照片背景须为白色：照片边缘有 %(percent)d%% 的像素不是白色，"
                    "请在白色背景前重新拍摄。"
                ),
                code="photo_background",
                params={"percent": math.ceil(non_white * 100)},
            )
        )
    return errors


def _id_scan_errors(image: Image.Image, rules: MaterialRules) -> list[ValidationError]:
    width, height = image.size
    if (
        max(width, height) <= rules.id_scan_max_long_px
        and min(width, height) <= rules.id_scan_max_short_px
    ):
        return []
    return [
        ValidationError(
            gettext(
                "身份证扫描件须在 %(long)d×%(short)d 像素以内，当前为 %(width)d×%(height)d 像素。"
            ),
            code="id_scan_too_large",
            params={
                "long": rules.id_scan_max_long_px,
                "short": rules.id_scan_max_short_px,
                "width": width,
                "height": height,
            },
        )
    ]


def _exif_orientation(image: Image.Image) -> int:
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except _PILLOW_ERRORS:
        return 1  # unreadable EXIF: no viewer would rotate by it either
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


_NEAR_WHITE_LUT = [255 if v >= NEAR_WHITE_MIN_CHANNEL else 0 for v in range(256)]
_GREY_LUT = [255 if v <= NEAR_WHITE_MAX_SPREAD else 0 for v in range(256)]


def _coloured_share(image: Image.Image) -> float:
    """The share (0–1) of pixels whose colour clearly departs from grey."""
    sample = image.convert("RGB")
    sample.thumbnail((COLOUR_SAMPLE_SIDE, COLOUR_SAMPLE_SIDE))
    red, green, blue = sample.split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    brightest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    spread = ImageChops.subtract(brightest, darkest).histogram()
    return sum(spread[COLOUR_MIN_CHROMA:]) / (sample.width * sample.height)


def _non_white_border_share(image: Image.Image) -> float:
    """The share (0–1) of pixels in the checked border bands that are not near-white."""
    width, height = image.size
    band_x = max(1, round(width * BACKGROUND_BAND))
    band_y = max(1, round(height * BACKGROUND_BAND))
    side_bottom = max(band_y + 1, round(height * BACKGROUND_SIDE_EXTENT))
    boxes = [
        (0, 0, width, band_y),
        (0, band_y, band_x, side_bottom),
        (width - band_x, band_y, width, side_bottom),
    ]
    white = total = 0
    for box in boxes:
        red, green, blue = image.crop(box).convert("RGB").split()
        darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
        brightest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
        spread = ImageChops.subtract(brightest, darkest)
        near_white = ImageChops.darker(darkest.point(_NEAR_WHITE_LUT), spread.point(_GREY_LUT))
        white += near_white.histogram()[255]
        total += (box[2] - box[0]) * (box[3] - box[1])
    return 1 - white / total


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in {"I", "I;16", "I;16B", "I;16L"}:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


# JPEG segments ---------------------------------------------------------------------------------

_JPEG_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0–7 carry no length
_SOS, _EOI, _APP0, _APP14, _COM = 0xDA, 0xD9, 0xE0, 0xEE, 0xFE
_JFIF_BODY = 14  # "JFIF\0", version, units, densities, thumbnail size
_ADOBE_BODY = 12  # "Adobe", version, flags0, flags1, colour transform


def _strip_jpeg_metadata(data: bytes) -> bytes:
    """Rewrite a JPEG without APP1–APP15 (EXIF, XMP, ICC, maker notes, Photoshop) and COM
    segments, keeping the pixel data byte for byte.

    APP0 is kept as the bare JFIF header (its embedded thumbnail dropped) and APP14 as the bare
    Adobe header (it says how CMYK is stored). Whatever follows the end-of-image marker — the
    other pictures of a multi-picture file, or anything appended — is dropped. A file whose
    segments do not end in an end-of-image marker is refused as incomplete.
    """
    if not data.startswith(b"\xff\xd8"):
        raise _corrupt()
    out = [b"\xff\xd8"]
    pos, end = 2, len(data)
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise _corrupt()
        while pos < end and data[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        if pos >= end:
            raise _corrupt()
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker in _JPEG_STANDALONE_MARKERS:
            out.append(bytes((0xFF, marker)))
            continue
        if pos + 2 > end:
            raise _corrupt()
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > end:
            raise _corrupt()
        body = data[pos + 2 : pos + length]
        pos += length
        if marker == _SOS:
            scan_end = _entropy_coded_end(data, pos)
            out.append(data[pos - length - 2 : scan_end])
            pos = scan_end
        elif marker == _APP0:
            if body.startswith(b"JFIF\x00") and len(body) >= _JFIF_BODY:
                out.append(_jpeg_segment(_APP0, body[: _JFIF_BODY - 2] + b"\x00\x00"))
        elif marker == _APP14:
            if body.startswith(b"Adobe") and len(body) >= _ADOBE_BODY:
                out.append(_jpeg_segment(_APP14, body[:_ADOBE_BODY]))
        elif _APP0 < marker <= 0xEF or marker == _COM:
            continue
        else:
            out.append(_jpeg_segment(marker, body))


def _entropy_coded_end(data: bytes, pos: int) -> int:
    """The offset of the marker that ends the scan data starting at ``pos``."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise _corrupt()
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart marker
            pos += 2
        elif following == 0xFF:  # fill byte
            pos += 1
        else:
            return pos


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


# PDF and sizes ---------------------------------------------------------------------------------


def _validate_pdf(data: bytes) -> CleanFile:
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        raise ValidationError(gettext("PDF 文件不完整或已损坏。"), code="pdf_corrupt")
    extension, content_type = _FORMATS["PDF"]
    return CleanFile(data, extension, content_type, None, None)


def _check_document_size(kind: MaterialKind, data: bytes, rules: MaterialRules) -> None:
    """Education proof and medical certificate: at most N MB, measured as uploaded (checked
    before any pixel is decoded)."""
    limits = {
        MaterialKind.EDUCATION_PROOF: rules.education_proof_max_mb,
        MaterialKind.MEDICAL: rules.medical_max_mb,
    }
    if kind not in limits or len(data) <= limits[kind] * MB:
        return
    raise ValidationError(
        gettext("%(material)s大小为 %(size)s MB，须不超过 %(max_mb)d MB。"),
        code="file_too_large",
        params={
            "material": kind.label,
            "size": _format_size(len(data), MB, 0, limits[kind]),
            "max_mb": limits[kind],
        },
    )


def _format_size(size: int, unit: int, low: int, high: int) -> str:
    """``size`` in ``unit`` (KB or MB) for a message about the range ``low``–``high`` it is
    outside of: whole when exact, else one decimal that never rounds onto the allowed side, so
    a refused 30719-byte photo reads 29.9 KB, never "30.0 KB"."""
    if size % unit == 0:
        return str(size // unit)
    value = round(size / unit, 1)
    if size > high * unit and value <= high:
        value = math.ceil(size * 10 / unit) / 10
    elif size < low * unit and value >= low:
        value = math.floor(size * 10 / unit) / 10
    return f"{value:.1f}"


# Errors ----------------------------------------------------------------------------------------


def _wrong_format(kind: MaterialKind, data: bytes) -> ValidationError:
    messages = {
        MaterialKind.PHOTO: gettext("文件内容不是 JPEG 图片（照片须为 JPG 格式）。"),
        MaterialKind.ID_SCAN: gettext(
            "文件内容不是 JPEG 或 PNG 图片（身份证扫描件须为 JPG 或 PNG 格式）。"
        ),
    }
    message = messages.get(kind) or gettext(
        "文件内容不是 JPEG、PNG 图片或 PDF 文件（%(material)s须为 JPG、PNG 或 PDF 格式）。"
    )
    detected = _describe(data)
    if detected:
        message += gettext("检测到的文件类型：%(detected)s。")
    return ValidationError(
        message,
        code="wrong_format",
        params={"material": kind.label, "detected": detected or ""},
    )


def _corrupt() -> ValidationError:
    return ValidationError(gettext("图片文件不完整或已损坏，无法打开。"), code="corrupt_image")


def _bomb(width: int | None = None, height: int | None = None, limit: int = 0) -> ValidationError:
    message = gettext("图片像素过多，疑似压缩炸弹，已拒绝。")
    if width is not None:
        message += gettext("当前为 %(width)d×%(height)d 像素，上限为 %(limit)d 像素。")
    return ValidationError(
        message,
        code="decompression_bomb",
        params={"width": width or 0, "height": height or 0, "limit": limit},
    )


def _looks_like(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    return None


_SIGNATURES = (
    (b"\xff\xd8\xff", gettext_lazy("JPEG 图片")),
    (b"\x89PNG\r\n\x1a\n", gettext_lazy("PNG 图片")),
    (b"GIF8", gettext_lazy("GIF 图片")),
    (b"BM", gettext_lazy("BMP 图片")),
    (b"II*\x00", gettext_lazy("TIFF 图片")),
    (b"MM\x00*", gettext_lazy("TIFF 图片")),
    (b"%PDF-", gettext_lazy("PDF 文件")),
    (b"PK\x03\x04", gettext_lazy("ZIP 压缩包或 Office 文档")),
    (b"Rar!", gettext_lazy("RAR 压缩包")),
    (b"7z\xbc\xaf\x27\x1c", gettext_lazy("7z 压缩包")),
    (b"\x7fELF", gettext_lazy("可执行程序")),
    (b"MZ", gettext_lazy("可执行程序")),
)


def _describe(data: bytes) -> str | None:
    """What a refused file seems to be, for the message only: never used to accept a file."""
    for signature, label in _SIGNATURES:
        if data.startswith(signature):
            return str(label)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return gettext("WebP 图片")
    if data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"hevc", b"mif1", b"msf1"}:
        return gettext("HEIC 图片（苹果手机照片格式）")
    head = data[:1024].lstrip().lower()
    if b"<?php" in head:
        return gettext("PHP 脚本")
    if b"<svg" in head:
        return gettext("SVG 图片")
    if b"<html" in head or b"<!doctype html" in head:
        return gettext("网页（HTML）")
    return None
