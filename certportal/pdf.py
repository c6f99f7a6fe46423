"""PDF primitives shared by the admission ticket and the e-certificate: fonts, text, QR, photo.

Everything here draws onto a reportlab canvas and keeps no per-document state, so the
renderers built on it stay pure functions (STYLE rule 9). Fonts are loaded and registered
once per process by :func:`register_fonts`.
"""

from __future__ import annotations

import logging
import os
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
        """``text`` split into (font name, piece) runs; raises MissingGlyphError."""
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
    missing = [character for character in text if font_set.font_for(character) is None]
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


def draw_qr(canvas: Canvas, x: float, y: float, size: float, data: str) -> None:
    """A QR code of ``data`` (error correction M) filling the ``size`` square at (x, y),
    quiet zone of 4 modules included, drawn as one vector path filled once.

    The quiet zone is left unpainted: the page must be light there.
    """
    qr = segno.make_qr(data, error=QR_ERROR_CORRECTION, boost_error=False)
    matrix = qr.matrix
    modules = len(matrix) + 2 * QR_QUIET_ZONE_MODULES
    module = size / modules
    origin_x = x + QR_QUIET_ZONE_MODULES * module
    top = y + size - QR_QUIET_ZONE_MODULES * module
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        row_y = top - (row_index + 1) * module
        column = 0
        columns = len(row)
        while column < columns:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < columns and row[column]:
                column += 1
            path.rect(origin_x + start * module, row_y, (column - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)


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
