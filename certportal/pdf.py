"""PDF primitives shared by the admission ticket and the e-certificate: fonts, text, QR, photo.

Everything here draws onto a reportlab canvas and keeps no per-document state, so the
renderers built on it stay pure functions (STYLE rule 9). Fonts are loaded and registered
once per process by :func:`register_fonts`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Container
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Literal

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from segno import encoder as segno_encoder

logger = logging.getLogger(__name__)

# Binary streams as they are: ASCII85 only makes files 25% bigger and slower to write.
rl_config.useA85 = 0

# Debian's fonts: fonts-arphic-uming (Song style, the look of official documents),
# fonts-wqy-microhei (sans, the last TrueType resort), fonts-hanazono (rare characters:
# HanaMinA covers the BMP and CJK extension A, HanaMinB extension B and beyond).
UMING_PATH = "/usr/share/fonts/truetype/arphic/uming.ttc"
WQY_MICROHEI_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
HANAMIN_A_PATH = "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"
HANAMIN_B_PATH = "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"

MAIN_FONT_CANDIDATES: tuple[str, ...] = (UMING_PATH, WQY_MICROHEI_PATH)
FALLBACK_FONT_PATHS: tuple[str, ...] = (HANAMIN_A_PATH, HANAMIN_B_PATH)
CID_FONT_NAME = "STSong-Light"

# A main font must draw certificate numbers and dates itself (Droid Sans Fallback has no
# Latin digits, so a document set in it alone would lose them).
REQUIRED_MAIN_CHARACTERS = "0123456789"

QR_ERROR_CORRECTION = "m"
QR_QUIET_ZONE_MODULES = 4

Align = Literal["left", "center", "right"]

# Typed text (a venue, an institution's name) may hold characters that no font draws and no
# reader sees: a control character (a pasted tab or line break, or worse) prints as a space; a
# format character (right-to-left override, zero-width space, soft hyphen) is left out, since
# text here is laid out left to right and must not be reordered or hidden by one.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def printable(text: str) -> str:
    """``text`` as it is drawn: control characters as spaces, format characters left out."""
    return _FORMAT_CHARACTERS.sub("", _CONTROL_CHARACTERS.sub(" ", text))


class MissingGlyphError(ValueError):
    """No registered font can draw ``character``; the document would silently lose it."""

    def __init__(self, text: str, character: str) -> None:
        self.text = text
        self.character = character
        self.code_point = ord(character)
        # The text (often a person's name) stays an attribute, out of the message and the logs.
        super().__init__(
            f"no installed font has the character {character!r} (U+{self.code_point:04X}); "
            "install a font that covers it (fonts-hanazono covers CJK extensions A and B)"
        )

    def explain(self) -> str:
        """What staff read on the admin page (the message above is for the logs)."""
        from django.utils.translation import gettext as _

        return _(
            "字符“%(character)s”（U+%(code)s）没有可用的字库，无法生成。请联系系统管理员安装覆盖该"
            "字符的字体（如 fonts-hanazono），然后重新生成。"
        ) % {"character": self.character, "code": f"{self.code_point:04X}"}


class FontConfigurationError(ImproperlyConfigured):
    """CERT_FONT_PATH names a font that cannot be used."""


class _TableSlices:
    """A font table read slice by slice out of the font file's bytes.

    reportlab's subsetter asks for the whole ``glyf`` table (17 MB in AR PL UMing) and the
    whole ``post`` table only to slice a few glyphs or bytes out of them: a copy of megabytes
    per subset, most of a warm render's time. It only ever slices these two tables.
    """

    __slots__ = ("_data", "_length", "_start")

    def __init__(self, data: bytes, start: int, length: int) -> None:
        self._data, self._start, self._length = data, start, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("font tables are read by contiguous slices only")
        start, stop, _ = key.indices(self._length)
        return self._data[self._start + start : self._start + max(start, stop)]


_SLICED_TABLES = frozenset({"glyf", "post"})


class _CertTTFont(TTFont):
    """A TrueType font that subsets fast and whose ToUnicode map also gives back characters
    beyond the BMP.

    reportlab writes each ToUnicode destination as ``<%04X>`` of the code point, which is
    wrong for U+10000 and above (𠮷 U+20BB7 would come back from pdftotext as U+20BB + "7").
    The destination must be UTF-16BE, so such characters get their surrogate pair.
    """

    def __init__(self, name: str, filename: str, subfont_index: int = 0) -> None:
        super().__init__(name, filename, subfontIndex=subfont_index)
        face = self.face
        copy_table = face.get_table

        def get_table(tag):
            if tag in _SLICED_TABLES:
                return _TableSlices(face._ttf_data, *face.get_table_pos(tag))
            return copy_table(tag)

        face.get_table = get_table

    def addObjects(self, doc):
        state = self.state.get(doc)
        needs_fix = state is not None and any(
            code > 0xFFFF for subset in state.subsets for code in subset
        )
        if not needs_fix:
            return super().addObjects(doc)
        subsets = [list(subset) for subset in state.subsets]
        internal_names = [self.getSubsetInternalName(n, doc)[1:] for n in range(len(subsets))]
        super().addObjects(doc)
        font_dict = doc.idToObject["BasicFonts"].dict
        for internal_name, subset in zip(internal_names, subsets, strict=True):
            if any(code > 0xFFFF for code in subset):
                pdf_font = font_dict[internal_name]
                stream = doc.idToObject[pdf_font.ToUnicode.name]
                stream.content = _to_unicode_cmap(pdf_font.BaseFont, subset)


def _utf16_hex(code: int) -> str:
    return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()


def _to_unicode_cmap(font_name: str, subset: list[int]) -> str:
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({font_name})",
            f"/Ordering ({font_name})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{font_name} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *(f"<{index:02X}> <{_utf16_hex(code)}>" for index, code in enumerate(subset)),
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


_MISSING = object()


@dataclass(frozen=True, eq=False)
class FontSet:
    """The registered main font and its fallbacks, in the order they are tried.

    ``coverage`` holds, per font, a container answering ``ord(character) in coverage``
    (the font's cmap).
    """

    main: str
    fallbacks: tuple[str, ...]
    coverage: tuple[Container[int], ...] = field(repr=False)
    embedded: bool = True
    _font_for: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.main, *self.fallbacks)

    def font_for(self, character: str) -> str | None:
        """The first font that has ``character``, or None."""
        font = self._font_for.get(character, _MISSING)
        if font is _MISSING:
            code = ord(character)
            font = next(
                (
                    name
                    for name, cmap in zip(self.names, self.coverage, strict=True)
                    if code in cmap
                ),
                None,
            )
            self._font_for[character] = font
        return font

    def runs(self, text: str) -> list[tuple[str, str]]:
        """``printable(text)`` split into (font name, piece) runs; raises MissingGlyphError."""
        text = printable(text)
        runs: list[tuple[str, str]] = []
        current_font = None
        piece: list[str] = []
        for character in text:
            font = self.font_for(character)
            if font is None:
                raise MissingGlyphError(text, character)
            if font != current_font:
                if piece:
                    runs.append((current_font, "".join(piece)))
                current_font, piece = font, []
            piece.append(character)
        if piece:
            runs.append((current_font, "".join(piece)))
        return runs


_registered_fonts: dict[tuple[str, int], _CertTTFont] = {}
_font_set: FontSet | None = None
_font_set_lock = threading.Lock()


# What a TrueType or OpenType file (or collection) begins with.
FONT_FILE_SIGNATURES = (b"\x00\x01\x00\x00", b"true", b"OTTO", b"ttcf")


def check_cert_font_path() -> None:
    """Raise FontConfigurationError now if CERT_FONT_PATH is set to anything but a readable
    font file (the font is loaded, and checked in full, by the first render)."""
    path = getattr(settings, "CERT_FONT_PATH", "")
    if not path:
        return
    try:
        with open(path, "rb") as handle:
            signature = handle.read(4)
    except OSError as exc:
        raise FontConfigurationError(
            f"CERT_FONT_PATH={path!r} 无法读取 / cannot be read: {exc.strerror or exc}"
        ) from exc
    if signature not in FONT_FILE_SIGNATURES:
        raise FontConfigurationError(
            f"CERT_FONT_PATH={path!r} 不是 TrueType/OpenType 字体文件 / is not a font file"
        )


def register_fonts() -> FontSet:
    """The process's FontSet: loaded and registered with reportlab on the first call only."""
    global _font_set
    if _font_set is None:
        with _font_set_lock:
            if _font_set is None:
                _font_set = load_font_set(getattr(settings, "CERT_FONT_PATH", ""))
    return _font_set


def load_font_set(
    cert_font_path: str = "",
    *,
    main_candidates: tuple[str, ...] = MAIN_FONT_CANDIDATES,
    fallback_paths: tuple[str, ...] = FALLBACK_FONT_PATHS,
) -> FontSet:
    """Choose, load and register the fonts. Use :func:`register_fonts`, which caches this.

    ``cert_font_path`` (CERT_FONT_PATH) wins and must be usable; otherwise the first usable
    of ``main_candidates``; only when none exists, reportlab's built-in STSong-Light.
    """
    main = None
    if cert_font_path:
        try:
            main = _load_ttf(cert_font_path)
        except (OSError, TTFError, ValueError) as exc:
            raise FontConfigurationError(
                f"CERT_FONT_PATH={cert_font_path!r} is not a readable TrueType font: {exc}"
            ) from exc
        if not _has_required_characters(main):
            raise FontConfigurationError(
                f"CERT_FONT_PATH={cert_font_path!r} lacks the Latin digits 0-9; "
                "choose a CJK font that has them (AR PL UMing, WenQuanYi Micro Hei)"
            )
    else:
        for path in main_candidates:
            if not os.path.exists(path):
                continue
            try:
                candidate = _load_ttf(path)
            except (OSError, TTFError, ValueError):
                logger.warning("Cannot read the font %s; trying the next one.", path, exc_info=True)
                continue
            if _has_required_characters(candidate):
                main = candidate
                break
            logger.warning("The font %s lacks the Latin digits 0-9; not used.", path)

    if main is None:
        logger.warning(
            "No TrueType CJK font found (install fonts-arphic-uming or set CERT_FONT_PATH): "
            "PDFs use reportlab's built-in %s, which is not embedded and draws no rare "
            "characters.",
            CID_FONT_NAME,
        )
        if CID_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT_NAME))
        # The CID font's UCS-2 encoding reaches the BMP only.
        return FontSet(CID_FONT_NAME, (), (range(0x20, 0x10000),), embedded=False)

    fallbacks = []
    for path in fallback_paths:
        if not os.path.exists(path):
            continue
        try:
            font = _load_ttf(path)
        except (OSError, TTFError, ValueError):
            logger.warning("Cannot read the fallback font %s.", path, exc_info=True)
            continue
        if font is not main:
            fallbacks.append(font)
    if not fallbacks:
        logger.warning(
            "No fallback font for rare characters (install fonts-hanazono): a name with a "
            "character the main font lacks cannot be rendered."
        )
    fonts = [main, *fallbacks]
    return FontSet(
        main=main.fontName,
        fallbacks=tuple(font.fontName for font in fallbacks),
        coverage=tuple(font.face.charToGlyph for font in fonts),
    )


