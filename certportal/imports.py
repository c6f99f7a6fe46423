"""Importing tabular files (CSV or XLSX) all-or-nothing, with a per-row error report.

One mechanism for every import (exam scores, continuing education, …); it knows nothing of
what the rows mean. A caller declares its columns, calls ``read_table`` and gets either every
row parsed or ``ImportRefused`` carrying every error of every row, so the person fixes the file
once and uploads it again. Nothing is written here: the caller writes the rows it got back in
one transaction.

The format is told by the content, never by the name: a ZIP that openpyxl opens is XLSX,
anything else must be text (UTF-8 with or without BOM, else GB18030, which Chinese Excel uses
for "CSV"). Old .xls, PDFs, images and the like are refused with a message that says what to
do. Error messages never repeat data cells: they name the row and column, because cells hold
ID numbers and error reports are mailed, downloaded and logged.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .exports import write_csv
from .pii import mask_id_numbers

logger = logging.getLogger(__name__)

ROW_KEY = "_row"
DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# Declared uncompressed size of all parts of an XLSX: a few kilobytes can unpack to gigabytes.
XLSX_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
# Header texts quoted in messages are cut here: a header cell may hold a whole paragraph.
QUOTED_TEXT_MAX = 40
# Bounds no real import comes near; they keep a crafted file from costing minutes of parsing
# (empty rows are skipped, so max_rows alone does not bound the work).
MAX_COLUMNS = 200
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What people upload by mistake (a scan, a PDF export), named so the refusal says what the file
# is. Other binary files are caught by their control characters.
KNOWN_NON_TABLES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
)
_TEXT_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Column:
    """One column a file may have.

    ``headers`` are the accepted header texts, compared after NFKC folding (full-width
    characters), ``strip()`` and lower-casing. ``parse`` gets the stripped cell text (``""``
    when empty) and raises ``ValidationError`` with a Chinese message on a bad cell. A missing
    optional column reads as an empty cell in every row (``parse("")``, computed once); if
    ``parse`` refuses an empty cell, leaving the column out is reported as a missing column.
    """

    key: str
    headers: tuple[str, ...]
    required: bool = True
    parse: Callable[[str], Any] = str

    @property
    def label(self) -> str:
        return self.headers[0]


@dataclass(frozen=True)
class RowError:
    """One error: ``row`` as the spreadsheet numbers it (header = 1; 0 = the whole file)."""

    row: int
    column: str
    message: str


class ImportRefused(Exception):
    """The file was refused whole; ``errors`` holds every error found, in file order."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        super().__init__(str(self))

    def __reduce__(self):
        # Exceptions pickle through their args; this one is rebuilt from its errors (a task
        # result, a cache) rather than from the summary text.
        return (type(self), (self.errors,))

    def __str__(self) -> str:
        count = len(self.errors)
        return ngettext(
            "文件有 %(count)d 处错误，未导入任何数据。",
            "文件有 %(count)d 处错误，未导入任何数据。",
            count,
        ) % {"count": count}


def read_table(
    data: bytes,
    filename: str,
    columns: Sequence[Column],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    validate: Callable[[list[dict[str, Any]]], Iterable[RowError]] | None = None,
) -> list[dict[str, Any]]:
    """Parse a CSV or XLSX upload into one dict per non-empty data row, or refuse it whole.

    The first non-empty row is the header. Each returned dict maps every column's ``key`` to its
    parsed value, and ``"_row"`` to the row number. ``filename`` only sharpens messages and
    logs; the format is told by the content. Raises ``ImportRefused`` with every error of the
    file: file-level problems (size, format, encoding, too many rows) as row 0, header problems
    (missing, unknown or duplicate columns) on the header row, and every bad cell of every row.

    ``validate`` receives the rows whose cells all parsed and returns the caller's own errors
    (unknown keys, rows that contradict the database), so that one refusal lists every error
    of the file, not only those of the first kind.
    """
    _check_columns(columns)
    if not data:
        raise _refuse(_("文件是空的，请选择填好数据的 CSV 或 Excel（.xlsx）文件。"))
    if len(data) > max_bytes:
        raise _refuse(
            _("文件过大（%(size)s），上限为 %(limit)s，请分成多个文件导入。")
            % {"size": _format_size(len(data)), "limit": _format_size(max_bytes)}
        )

    with closing(_open_grid(data, filename)) as grid:
        return _read_grid(grid, columns, max_rows=max_rows, validate=validate)


