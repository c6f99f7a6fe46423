"""The e-certificate (电子证照) PDF: a pure function of :class:`CertificateData`.

The layout follows the national sample (鲁建培注字〔2022〕2号, 附件1) on one A4 page. The
certificate is an official document printed in Chinese whatever the reader's language, so its
text is not passed through gettext (that would also make the output depend on the active
language, and the renderer would no longer be pure). Every glyph, the seal's included, goes
through :func:`certportal.pdf.draw_text`: a rare character falls back to HanaMin and a
character no font has raises MissingGlyphError instead of vanishing.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from certportal.pdf import (
    FontSet,
    draw_photo,
    draw_qr,
    draw_text,
    new_canvas,
    register_fonts,
    text_width,
    wrap_text,
)

SEXES = ("男", "女")
TEXT_FILL_AND_STROKE = 2  # PDF text render mode

PAGE_SIZE = A4
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE

SEAL_RED = (0.86, 0.08, 0.1)
BORDER_COLOUR = (0.62, 0.45, 0.16)  # the dark gold of printed certificate frames

# A thin double frame: a heavier outer line and a hairline inside it.
BORDER_OUTER_INSET = 10 * mm
BORDER_OUTER_WIDTH = 1.8
BORDER_INNER_INSET = 12 * mm
BORDER_INNER_WIDTH = 0.6
# Square notches at the inner frame's corners, the usual ornament of a certificate frame.
BORDER_CORNER = 6 * mm

TITLE = "建筑施工特种作业操作资格证书"
TITLE_SIZE = 26
TITLE_OUTLINE = 0.6  # a heavier title than the light Song face gives
TITLE_BASELINE = PAGE_HEIGHT - 50 * mm
TITLE_RULE_Y = TITLE_BASELINE - 9 * mm
TITLE_RULE_HALF_WIDTH = 62 * mm

# Field lines: labels spread over the width of the longest one (初次领证日期), then a colon.
FIELD_LEFT = 30 * mm
FIELD_RIGHT = PAGE_WIDTH - 30 * mm
LABEL_SIZE = 15
LABEL_WIDTH = 6 * LABEL_SIZE
COLON = "："
VALUE_LEFT = FIELD_LEFT + LABEL_WIDTH + LABEL_SIZE
# A value shrinks through these sizes until it fits its line; failing that, it wraps onto
# VALUE_MAX_LINES lines at VALUE_WRAP_SIZE, below its baseline.
VALUE_SIZES = (15, 14, 13, 12, 11)
VALUE_WRAP_SIZE = 11
VALUE_MAX_LINES = 2
LEADING = 1.2  # line spacing, as a multiple of the font size
FIELD_TOP_BASELINE = PAGE_HEIGHT - 82 * mm
FIELD_PITCH = 16 * mm
CAP_HEIGHT = 0.88  # from the baseline to the top of a CJK glyph, as a multiple of the size
BASELINE_DROP = 0.36  # from a line's middle to its baseline, as a multiple of the size

PHOTO_WIDTH, PHOTO_HEIGHT = 25 * mm, 35 * mm
PHOTO_X = FIELD_RIGHT - PHOTO_WIDTH
PHOTO_Y = FIELD_TOP_BASELINE + LABEL_SIZE * CAP_HEIGHT - PHOTO_HEIGHT
PHOTO_GAP = 6 * mm  # between a value beside the photo and the photo
PHOTO_PLACEHOLDER = "照片"
PHOTO_PLACEHOLDER_GREY = 0.88
PHOTO_FRAME_WIDTH = 0.5

QR_SIZE = 25 * mm
QR_X = FIELD_LEFT
QR_Y = 80 * mm
QR_CAPTION = "查询二维码"
QR_CAPTION_SIZE = 10
QR_CAPTION_BASELINE = QR_Y - 5 * mm

ISSUER_LEFT = 88 * mm
ISSUER_SIZE = 15
ISSUER_LABELS = ("发证机关", "发证日期")
ISSUER_BASELINES = (104 * mm, 89 * mm)
ISSUER_VALUE_LEFT = ISSUER_LEFT + (len(ISSUER_LABELS[0]) + 1) * ISSUER_SIZE

# The authority's seal, stamped over the issuer lines as a real one is.
SEAL_RADIUS = 25 * mm
SEAL_CENTRE = (PAGE_WIDTH - 58 * mm, 93 * mm)
SEAL_RING_WIDTH = 1.1 * mm
SEAL_INNER_RING_RADIUS = SEAL_RADIUS - 2.3 * mm
SEAL_INNER_RING_WIDTH = 0.3 * mm
SEAL_STAR_RADIUS = 7.5 * mm
SEAL_STAR_INNER_RATIO = 0.382  # the inner vertices of a regular five-pointed star
SEAL_STAR_LIFT = 1 * mm
SEAL_NAME_SIZE = 20
SEAL_NAME_SCALE_X = 0.78  # seal characters are cut tall and narrow
SEAL_NAME_OUTER_RADIUS = SEAL_INNER_RING_RADIUS - 1.4 * mm  # tops of the name's glyphs
SEAL_NAME_ANGLE_PER_CHARACTER = 21.0  # degrees, for short names
SEAL_NAME_MAX_SPAN = 220.0  # degrees of the upper arc a long name may take
SEAL_NAME_MIN_SIZE = 12
SEAL_NAME_FILL = 0.95  # the share of its arc a character's glyph takes, for long names
SEAL_MOTTO = "特种作业证书专用章"
SEAL_MOTTO_SIZE = 10.5
SEAL_MOTTO_SCALE_X = 0.85
SEAL_MOTTO_BASELINE = -14.5 * mm  # from the seal's centre
SEAL_ALPHA = 0.88
SEAL_BLEND_MODE = "Multiply"  # ink under the seal stays black, as under a real stamp
# The seal's glyphs are filled and outlined: cut seals are bolder than the document's light
# Song face.
SEAL_GLYPH_OUTLINE = 0.45

SUPERVISOR = "中华人民共和国住房和城乡建设部  监制"
SUPERVISOR_SIZE = 13
SUPERVISOR_BASELINE = 32 * mm
IDENTIFIER_LABEL = "电子证照标识："
IDENTIFIER_SIZE = 7
IDENTIFIER_BASELINE = 20 * mm

# A non-valid certificate carries its status across the page, so a printout cannot pass.
STATUS_SIZE = 110
STATUS_MIN_SIZE = 40
STATUS_MAX_WIDTH = 150 * mm
STATUS_ANGLE = 32
STATUS_ALPHA = 0.4
STATUS_CENTRE = (PAGE_WIDTH / 2, PAGE_HEIGHT / 2 + 10 * mm)
STATUS_FRAME_PADDING = 0.18  # around the word, as a multiple of its size
STATUS_FRAME_WIDTH = 5
STATUS_FRAME_GAP = 5  # between the stamp's two frame lines
STATUS_GLYPH_OUTLINE = 4
# The status also as a plain line under the title, which text extraction reads in one piece.
STATUS_LINE_LABEL = "证书状态："
STATUS_LINE_SIZE = 13
STATUS_LINE_BASELINE = TITLE_RULE_Y - 9 * mm

PREVIEW_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on an e-certificate, already formatted for print."""

    number: str
    name: str
    sex: str
    trade_name: str
    first_issued_on: date
    valid_from: date
    valid_until: date
    authority_name: str
    issued_on: date
    ecert_identifier: str
    verify_url: str
    photo: bytes | None
    status_label: str = ""

    def __post_init__(self) -> None:
        if self.sex not in SEXES:
            raise ValueError(f"sex must be 男 or 女, not {self.sex!r}")
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")