def _load_ttf(path: str, subfont_index: int = 0) -> _CertTTFont:
    key = (os.path.realpath(path), subfont_index)
    font = _registered_fonts.get(key)
    if font is None:
        stem = os.path.splitext(os.path.basename(key[0]))[0]
        name = f"cert-{stem}-{subfont_index}"
        if any(f.fontName == name for f in _registered_fonts.values()):
            name = f"{name}-{len(_registered_fonts)}"
        font = _CertTTFont(name, key[0], subfont_index)
        pdfmetrics.registerFont(font)
        _registered_fonts[key] = font
    return font


def _has_required_characters(font: TTFont) -> bool:
    cmap = font.face.charToGlyph
    return all(ord(character) in cmap for character in REQUIRED_MAIN_CHARACTERS)


def missing_glyphs(text: str, font_set: FontSet) -> list[str]:
    """The distinct characters of ``text`` that no font of ``font_set`` has, in order."""
    missing = [character for character in printable(text) if font_set.font_for(character) is None]
    return list(dict.fromkeys(missing))


def text_width(text: str, size: float, font_set: FontSet) -> float:
    """Width in points of ``text`` set at ``size``; raises MissingGlyphError."""
    return sum(pdfmetrics.stringWidth(piece, font, size) for font, piece in font_set.runs(text))