def _read_grid(
    grid: Grid,
    columns: Sequence[Column],
    *,
    max_rows: int,
    validate: Callable[[list[dict[str, Any]]], Iterable[RowError]] | None = None,
) -> list[dict[str, Any]]:
    errors: list[RowError] = []
    header_row, header_cells = _first_non_empty(grid)
    if header_row == 0:
        raise _refuse(_("文件中没有任何内容，请在第一行填写表头、之后每行填写一条数据。"))

    layout, header_errors = _map_headers(header_row, header_cells, columns)
    errors.extend(header_errors)
    if not layout.positions:
        # Nothing recognised (a title row, another sheet, another template): every data row
        # would only repeat the header errors.
        raise ImportRefused(errors)

    rows: list[dict[str, Any]] = []
    bad_rows: set[int] = set()
    data_rows = 0
    for row_number, cells in grid:
        if not any(cells):
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise _refuse(
                _("文件超过 %(limit)d 行数据（第 %(row)d 行起超出），请分成多个文件导入。")
                % {"limit": max_rows, "row": row_number}
            )
        row, row_errors = _parse_row(row_number, cells, layout, columns)
        errors.extend(row_errors)
        if row_errors:
            bad_rows.add(row_number)
        rows.append(row)

    if data_rows == 0 and not errors:
        errors.append(RowError(0, "", _("文件只有表头，没有数据行。")))
    if validate is not None and not header_errors and rows:
        errors.extend(validate([row for row in rows if row[ROW_KEY] not in bad_rows]))
    if errors:
        raise ImportRefused(sorted(errors, key=lambda e: e.row))
    return rows


def check_unique(rows: Iterable[dict[str, Any]], key: str, header: str) -> list[RowError]:
    """One error for every row repeating an earlier row's ``key``; empty values are skipped.

    The message names the earlier row, never the value (it may be an ID number).
    """
    first_seen: dict[Any, int] = {}
    errors: list[RowError] = []
    for row in rows:
        value = row.get(key)
        if value is None or value == "":
            continue
        if value in first_seen:
            errors.append(
                RowError(
                    row[ROW_KEY],
                    header,
                    _("与第 %(row)d 行重复。") % {"row": first_seen[value]},
                )
            )
        else:
            first_seen[value] = row[ROW_KEY]
    return errors


def errors_as_csv(errors: Iterable[RowError]) -> bytes:
    """The error report as a CSV download: UTF-8 with BOM (Excel reads it), 行号,列,错误.

    Written by ``certportal.exports``, so a header text quoted from the uploaded file never runs
    as a formula in a spreadsheet. File-level errors have an empty row number.
    """
    return write_csv(
        [_("行号"), _("列"), _("错误")],
        ((str(error.row) if error.row else "", error.column, error.message) for error in errors),
    )


# Cell parsers ----------------------------------------------------------------------------------

_SCORE = re.compile(r"\d{1,3}(\.\d+)?", re.ASCII)
_HOURS = re.compile(r"\d{1,4}(\.\d+)?", re.ASCII)
_DATE_FORMATS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})", re.ASCII),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", re.ASCII),
)
_TRUE_WORDS = frozenset({"是", "y", "yes", "1", "true", "√"})
_FALSE_WORDS = frozenset({"否", "n", "no", "0", "false", ""})
_ONE_DECIMAL = Decimal("0.1")
MAX_SCORE = Decimal(100)
MAX_HOURS = Decimal(200)


def parse_score(value: str) -> Decimal | None:
    """A score from 0 to 100 with at most one decimal place (85.50 counts as 85.5); "" is None.

    Absence is its own column: "缺考" in a score cell is refused rather than read as 0.
    """
    text = _fold(value)
    if not text:
        return None
    if text == "缺考":
        raise ValidationError(
            _("成绩栏不能填写“缺考”：缺考请在缺考列填写“是”，成绩留空。"), code="absent"
        )
    number = _one_decimal(text, _SCORE)
    if number is None or number > MAX_SCORE:
        raise ValidationError(
            _("成绩应为 0 到 100 之间的数字，最多一位小数。"), code="invalid_score"
        )
    return number