def format_date(day: date) -> str:
    """ "2026年12月1日", as certificates print dates."""
    return f"{day.year}年{day.month}月{day.day}日"


def render_certificate_pdf(data: CertificateData) -> bytes:
    """The e-certificate as PDF bytes; the same data gives the same bytes.

    Raises certportal.pdf.MissingGlyphError when a character has no font, and ValueError
    when a value cannot fit its place even shrunk and wrapped onto two lines.
    """
    fonts = register_fonts()
    buffer = BytesIO()
    canvas = new_canvas(buffer, PAGE_SIZE, font_set=fonts)
    canvas.setTitle(f"{TITLE} {data.number}")

    _draw_border(canvas)
    _draw_title(canvas, fonts)
    _draw_fields(canvas, data, fonts)
    _draw_photo(canvas, data.photo, fonts)
    draw_qr(canvas, QR_X, QR_Y, QR_SIZE, data.verify_url)
    draw_text(
        canvas,
        QR_X + QR_SIZE / 2,
        QR_CAPTION_BASELINE,
        QR_CAPTION,
        QR_CAPTION_SIZE,
        fonts,
        align="center",
    )
    _draw_issuer(canvas, data, fonts)
    draw_text(
        canvas,
        PAGE_WIDTH / 2,
        SUPERVISOR_BASELINE,
        SUPERVISOR,
        SUPERVISOR_SIZE,
        fonts,
        align="center",
    )
    draw_text(
        canvas,
        PAGE_WIDTH / 2,
        IDENTIFIER_BASELINE,
        IDENTIFIER_LABEL + data.ecert_identifier,
        IDENTIFIER_SIZE,
        fonts,
        align="center",
    )
    _draw_seal(canvas, data.authority_name, fonts)
    if data.status_label:
        _draw_status(canvas, data.status_label, fonts)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_border(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeColorRGB(*BORDER_COLOUR)
    outer = BORDER_OUTER_INSET
    canvas.setLineWidth(BORDER_OUTER_WIDTH)
    canvas.rect(outer, outer, PAGE_WIDTH - 2 * outer, PAGE_HEIGHT - 2 * outer, stroke=1, fill=0)

    # The inner hairline steps in around a square at each corner.
    inner, corner = BORDER_INNER_INSET, BORDER_CORNER
    left, bottom = inner, inner
    right, top = PAGE_WIDTH - inner, PAGE_HEIGHT - inner
    path = canvas.beginPath()
    path.moveTo(left + corner, bottom)
    for x, y in (
        (right - corner, bottom),
        (right - corner, bottom + corner),
        (right, bottom + corner),
        (right, top - corner),
        (right - corner, top - corner),
        (right - corner, top),
        (left + corner, top),
        (left + corner, top - corner),
        (left, top - corner),
        (left, bottom + corner),
        (left + corner, bottom + corner),
    ):
        path.lineTo(x, y)
    path.close()
    for x, y in ((left, bottom), (right - corner, bottom), (left, top - corner)):
        path.rect(x, y, corner, corner)
    path.rect(right - corner, top - corner, corner, corner)
    canvas.setLineWidth(BORDER_INNER_WIDTH)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()


def _draw_title(canvas: Canvas, fonts: FontSet) -> None:
    """The title, emboldened, over a double rule."""
    canvas.saveState()
    _embolden_text(canvas, TITLE_OUTLINE)
    draw_text(canvas, PAGE_WIDTH / 2, TITLE_BASELINE, TITLE, TITLE_SIZE, fonts, align="center")
    canvas.restoreState()
    canvas.saveState()
    canvas.setStrokeColorRGB(*BORDER_COLOUR)
    canvas.setLineWidth(BORDER_INNER_WIDTH)
    centre = PAGE_WIDTH / 2
    path = canvas.beginPath()
    for offset in (0, 1.2 * mm):
        path.moveTo(centre - TITLE_RULE_HALF_WIDTH, TITLE_RULE_Y - offset)
        path.lineTo(centre + TITLE_RULE_HALF_WIDTH, TITLE_RULE_Y - offset)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()


def _fields(data: CertificateData) -> tuple[tuple[str, str], ...]:
    return (
        ("编号", data.number),
        ("姓名", data.name),
        ("性别", data.sex),
        ("操作类别", data.trade_name),
        ("初次领证日期", format_date(data.first_issued_on)),
        ("有效期", f"{format_date(data.valid_from)} 至 {format_date(data.valid_until)}"),
    )


def _draw_fields(canvas: Canvas, data: CertificateData, fonts: FontSet) -> None:
    baseline = FIELD_TOP_BASELINE
    for label, value in _fields(data):
        _draw_label(canvas, FIELD_LEFT, baseline, label, LABEL_WIDTH, LABEL_SIZE, fonts)
        beside_photo = baseline + LABEL_SIZE * CAP_HEIGHT > PHOTO_Y
        right = PHOTO_X - PHOTO_GAP if beside_photo else FIELD_RIGHT
        _draw_value(canvas, VALUE_LEFT, baseline, value, right - VALUE_LEFT, fonts, label)
        baseline -= FIELD_PITCH


def _draw_label(
    canvas: Canvas,
    x: float,
    baseline: float,
    label: str,
    width: float,
    size: float,
    fonts: FontSet,
) -> None:
    """``label`` spread evenly over ``width`` (姓　　名), then the colon."""
    if len(label) == 1:
        draw_text(canvas, x, baseline, label, size, fonts)
    else:
        step = (width - size) / (len(label) - 1)
        for index, character in enumerate(label):
            draw_text(canvas, x + index * step, baseline, character, size, fonts)
    draw_text(canvas, x + width, baseline, COLON, size, fonts)


def _draw_value(
    canvas: Canvas,
    x: float,
    baseline: float,
    value: str,
    width: float,
    fonts: FontSet,
    label: str,
) -> None:
    """``value`` on one line at the largest size that fits ``width``, else wrapped.

    Raises ValueError when it fits neither way.
    """
    for size in VALUE_SIZES:
        if text_width(value, size, fonts) <= width:
            draw_text(canvas, x, baseline, value, size, fonts)
            return
    lines = wrap_text(value, width, VALUE_WRAP_SIZE, fonts)
    if len(lines) > VALUE_MAX_LINES:
        raise ValueError(f"{label} is too long for the certificate")
    for index, line in enumerate(lines):
        line_baseline = baseline - index * VALUE_WRAP_SIZE * LEADING
        draw_text(canvas, x, line_baseline, line, VALUE_WRAP_SIZE, fonts)


def _draw_photo(canvas: Canvas, photo: bytes | None, fonts: FontSet) -> None:
    if photo:
        draw_photo(canvas, PHOTO_X, PHOTO_Y, PHOTO_WIDTH, PHOTO_HEIGHT, photo)
        return
    canvas.saveState()
    canvas.setFillGray(PHOTO_PLACEHOLDER_GREY)
    canvas.setLineWidth(PHOTO_FRAME_WIDTH)
    canvas.rect(PHOTO_X, PHOTO_Y, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=1)
    canvas.restoreState()
    draw_text(
        canvas,
        PHOTO_X + PHOTO_WIDTH / 2,
        PHOTO_Y + PHOTO_HEIGHT / 2 - LABEL_SIZE * BASELINE_DROP,
        PHOTO_PLACEHOLDER,
        LABEL_SIZE,
        fonts,
        align="center",
    )


def _draw_issuer(canvas: Canvas, data: CertificateData, fonts: FontSet) -> None:
    label_width = len(ISSUER_LABELS[0]) * ISSUER_SIZE
    values = (data.authority_name, format_date(data.issued_on))
    for label, value, baseline in zip(ISSUER_LABELS, values, ISSUER_BASELINES, strict=True):
        _draw_label(canvas, ISSUER_LEFT, baseline, label, label_width, ISSUER_SIZE, fonts)
        _draw_value(
            canvas,
            ISSUER_VALUE_LEFT,
            baseline,
            value,
            FIELD_RIGHT - ISSUER_VALUE_LEFT,
            fonts,
            label,
        )


def _draw_seal(canvas: Canvas, authority_name: str, fonts: FontSet) -> None:
    """The authority's round seal: double ring, star, its name round the upper arc and the
    seal's purpose straight beneath the star, all vector art in translucent red."""
    centre_x, centre_y = SEAL_CENTRE
    canvas.saveState()
    canvas.translate(centre_x, centre_y)
    canvas.setBlendMode(SEAL_BLEND_MODE)
    canvas.setFillAlpha(SEAL_ALPHA)
    canvas.setStrokeAlpha(SEAL_ALPHA)
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)

    canvas.setLineWidth(SEAL_RING_WIDTH)
    canvas.circle(0, 0, SEAL_RADIUS - SEAL_RING_WIDTH / 2, stroke=1, fill=0)
    canvas.setLineWidth(SEAL_INNER_RING_WIDTH)
    canvas.circle(0, 0, SEAL_INNER_RING_RADIUS, stroke=1, fill=0)

    star = canvas.beginPath()
    for point in range(10):
        radius = SEAL_STAR_RADIUS if point % 2 == 0 else SEAL_STAR_RADIUS * SEAL_STAR_INNER_RATIO
        angle = math.radians(90 + 36 * point)
        x, y = radius * math.cos(angle), SEAL_STAR_LIFT + radius * math.sin(angle)
        if point == 0:
            star.moveTo(x, y)
        else:
            star.lineTo(x, y)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)

    _embolden_text(canvas, SEAL_GLYPH_OUTLINE)
    _draw_seal_name(canvas, authority_name, fonts)

    canvas.saveState()
    canvas.scale(SEAL_MOTTO_SCALE_X, 1)
    draw_text(canvas, 0, SEAL_MOTTO_BASELINE, SEAL_MOTTO, SEAL_MOTTO_SIZE, fonts, align="center")
    canvas.restoreState()
    canvas.restoreState()