def draw_text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    font_set: FontSet,
    *,
    align: Align = "left",
) -> float:
    """Draw ``text`` with its baseline at ``y``, each character in the first font that has it.

    ``x`` is the left edge, the centre or the right edge by ``align``. Returns the width.
    Raises MissingGlyphError before drawing anything when a character has no font.
    """
    runs = font_set.runs(text)
    widths = [pdfmetrics.stringWidth(piece, font, size) for font, piece in runs]
    width = sum(widths)
    if align == "center":
        x -= width / 2
    elif align == "right":
        x -= width
    elif align != "left":
        raise ValueError(f"align must be 'left', 'center' or 'right', not {align!r}")
    text_object = canvas.beginText(x, y)
    for font, piece in runs:
        text_object.setFont(font, size)
        text_object.textOut(piece)
    canvas.drawText(text_object)
    return width


def wrap_text(text: str, width: float, size: float, font_set: FontSet) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (between any two characters, as
    Chinese allows; a line never starts with a space). A single character wider than
    ``width`` gets a line of its own."""
    lines: list[str] = []
    line: list[str] = []
    line_width = 0.0
    for font, piece in font_set.runs(text):
        for character in piece:
            advance = pdfmetrics.stringWidth(character, font, size)
            if line and line_width + advance > width:
                lines.append("".join(line).rstrip())
                line, line_width = [], 0.0
            if not line and character.isspace():
                continue
            line.append(character)
            line_width += advance
    if line:
        lines.append("".join(line).rstrip())
    return lines


_DARK_RUN = re.compile("1+")
_BITS_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def draw_qr(canvas: Canvas, x: float, y: float, size: float, data: str) -> None:
    """A QR code of ``data`` (error correction M) filling the ``size`` square at (x, y),
    quiet zone of 4 modules included, drawn as one vector path filled once.

    The quiet zone is left unpainted: the page must be light there.
    """
    rows = qr_matrix(data)
    modules = len(rows) + 2 * QR_QUIET_ZONE_MODULES
    module = size / modules
    origin_x = x + QR_QUIET_ZONE_MODULES * module
    top = y + size - QR_QUIET_ZONE_MODULES * module
    path = canvas.beginPath()
    for row_index, row in enumerate(rows):
        row_y = top - (row_index + 1) * module
        for run in _DARK_RUN.finditer(row):
            start = run.start()
            path.rect(origin_x + start * module, row_y, (run.end() - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)


def qr_matrix(data: str) -> tuple[str, ...]:
    """The QR code of ``data`` (error correction M, no quiet zone) as rows of "1" (dark)
    and "0" (light): the very symbol ``segno.make_qr(data, error="m", boost_error=False)``
    makes, in about 40% of its time.

    segno spends two thirds of its time applying and scoring its eight data masks module by
    module. Here segno encodes once with mask 0; the unmasked symbol is recovered from it,
    the eight candidates are made by XOR of whole rows held as integers and scored by
    segno's own rules (ISO/IEC 18004 7.8.3, as in ``segno.encoder.mask_scores``) on strings,
    so the mask chosen is the one segno would choose.
    """
    code = segno.make_qr(data, error=QR_ERROR_CORRECTION, boost_error=False, mask=0)
    layout = _qr_layout(code.version)
    masked = [int(row.translate(_BITS_AS_DIGITS), 2) for row in code.matrix]
    # Format and version areas cleared, as they are when segno scores the masks.
    unmasked = [
        (row & keep) ^ pattern
        for row, keep, pattern in zip(masked, layout.keep, layout.mask_patterns[0], strict=True)
    ]
    best_score, best_mask, best_rows = None, 0, unmasked
    for mask, patterns in enumerate(layout.mask_patterns):
        rows = [row ^ pattern for row, pattern in zip(unmasked, patterns, strict=True)]
        score = _qr_penalty(rows, layout.size)
        if best_score is None or score < best_score:
            best_score, best_mask, best_rows = score, mask, rows
    format_rows = _qr_format_rows(code.version, best_mask)
    digits = f"0{layout.size}b"
    return tuple(
        format(row | format_row, digits)
        for row, format_row in zip(best_rows, format_rows, strict=True)
    )


@dataclass(frozen=True)
class _QrLayout:
    size: int
    # Per row, as integers whose most significant of ``size`` bits is column 0:
    keep: tuple[int, ...]  # every module but the format and version areas
    mask_patterns: tuple[tuple[int, ...], ...]  # each mask's pattern, within the data region


@functools.cache
def _qr_layout(version: int) -> _QrLayout:
    """The regions of a QR code version, from segno's own layout functions (the ones its
    mask evaluation uses; pinned by constraints.txt, and checked against segno's public
    output by the tests)."""
    size = version * 4 + 17
    function = segno_encoder.make_matrix(size, size)
    segno_encoder.add_finder_patterns(function, size, size)
    segno_encoder.add_alignment_patterns(function, size, size)
    function[-8][8] = 0x1  # the dark module
    reserved = segno_encoder.make_matrix(size, size)
    unreserved = segno_encoder.make_matrix(size, size, reserve_regions=False)
    mask_functions = segno_encoder.get_data_mask_functions(False)
    keep = []
    patterns = [[0] * size for _ in mask_functions]
    for i in range(size):
        keep_row = 0
        for j in range(size):
            bit = 1 << (size - 1 - j)
            # 0x2 marks a module no pattern has claimed: the data region.
            if function[i][j] == 0x2:
                for mask, applies in enumerate(mask_functions):
                    if applies(i, j):
                        patterns[mask][i] |= bit
            if not (reserved[i][j] == 0x0 and unreserved[i][j] == 0x2):
                keep_row |= bit
        keep.append(keep_row)
    return _QrLayout(size, tuple(keep), tuple(tuple(rows) for rows in patterns))


@functools.cache
def _qr_format_rows(version: int, mask: int) -> tuple[int, ...]:
    """The format and version information modules (and the dark module) for ``mask``."""
    layout = _qr_layout(version)
    sample = segno.make_qr(
        "0", version=version, error=QR_ERROR_CORRECTION, boost_error=False, mask=mask
    )
    full = (1 << layout.size) - 1
    return tuple(
        int(row.translate(_BITS_AS_DIGITS), 2) & ~keep & full
        for row, keep in zip(sample.matrix, layout.keep, strict=True)
    )


_QR_RUN = re.compile("0{5,}|1{5,}")
_QR_FINDER_LIKE = "1011101"


def _qr_penalty(rows: list[int], size: int) -> int:
    """segno's mask penalty (N1 runs, N2 blocks, N3 finder-like patterns, N4 balance)."""
    digits = f"0{size}b"
    lines = [format(row, digits) for row in rows]
    lines += map("".join, zip(*lines, strict=True))
    # One string for all rows and columns; "2" keeps runs and patterns within their line.
    joined = "2".join(lines)
    runs = _QR_RUN.findall(joined)
    score = sum(map(len, runs)) - 2 * len(runs)
    if _QR_FINDER_LIKE in joined:
        # Beyond the symbol's edge counts as light, as four light modules of padding.
        score += _qr_finder_like_penalty("2".join(f"0000{line}0000" for line in lines))
    edge = (1 << (size - 1)) - 1
    blocks = 0
    previous = rows[0]
    for row in rows[1:]:
        same = ~(previous ^ row)
        blocks += (~(row ^ (row >> 1)) & edge & same & (same >> 1)).bit_count()
        previous = row
    score += 3 * blocks
    dark = sum(row.bit_count() for row in rows)
    score += 10 * int(abs(dark / size**2 * 100 - 50) / 5)
    return score