def parse_bool_cn(value: str) -> bool:
    """是/否, Y/N, yes/no, 1/0, true/false (any case) or √; an empty cell is 否."""
    text = _fold(value).lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise ValidationError(_("请填写“是”或“否”（也可留空表示否）。"), code="invalid_bool")


def parse_date(value: str) -> date:
    """A date as 2026-03-01, 2026/3/1 or 2026年3月1日 (month and day with or without zeros)."""
    text = _fold(value)
    if not text:
        raise ValidationError(_("请填写日期。"), code="required")
    for pattern in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise ValidationError(
                    _("日期不存在，请核对年、月、日。"), code="invalid_date"
                ) from None
    raise ValidationError(
        _("日期格式应为 2026-03-01、2026/3/1 或 2026年3月1日。"), code="invalid_date"
    )


def parse_decimal_hours(value: str) -> Decimal:
    """Hours greater than 0 and at most 200, with at most one decimal place."""
    text = _fold(value)
    if not text:
        raise ValidationError(_("请填写学时。"), code="required")
    number = _one_decimal(text, _HOURS)
    if number is None or number <= 0 or number > MAX_HOURS:
        raise ValidationError(
            _("学时应为大于 0、不超过 200 的数字，最多一位小数。"), code="invalid_hours"
        )
    return number


def _fold(value: str) -> str:
    # Full-width digits and letters (８５, Ｙ) come from Chinese input methods.
    return unicodedata.normalize("NFKC", value or "").strip()


def _one_decimal(text: str, pattern: re.Pattern[str]) -> Decimal | None:
    """The number quantized to one decimal place, or None if it is not one or has more."""
    if not pattern.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    rounded = number.quantize(_ONE_DECIMAL)
    return rounded if rounded == number else None


# Reading the grid ------------------------------------------------------------------------------

# A grid is the file's rows in order: (row number as the spreadsheet shows it, stripped cells).
Grid = Generator[tuple[int, list[str]], None, None]


@dataclass(frozen=True)
class _Layout:
    """Where each recognised column is: column key → 0-based position in the row."""

    positions: dict[str, int]
    header_texts: dict[str, str]
    # Values of the optional columns the file leaves out: what an empty cell parses to.
    defaults: dict[str, Any]
    # Data under a blank header, or right of the last header, would be silently dropped: it is
    # an error. Data under an unknown or duplicate header is not, that header being reported.
    blank: frozenset[int]
    width: int


def _refuse(message: str) -> ImportRefused:
    return ImportRefused([RowError(0, "", message)])


def _format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} KB"


def _check_columns(columns: Sequence[Column]) -> None:
    """Catch a caller's mistake (two columns claiming a header) before blaming the file."""
    keys: set[str] = set()
    headers: set[str] = set()
    for column in columns:
        if column.key in keys or column.key == ROW_KEY or not column.headers:
            raise ValueError(f"bad or duplicate column key {column.key!r}")
        keys.add(column.key)
        for header in column.headers:
            normalised = _normalise_header(header)
            if normalised in headers:
                raise ValueError(f"header {header!r} is claimed by two columns")
            headers.add(normalised)