def _draw_seal_name(canvas: Canvas, name: str, fonts: FontSet) -> None:
    """The name set clockwise along the upper arc, each glyph upright to the rim."""
    count = len(name)
    if count == 0:
        return
    span = min(SEAL_NAME_MAX_SPAN, SEAL_NAME_ANGLE_PER_CHARACTER * (count - 1))
    # A long name's characters shrink with the arc length each one gets.
    arc_per_character = math.radians(span / max(count - 1, 1)) * SEAL_NAME_OUTER_RADIUS
    size = SEAL_NAME_SIZE
    if count > 1:
        fitting = arc_per_character * SEAL_NAME_FILL / SEAL_NAME_SCALE_X
        size = max(SEAL_NAME_MIN_SIZE, min(size, fitting))
    baseline_radius = SEAL_NAME_OUTER_RADIUS - size * CAP_HEIGHT
    step = span / (count - 1) if count > 1 else 0.0
    for index, character in enumerate(name):
        angle = 90 + span / 2 - index * step
        radians = math.radians(angle)
        canvas.saveState()
        canvas.translate(baseline_radius * math.cos(radians), baseline_radius * math.sin(radians))
        canvas.rotate(angle - 90)
        canvas.scale(SEAL_NAME_SCALE_X, 1)
        draw_text(canvas, 0, 0, character, size, fonts, align="center")
        canvas.restoreState()