def _qr_finder_like_penalty(padded: str) -> int:
    """40 per 1:1:3:1:1 pattern with four light modules on one side; like segno, the search
    goes on past a counted pattern's end, or else from its fifth module."""
    score = 0
    index = padded.find(_QR_FINDER_LIKE)
    while index != -1:
        after = index + 7
        if "1" not in padded[index - 4 : index] or "1" not in padded[after : after + 4]:
            score += 40
        else:
            after = index + 4
        index = padded.find(_QR_FINDER_LIKE, after)
    return score


def draw_photo(
    canvas: Canvas, x: float, y: float, width: float, height: float, image_bytes: bytes
) -> None:
    """Place a JPEG or PNG photo in the box, scaled to cover it and centre-cropped.

    The crop is a clipping path, so JPEG bytes go into the PDF as they are (DCTDecode),
    never decoded and re-encoded.
    """
    image = _PhotoReader(BytesIO(image_bytes))
    image_width, image_height = image.getSize()
    scale = max(width / image_width, height / image_height)
    drawn_width, drawn_height = image_width * scale, image_height * scale
    canvas.saveState()
    clip = canvas.beginPath()
    clip.rect(x, y, width, height)
    canvas.clipPath(clip, stroke=0, fill=0)
    canvas.drawImage(
        image,
        x + (width - drawn_width) / 2,
        y + (height - drawn_height) / 2,
        drawn_width,
        drawn_height,
        mask="auto",
    )
    canvas.restoreState()


class _PhotoReader(ImageReader):
    """An ImageReader that does not decode a JPEG.

    ``Canvas.drawImage`` names each image by a digest of its decoded pixels, but embeds a
    JPEG from its bytes; digesting the bytes instead names it as well and saves the decode.
    """

    def getRGBData(self):
        if self.jpeg_fh() is None:
            return super().getRGBData()
        self._dataA = None
        return self.fp.getvalue()


def new_canvas(
    buffer: IO[bytes], pagesize: tuple[float, float], *, font_set: FontSet | None = None
) -> Canvas:
    """A canvas writing compressed, deterministic PDF (same input, same bytes) to ``buffer``.

    Its initial font is the main font (``font_set``, else :func:`register_fonts`), so the
    file does not name reportlab's default Helvetica, which is never embedded.
    """
    font_set = font_set if font_set is not None else register_fonts()
    return Canvas(
        buffer,
        pagesize=pagesize,
        pageCompression=1,
        invariant=1,
        initialFontName=font_set.main,
    )
