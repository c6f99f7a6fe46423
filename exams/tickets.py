"""The admission ticket (准考证) PDF: a pure function of :class:`TicketData`.

The ticket is an official form printed in Chinese whatever the reader's language, so its
text is not passed through gettext (that would also make the output depend on the active
language, and the renderer would no longer be pure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

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
    wrap_text,
)

TIME_ZONE = ZoneInfo("Asia/Shanghai")
SEXES = ("男", "女")

PAGE_SIZE = A4
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN = 20 * mm

TITLE = "建筑施工特种作业人员考核准考证"
TITLE_SIZE = 18
TITLE_BASELINE = PAGE_HEIGHT - 30 * mm
AUTHORITY_SIZE = 11
AUTHORITY_BASELINE = PAGE_HEIGHT - 38 * mm

TABLE_LEFT = MARGIN
TABLE_RIGHT = PAGE_WIDTH - MARGIN
TABLE_TOP = PAGE_HEIGHT - 45 * mm
LABEL_WIDTH = 30 * mm
ROW_HEIGHT = 11 * mm
VENUE_ROW_HEIGHT = 20 * mm
CELL_PADDING = 2.5 * mm
LINE_WIDTH = 0.75
LABEL_SIZE = 10.5
# Values shrink through these sizes until they fit their cell; at 7 points the longest values
# the models allow fit (a 200-character venue, a 100-character institution name).
VALUE_SIZES = (11, 10, 9, 8, 7)
LEADING = 1.25  # line spacing, as a multiple of the font size
BASELINE_DROP = 0.36  # from a line's middle to its baseline, as a multiple of the size

# The photo sits in a column to the right of the first PHOTO_ROWS rows.
PHOTO_ROWS = 4
PHOTO_COLUMN_WIDTH = 35 * mm
PHOTO_WIDTH, PHOTO_HEIGHT = 25 * mm, 35 * mm
PHOTO_PLACEHOLDER = "照片"

QR_SIZE = 25 * mm
QR_CAPTION = "准考证号二维码"
QR_CAPTION_SIZE = 8
SECTION_GAP = 8 * mm

NOTICE_TITLE = "考生须知"
NOTICE_TITLE_SIZE = 12
NOTICE_SIZE = 10
NOTICES = (
    "一、考生须携带本人有效居民身份证和本准考证参加考核，二者缺一不得入场。",
    "二、考生须在考核开始前30分钟到达考核地点，凭证入场。",
    "三、严禁携带手机等通讯工具进入考场。",
    "四、理论考核合格者方可参加实操考核。",
)
NOTICE_WIDTH = TABLE_RIGHT - TABLE_LEFT - QR_SIZE - SECTION_GAP


class ValueTooLong(ValueError):
    """A value does not fit its cell of the ticket (a venue or a name far past the usual)."""

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"{label} is too long for the admission ticket")

    def explain(self) -> str:
        """What staff read on the admin page (the message above is for the logs)."""
        from django.utils.translation import gettext as _

        return _("“%(label)s”内容过长，准考证上排不下。请修改后用“重新生成准考证”再次生成。") % {
            "label": self.label
        }


@dataclass(frozen=True)
class TicketData:
    """Everything printed on a ticket, already masked and formatted for print."""

    ticket_number: str
    name: str
    masked_id_number: str
    sex: str
    trade_name: str
    assessment_institution: str
    authority_name: str
    theory_at: datetime
    practical_at: datetime
    venue: str
    photo: bytes | None
    verify_text: str

    def __post_init__(self) -> None:
        if self.sex not in SEXES:
            raise ValueError(f"sex must be 男 or 女, not {self.sex!r}")
        for label, moment in (("theory_at", self.theory_at), ("practical_at", self.practical_at)):
            if moment.tzinfo is None:
                raise ValueError(f"{label} must be timezone-aware")


def format_exam_time(moment: datetime) -> str:
    """ "2026年12月5日 09:00", in Beijing time."""
    local = moment.astimezone(TIME_ZONE)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def render_admission_ticket(data: TicketData) -> bytes:
    """The ticket as PDF bytes; the same data gives the same bytes.

    Raises certportal.pdf.MissingGlyphError when a character has no font, and ValueError
    when a value cannot fit its cell even at the smallest size.
    """
    fonts = register_fonts()
    buffer = BytesIO()
    canvas = new_canvas(buffer, PAGE_SIZE, font_set=fonts)
    canvas.setTitle(f"{TITLE} {data.ticket_number}")

    draw_text(canvas, PAGE_WIDTH / 2, TITLE_BASELINE, TITLE, TITLE_SIZE, fonts, align="center")
    draw_text(
        canvas,
        PAGE_WIDTH / 2,
        AUTHORITY_BASELINE,
        data.authority_name,
        AUTHORITY_SIZE,
        fonts,
        align="center",
    )
    table_bottom = _draw_table(canvas, data, fonts)
    _draw_notices(canvas, table_bottom - SECTION_GAP, fonts)
    qr_y = table_bottom - SECTION_GAP - QR_SIZE
    draw_qr(canvas, TABLE_RIGHT - QR_SIZE, qr_y, QR_SIZE, data.verify_text)
    draw_text(
        canvas,
        TABLE_RIGHT - QR_SIZE / 2,
        qr_y - QR_CAPTION_SIZE,
        QR_CAPTION,
        QR_CAPTION_SIZE,
        fonts,
        align="center",
    )

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _rows(data: TicketData) -> list[tuple[str, str, float]]:
    return [
        ("准考证号", data.ticket_number, ROW_HEIGHT),
        ("姓名", data.name, ROW_HEIGHT),
        ("性别", data.sex, ROW_HEIGHT),
        ("身份证号", data.masked_id_number, ROW_HEIGHT),
        ("考核工种", data.trade_name, ROW_HEIGHT),
        ("考核机构", data.assessment_institution, ROW_HEIGHT),
        ("理论考核时间", format_exam_time(data.theory_at), ROW_HEIGHT),
        ("实操考核时间", format_exam_time(data.practical_at), ROW_HEIGHT),
        ("考核地点", data.venue, VENUE_ROW_HEIGHT),
    ]


def _draw_table(canvas: Canvas, data: TicketData, fonts: FontSet) -> float:
    """Draw the field table with the photo column; returns the table's bottom edge."""
    rows = _rows(data)
    label_right = TABLE_LEFT + LABEL_WIDTH
    photo_left = TABLE_RIGHT - PHOTO_COLUMN_WIDTH
    grid = canvas.beginPath()
    top = TABLE_TOP
    for index, (label, value, height) in enumerate(rows):
        bottom = top - height
        value_right = photo_left if index < PHOTO_ROWS else TABLE_RIGHT
        _draw_cell(canvas, TABLE_LEFT, bottom, LABEL_WIDTH, height, label, fonts, (LABEL_SIZE,))
        if not _draw_cell(
            canvas, label_right, bottom, value_right - label_right, height, value, fonts
        ):
            raise ValueTooLong(label)
        grid.moveTo(TABLE_LEFT, bottom)
        grid.lineTo(value_right, bottom)
        top = bottom
    table_bottom = top
    photo_bottom = TABLE_TOP - ROW_HEIGHT * PHOTO_ROWS
    grid.rect(TABLE_LEFT, table_bottom, TABLE_RIGHT - TABLE_LEFT, TABLE_TOP - table_bottom)
    grid.moveTo(label_right, TABLE_TOP)
    grid.lineTo(label_right, table_bottom)
    grid.moveTo(photo_left, TABLE_TOP)
    grid.lineTo(photo_left, photo_bottom)
    grid.moveTo(photo_left, photo_bottom)
    grid.lineTo(TABLE_RIGHT, photo_bottom)
    canvas.setLineWidth(LINE_WIDTH)
    canvas.drawPath(grid, stroke=1, fill=0)

    photo_x = photo_left + (PHOTO_COLUMN_WIDTH - PHOTO_WIDTH) / 2
    photo_y = photo_bottom + (TABLE_TOP - photo_bottom - PHOTO_HEIGHT) / 2
    if data.photo:
        draw_photo(canvas, photo_x, photo_y, PHOTO_WIDTH, PHOTO_HEIGHT, data.photo)
    else:
        canvas.rect(photo_x, photo_y, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=0)
        draw_text(
            canvas,
            photo_x + PHOTO_WIDTH / 2,
            photo_y + PHOTO_HEIGHT / 2 - LABEL_SIZE * BASELINE_DROP,
            PHOTO_PLACEHOLDER,
            LABEL_SIZE,
            fonts,
            align="center",
        )
    return table_bottom


