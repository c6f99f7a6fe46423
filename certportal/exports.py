"""Every spreadsheet the portal writes (CSV reports, XLSX exports), made safe in one place.

Cells carry what people typed — names, addresses, work units, reasons, the headers of an
uploaded file — and a spreadsheet is a program: a cell starting with ``=`` runs. Before any
value reaches a file:

- control characters are removed. XML 1.0, and so XLSX, cannot hold them (openpyxl refuses
  them with ``IllegalCharacterError``); in a CSV they only hide text. Tabs and line breaks are
  kept inside a cell;
- a text cell starting with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return gets a leading
  single quote, the OWASP rule against formula (CSV) injection, and stays a text cell;
- anything shaped like an ID number (18 characters with a correct check character) is masked
  ``3505**********123X``, even in a free-text cell where someone typed one: exports are mailed
  and left on desktops, and never carry an ID number in clear.

Numbers, dates and times are written as real numbers and dates (not text), so staff can sort
and sum them. ``xlsx_export_action`` turns a list of columns into an admin action that exports
the rows the staff member selected — the admin's queryset, so its scoping applies.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .audit import audit_record
from .pii import mask_id_numbers

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 forbids (openpyxl's ILLEGAL_CHARACTERS_RE), DEL and the C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# One request builds the whole file, and gunicorn gives a request 30 seconds
# (gunicorn.conf.py's timeout): beyond this, staff narrow the list first. Measured on the
# 2-core development machine, PostgreSQL, certificates (15 columns, the ID number masked):
# about 0.85 ms a row, 20,000 rows in 17 s; at 100,000 (the former limit) the request was cut
# off at 30 s and staff saw a 502 instead of this message.
MAX_EXPORT_ROWS = 20_000
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DEFAULT_WIDTH = 14
SHEET_TITLE_MAX = 31  # Excel's limit


def neutralise_formula(text: str) -> str:
    """``=1+1`` → ``'=1+1``: a spreadsheet shows the text instead of running it."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_text(text: str) -> str:
    """A text cell as it may be written: no control characters, line breaks as ``\n`` (what
    Excel writes; XML turns a lone carriage return into one anyway), no ID number in clear, no
    formula."""
    text = CONTROL_CHARACTERS.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return neutralise_formula(mask_id_numbers(text))


def cell_value(value: Any) -> Any:
    """What a cell holds: numbers and dates as themselves (times in local time, without a zone,
    which Excel has not), booleans as 是/否, nothing as an empty cell, anything else as safe
    text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date | time):
        return value
    return safe_text(str(value))


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, how to get the value from a row, its width."""

    header: str
    value: Callable[[Any], Any]
    width: int = DEFAULT_WIDTH


def rows_of(columns: Sequence[Column], objects: Iterable[Any]) -> Iterable[list[Any]]:
    for obj in objects:
        yield [column.value(obj) for column in columns]


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV download: UTF-8 with BOM (Excel reads it), every cell quoted and made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for row in itertools.chain([header], rows):
        writer.writerow([_csv_text(cell_value(value)) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
    widths: Sequence[int] = (),
) -> bytes:
    """An Excel workbook of one sheet: a bold, frozen header row, then one row per record."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    for position, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, value, font=bold) for value in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(
    *, filename: str, title: str, columns: Sequence[Column], objects: Iterable[Any]
) -> HttpResponse:
    data = write_xlsx(
        [str(column.header) for column in columns],
        rows_of(columns, objects),
        title=str(title),
        widths=[column.width for column in columns],
    )
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_export_action(
    *,
    description: str,
    title: str,
    columns: Sequence[Column] | Callable[[Any], Sequence[Column]],
    audit_action: str,
    related: Sequence[str] = (),
):
    """An admin action exporting the selected rows to Excel.

    The rows are the admin's own queryset (its scoping holds), in the changelist's order.
    ``columns`` may depend on who exports: a callable given the request. Writes one audit
    event (who exported how many rows of what), never the values.
    """

    @admin.action(description=description, permissions=["view"])
    def export_xlsx(modeladmin, request, queryset):
        count = queryset.count()
        if count > MAX_EXPORT_ROWS:
            modeladmin.message_user(
                request,
                _(
                    "所选记录有 %(count)d 条，一次最多导出 %(limit)d 条。"
                    "请先用筛选或搜索缩小范围后再导出。"
                )
                % {"count": count, "limit": MAX_EXPORT_ROWS},
                messages.ERROR,
            )
            return None
        if related:
            queryset = queryset.select_related(*related)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = xlsx_response(
            filename=f"{title}-{stamp}.xlsx",
            title=title,
            columns=columns(request) if callable(columns) else columns,
            objects=queryset.iterator(chunk_size=2000),
        )
        audit_record(actor=request.user, action=audit_action, data={"rows": count})
        return response

    return export_xlsx


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_cell(sheet, value: Any, *, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=cell_value(value))
    if isinstance(cell.value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(cell.value, date):
        cell.number_format = DATE_FORMAT
    if font is not None:
        cell.font = font
    return cell


def _sheet_title(title: str) -> str:
    # Excel refuses these in a sheet name.
    cleaned = re.sub(r"[\\/*?:\[\]]", "", CONTROL_CHARACTERS.sub("", title)).strip("'")
    return cleaned[:SHEET_TITLE_MAX] or "Sheet1"