def _open_grid(data: bytes, filename: str) -> Grid:
    if data.startswith(XLSX_MAGIC):
        return _xlsx_grid(data, filename)
    if data.startswith(OLE_MAGIC):
        raise _refuse(
            _(
                "这是旧版 Excel（.xls）或 WPS 文件，无法读取。请在 Excel 或 WPS 中“另存为”"
                "Excel 工作簿（.xlsx）或 CSV 后重新上传。"
            )
        )
    for magic, kind in KNOWN_NON_TABLES:
        if data.startswith(magic):
            raise _refuse(
                _("文件内容是 %(kind)s，不是表格。请上传 CSV 或 Excel（.xlsx）文件。")
                % {"kind": kind}
            )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise _refuse(
            _("文件名是 .xlsx，但内容不是 Excel 工作簿，文件可能已损坏。请重新保存后上传。")
        )
    return _csv_grid(_decode_text(data))


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(
            _("文件是 UTF-16 编码的文本（Excel 的“Unicode 文本”），请另存为“CSV UTF-8”或 .xlsx。")
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _refuse(
                _("无法识别文件的文字编码，请另存为“CSV UTF-8”或 Excel（.xlsx）后重新上传。")
            ) from None
    if _TEXT_CONTROL_CHARACTERS.search(text):
        raise _refuse(_("文件不是 CSV 或 Excel（.xlsx）表格，请检查是否选错了文件。"))
    return text


def _csv_grid(text: str) -> Grid:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # Read fully now so a malformed file is refused before any row is judged; the text is
        # already bounded by max_bytes.
        records = list(reader)
    except csv.Error:
        raise _refuse(
            _("CSV 文件格式有误（约第 %(row)d 行），请用 Excel 打开后重新另存为 CSV。")
            % {"row": reader.line_num}
        ) from None
    for number, record in enumerate(records, 1):
        _check_size(number, len(record))
        yield number, [cell.strip() for cell in record]


def _check_size(row_number: int, width: int) -> None:
    """Refuse sheets no real import has, before a crafted one costs minutes of parsing."""
    if row_number > MAX_SHEET_ROWS:
        raise _refuse(_("表格行数超过 Excel 的上限，文件可能已损坏。"))
    if width > MAX_COLUMNS:
        raise _refuse(
            _("第 %(row)d 行超过 %(limit)d 列，请只保留需要导入的列。")
            % {"row": row_number, "limit": MAX_COLUMNS}
        )


def _xlsx_grid(data: bytes, filename: str) -> Grid:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise _refuse(_("Excel 文件已损坏，无法打开。请重新保存后上传。")) from None
    if unpacked > XLSX_MAX_UNCOMPRESSED_BYTES:
        raise _refuse(_("Excel 文件解压后过大，请只保留需要导入的数据后重新上传。"))

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        # openpyxl raises anything from KeyError to XML parse errors on a file that is a ZIP
        # but not a workbook (.docx, a renamed archive, a damaged save).
        logger.info(
            "imports: %r is a ZIP openpyxl cannot open", file_label(filename), exc_info=True
        )
        raise _refuse(
            _("文件不是有效的 Excel 工作簿（.xlsx），请在 Excel 或 WPS 中另存为 .xlsx 或 CSV。")
        ) from None
    return _xlsx_rows(workbook, filename)


def _xlsx_rows(workbook: Any, filename: str) -> Grid:
    try:
        if not workbook.worksheets:
            raise _refuse(_("Excel 文件中没有工作表。"))
        # The first worksheet that holds anything, not the active one: which sheet was open
        # when saving is an accident; the first is what the template puts first, unless it was
        # left empty and the data typed on the next.
        sheet = next((ws for ws in workbook.worksheets if _has_content(ws)), workbook.worksheets[0])
        # openpyxl's read-only reader fills skipped rows with empty ones, so counting from 1
        # gives the row numbers Excel shows.
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            _check_size(number, len(values))
            yield number, [_xlsx_cell_text(value) for value in values]
    except ImportRefused:
        raise
    except Exception:
        logger.info("imports: reading %r failed", file_label(filename), exc_info=True)
        raise _refuse(_("Excel 文件已损坏，读取失败。请重新保存后上传。")) from None
    finally:
        workbook.close()


def _has_content(sheet) -> bool:
    # The stored dimension is whatever the saving program wrote: trusted, a wrong one makes
    # openpyxl drop the rows below it, or pad every row to 16,384 columns.
    sheet.reset_dimensions()
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        _check_size(number, len(values))
        if any(value not in (None, "") for value in values):
            return True
    return False


class _MangledNumber(str):
    """A cell Excel holds as a number of more than 15 digits (an ID or ticket number typed
    into a column formatted as numbers): Excel keeps 15 significant digits, so the last ones
    are already lost, and no parse should see it as the number typed (``_parse_row``)."""


EXCEL_DIGITS = 15


def _xlsx_cell_text(value: Any) -> str:
    """A cell as the text a person would have typed: 85.0 → "85", a date → "2026-03-01"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10**EXCEL_DIGITS:
            return _MangledNumber(str(int(value)))
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


# Headers and rows ------------------------------------------------------------------------------


def _first_non_empty(grid: Grid) -> tuple[int, list[str]]:
    for number, cells in grid:
        if any(cells):
            return number, cells
    return 0, []


def _normalise_header(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _quote(text: str) -> str:
    """A cell quoted back in a message: short, and with no ID number in clear (a file without
    its header row has a person's row where the headers should be)."""
    text = mask_id_numbers(text)
    return text if len(text) <= QUOTED_TEXT_MAX else text[:QUOTED_TEXT_MAX] + "…"


def file_label(filename: str) -> str:
    """An uploaded file's name as it may be logged or audited: people name files after the
    person in them (``张三-3505…-继续教育.xlsx``), so any ID number is masked."""
    return mask_id_numbers(filename or "")[:100]


def _map_headers(
    row: int, cells: list[str], columns: Sequence[Column]
) -> tuple[_Layout, list[RowError]]:
    by_header = {_normalise_header(h): column for column in columns for h in column.headers}
    positions: dict[str, int] = {}
    header_texts: dict[str, str] = {}
    blank: set[int] = set()
    errors: list[RowError] = []

    for position, text in enumerate(cells):
        if not text:
            blank.add(position)
            continue
        column = by_header.get(_normalise_header(text))
        if column is None:
            errors.append(
                RowError(
                    row,
                    _quote(text),
                    _("无法识别的列“%(header)s”（第 %(letter)s 列）。可用的列：%(known)s。")
                    % {
                        "header": _quote(text),
                        "letter": _column_letter(position),
                        "known": "、".join(c.label for c in columns),
                    },
                )
            )
        elif column.key in positions:
            errors.append(
                RowError(
                    row,
                    _quote(text),
                    _("列“%(header)s”重复（第 %(first)s 列和第 %(again)s 列），只能保留一列。")
                    % {
                        "header": column.label,
                        "first": _column_letter(positions[column.key]),
                        "again": _column_letter(position),
                    },
                )
            )
        else:
            positions[column.key] = position
            header_texts[column.key] = text

    defaults: dict[str, Any] = {}
    for column in columns:
        if column.key in positions:
            continue
        if not column.required:
            try:
                defaults[column.key] = column.parse("")
                continue
            except ValidationError:
                pass  # an empty cell is not acceptable, so neither is leaving the column out
        alternatives = column.headers[1:]
        message = _("缺少必填列“%(header)s”。") % {"header": column.label}
        if alternatives:
            message += _("（表头也可写作：%(others)s）") % {"others": "、".join(alternatives)}
        errors.append(RowError(row, column.label, message))

    layout = _Layout(positions, header_texts, defaults, frozenset(blank), len(cells))
    return layout, errors


def _parse_row(
    row_number: int, cells: list[str], layout: _Layout, columns: Sequence[Column]
) -> tuple[dict[str, Any], list[RowError]]:
    parsed: dict[str, Any] = {ROW_KEY: row_number, **layout.defaults}
    errors: list[RowError] = []
    for column in columns:
        position = layout.positions.get(column.key)
        if position is None:
            continue  # an optional column's default, or reported once on the header row
        cell = cells[position] if position < len(cells) else ""
        if isinstance(cell, _MangledNumber):
            errors.append(
                RowError(
                    row_number,
                    layout.header_texts[column.key],
                    _(
                        "这一格在 Excel 中是数字，超过 15 位的部分已被 Excel 改动"
                        "（身份证号、准考证号等长号码都会这样）：请将该列设置为“文本”格式，"
                        "重新填写后再导入。"
                    ),
                )
            )
            continue
        try:
            parsed[column.key] = column.parse(cell)
        except ValidationError as exc:
            errors.append(
                RowError(row_number, layout.header_texts[column.key], "；".join(exc.messages))
            )

    for position, cell in enumerate(cells):
        if not cell:
            continue
        if position >= layout.width or position in layout.blank:
            errors.append(
                RowError(
                    row_number,
                    "",
                    _("第 %(letter)s 列有内容，但这一列没有表头。请填写表头或删除该列。")
                    % {"letter": _column_letter(position)},
                )
            )
    return parsed, errors


def _column_letter(position: int) -> str:
    return get_column_letter(position + 1)