def _draw_status(canvas: Canvas, label: str, fonts: FontSet) -> None:
    """The status word in red: in a double frame, large and diagonal across the page, and
    as a line under the title."""
    canvas.saveState()
    canvas.setFillColorRGB(*SEAL_RED)
    draw_text(
        canvas,
        PAGE_WIDTH / 2,
        STATUS_LINE_BASELINE,
        STATUS_LINE_LABEL + label,
        STATUS_LINE_SIZE,
        fonts,
        align="center",
    )
    canvas.restoreState()

    size = STATUS_SIZE
    width = text_width(label, size, fonts)
    if width > STATUS_MAX_WIDTH:
        size = max(STATUS_MIN_SIZE, size * STATUS_MAX_WIDTH / width)
        width = text_width(label, size, fonts)
    padding = size * STATUS_FRAME_PADDING
    frame_width, frame_height = width + 2 * padding, size + 2 * padding

    canvas.saveState()
    canvas.translate(*STATUS_CENTRE)
    canvas.rotate(STATUS_ANGLE)
    canvas.setFillAlpha(STATUS_ALPHA)
    canvas.setStrokeAlpha(STATUS_ALPHA)
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)
    canvas.setLineWidth(STATUS_FRAME_WIDTH)
    canvas.roundRect(
        -frame_width / 2, -frame_height / 2, frame_width, frame_height, padding / 2, stroke=1
    )
    gap = STATUS_FRAME_WIDTH + STATUS_FRAME_GAP
    canvas.setLineWidth(STATUS_FRAME_WIDTH / 3)
    canvas.roundRect(
        -frame_width / 2 - gap,
        -frame_height / 2 - gap,
        frame_width + 2 * gap,
        frame_height + 2 * gap,
        padding / 2 + gap,
        stroke=1,
    )
    _embolden_text(canvas, STATUS_GLYPH_OUTLINE)
    draw_text(canvas, 0, -size * BASELINE_DROP, label, size, fonts, align="center")
    canvas.restoreState()