def _draw_cell(
    canvas: Canvas,
    x: float,
    y: float,
    width: float,
    height: float,
    text: str,
    fonts: FontSet,
    sizes: tuple[float, ...] = VALUE_SIZES,
) -> bool:
    """Draw ``text`` left-aligned and vertically centred in the cell, at the first size in
    ``sizes`` at which its wrapped lines fit; False (nothing drawn) when none fits."""
    inner_width = width - 2 * CELL_PADDING
    for size in sizes:
        lines = wrap_text(text, inner_width, size, fonts)
        if len(lines) * size * LEADING <= height - CELL_PADDING:
            break
    else:
        return False
    leading = size * LEADING
    first_middle = y + height / 2 + (len(lines) - 1) * leading / 2
    for index, line in enumerate(lines):
        baseline = first_middle - index * leading - size * BASELINE_DROP
        draw_text(canvas, x + CELL_PADDING, baseline, line, size, fonts)
    return True


def _draw_notices(canvas: Canvas, top: float, fonts: FontSet) -> None:
    baseline = top - NOTICE_TITLE_SIZE
    draw_text(canvas, TABLE_LEFT, baseline, NOTICE_TITLE, NOTICE_TITLE_SIZE, fonts)
    baseline -= NOTICE_TITLE_SIZE * LEADING
    for notice in NOTICES:
        for line in wrap_text(notice, NOTICE_WIDTH, NOTICE_SIZE, fonts):
            baseline -= NOTICE_SIZE * LEADING
            draw_text(canvas, TABLE_LEFT, baseline, line, NOTICE_SIZE, fonts)