def _embolden_text(canvas: Canvas, outline: float) -> None:
    """Glyphs drawn from here to the next restoreState are filled and also stroked with
    ``outline`` in the stroke colour: a bolder weight of the same embedded font.

    The text render mode belongs to the graphics state, so one empty text object sets it
    for every text object draw_text makes after it.
    """
    canvas.setLineWidth(outline)
    canvas.setLineJoin(1)  # round, so stroked glyph corners do not spike
    text = canvas.beginText()
    text.setTextRenderMode(TEXT_FILL_AND_STROKE)
    canvas.drawText(text)


def render_preview_png(pdf_bytes: bytes, *, dpi: int = 60) -> bytes:
    """Page 1 of ``pdf_bytes`` as a PNG at ``dpi``, rasterised by poppler's pdftoppm.

    Raises RuntimeError when pdftoppm is not installed (poppler-utils) or fails.
    """
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm is not installed: install poppler-utils to render previews")
    # The command is fixed and the PDF goes through stdin, never the command line.
    try:
        result = subprocess.run(  # noqa: S603
            [pdftoppm, "-png", "-r", str(int(dpi)), "-f", "1", "-l", "1", "-singlefile", "-"],
            input=pdf_bytes,
            capture_output=True,
            timeout=PREVIEW_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"pdftoppm took longer than {PREVIEW_TIMEOUT_SECONDS} s") from exc
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"pdftoppm failed (exit {result.returncode}): {message}")
    return result.stdout
