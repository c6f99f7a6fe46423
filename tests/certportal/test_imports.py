import csv
import io
import pickle
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from applicants.idcard import parse_id_number
from certportal.imports import (
    Column,
    ImportRefused,
    RowError,
    check_unique,
    errors_as_csv,
    parse_bool_cn,
    parse_date,
    parse_decimal_hours,
    parse_score,
    read_table,
)

ID_NUMBER = "11010519491231002X"


def optional_date(value: str) -> date | None:
    return parse_date(value) if value else None


COLUMNS = (
    Column("ticket_number", ("准考证号", "ticket_number")),
    Column("theory", ("理论成绩", "theory"), required=False, parse=parse_score),
    Column("absent", ("缺考", "absent"), required=False, parse=parse_bool_cn),
    Column("exam_date", ("考试日期", "exam_date"), required=False, parse=optional_date),
)


def csv_bytes(lines: list[str], encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join(lines).encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def refusal(data: bytes, filename: str = "scores.csv", columns=COLUMNS, **limits) -> list[RowError]:
    with pytest.raises(ImportRefused) as caught:
        read_table(data, filename, columns, **limits)
    return caught.value.errors


# Reading good files ----------------------------------------------------------------------------


def test_read_table_utf8_bom_csv_returns_parsed_rows():
    data = csv_bytes(
        [
            "准考证号,理论成绩,缺考,考试日期",
            "Z001,85,否,2026-03-01",
            "Z002,,是,2026/3/1",
        ]
    )

    rows = read_table(data, "scores.csv", COLUMNS)

    assert rows == [
        {
            "_row": 2,
            "ticket_number": "Z001",
            "theory": Decimal("85"),
            "absent": False,
            "exam_date": date(2026, 3, 1),
        },
        {
            "_row": 3,
            "ticket_number": "Z002",
            "theory": None,
            "absent": True,
            "exam_date": date(2026, 3, 1),
        },
    ]


def test_read_table_gb18030_csv_is_decoded():
    data = csv_bytes(["准考证号,理论成绩,考试日期", "Z001,92.5,2026年3月1日"], encoding="gb18030")

    rows = read_table(data, "成绩.csv", COLUMNS)

    assert rows[0]["ticket_number"] == "Z001"
    assert rows[0]["theory"] == Decimal("92.5")
    assert rows[0]["exam_date"] == date(2026, 3, 1)


def test_read_table_xlsx_converts_numbers_and_dates_to_text():
    seen = []

    def ticket(value: str) -> str:
        seen.append(value)
        return value

    columns = (Column("ticket_number", ("准考证号",), parse=ticket), *COLUMNS[1:])
    data = xlsx_bytes(
        [
            ["准考证号", "理论成绩", "缺考", "考试日期"],
            [20260001, 85.0, None, datetime(2026, 3, 1)],
            ["Z002", 72.5, "否", date(2026, 3, 2)],
        ]
    )

    rows = read_table(data, "scores.xlsx", columns)

    assert seen == ["20260001", "Z002"]
    assert [row["_row"] for row in rows] == [2, 3]
    assert rows[0]["theory"] == Decimal("85")
    assert rows[0]["absent"] is False
    assert rows[0]["exam_date"] == date(2026, 3, 1)
    assert rows[1]["theory"] == Decimal("72.5")


def test_read_table_xlsx_integral_float_cell_reads_as_integer_text():
    seen = []
    columns = (Column("value", ("值",), parse=lambda v: seen.append(v) or v),)

    read_table(xlsx_bytes([["值"], [85.0], [date(2026, 3, 1)], [0.5]]), "a.xlsx", columns)

    assert seen == ["85", "2026-03-01", "0.5"]


def test_a_long_number_excel_holds_as_a_number_is_refused_with_how_to_fix_it():
    """An ID or ticket number typed into a column formatted as numbers: Excel keeps 15
    significant digits, so 350503198801011234 comes back as 350503198801011200-something. The
    row is refused naming the cell and the fix, not with a wrong-check-digit message."""
    columns = (Column("ticket_number", ("准考证号",)), Column("id_number", ("身份证号",)))
    data = xlsx_bytes(
        [
            ["准考证号", "身份证号"],
            ["Z001", float(350503198801011234)],
            ["Z002", "350503198801011234"],
        ]
    )
    [error] = refusal(data, "scores.xlsx", columns)
    assert (error.row, error.column) == (2, "身份证号")
    assert "超过 15 位" in error.message and "文本" in error.message


def test_read_table_content_wins_over_filename():
    data = xlsx_bytes([["准考证号"], ["Z001"]])

    rows = read_table(data, "scores.csv", COLUMNS)

    assert rows[0]["ticket_number"] == "Z001"


def test_read_table_skips_empty_rows_and_numbers_rows_as_the_sheet_does():
    data = csv_bytes(["", "准考证号, 理论成绩 ", ",", "Z001 , 60", "", "Z002,70"])

    rows = read_table(data, "scores.csv", COLUMNS)

    assert [(row["_row"], row["ticket_number"]) for row in rows] == [(4, "Z001"), (6, "Z002")]


def test_read_table_headers_match_case_insensitively_and_full_width():
    data = csv_bytes(["TICKET_NUMBER,Ｔｈｅｏｒｙ", "Z001,60"])

    rows = read_table(data, "scores.csv", COLUMNS)

    assert rows[0]["theory"] == Decimal("60")


def test_read_table_missing_optional_column_reads_as_empty_cell():
    rows = read_table(csv_bytes(["准考证号", "Z001"]), "scores.csv", COLUMNS[:3])

    assert rows[0]["theory"] is None
    assert rows[0]["absent"] is False


def test_read_table_missing_optional_column_refusing_empty_cells_is_reported_once():
    columns = (*COLUMNS[:1], Column("exam_date", ("考试日期",), required=False, parse=parse_date))

    errors = refusal(csv_bytes(["准考证号", "Z001", "Z002"]), columns=columns)

    assert errors == [RowError(1, "考试日期", errors[0].message)]


def test_read_table_accepts_quoted_cells_with_commas_and_newlines():
    data = csv_bytes(["准考证号,备注", 'Z001,"一, 二', '三"'])
    columns = (COLUMNS[0], Column("note", ("备注",)))

    rows = read_table(data, "scores.csv", columns)

    assert rows[0]["note"] == "一, 二\r\n三"


# Refusing bad rows -----------------------------------------------------------------------------


def test_read_table_one_bad_row_among_200_reports_exactly_that_row():
    lines = ["准考证号,理论成绩"] + [f"Z{n:04d},{n % 101}" for n in range(200)]
    lines[138] = "Z0137,101"

    errors = refusal(csv_bytes(lines))

    assert len(errors) == 1
    assert errors[0].row == 139
    assert errors[0].column == "理论成绩"
    assert "0 到 100" in errors[0].message


def test_read_table_reports_every_bad_cell_of_every_row():
    data = csv_bytes(
        [
            "准考证号,理论成绩,缺考,考试日期",
            "Z001,abc,也许,2026-02-30",
            "Z002,60,否,2026-03-01",
            "Z003,缺考,是,昨天",
            ",85.55,,2026-03-01",
        ]
    )

    errors = refusal(data)

    assert [(e.row, e.column) for e in errors] == [
        (2, "理论成绩"),
        (2, "缺考"),
        (2, "考试日期"),
        (4, "理论成绩"),
        (4, "考试日期"),
        (5, "理论成绩"),
    ]
    assert "缺考列" in errors[3].message


def test_read_table_bad_xlsx_cell_reports_spreadsheet_row():
    data = xlsx_bytes([["准考证号", "理论成绩"], ["Z001", 60], [None, None], ["Z003", 150]])

    errors = refusal(data, "scores.xlsx")

    assert errors == [RowError(4, "理论成绩", errors[0].message)]


def test_read_table_joins_several_validation_messages_into_one():
    def strict(value: str) -> str:
        raise ValidationError(["太短。", "含有非法字符。"])

    columns = (Column("code", ("编码",), parse=strict),)

    errors = refusal(csv_bytes(["编码", "x"]), columns=columns)

    assert errors == [RowError(2, "编码", "太短。；含有非法字符。")]


def test_read_table_id_number_parser_errors_are_reported_per_row():
    columns = (Column("id_number", ("身份证号",), parse=parse_id_number),)

    errors = refusal(
        csv_bytes(["身份证号", ID_NUMBER, "110105194912310021", "123"]), columns=columns
    )

    assert [e.row for e in errors] == [3, 4]
    assert all(ID_NUMBER[:6] not in e.message for e in errors)


def test_read_table_data_in_a_column_without_header_is_refused():
    errors = refusal(csv_bytes(["准考证号,,理论成绩", "Z001,多余,60", "Z002,,70,多余"]))

    assert [(e.row, e.column) for e in errors] == [(2, ""), (3, "")]
    assert "第 B 列" in errors[0].message
    assert "第 D 列" in errors[1].message


# Refusing bad headers --------------------------------------------------------------------------


def test_read_table_missing_required_column_is_reported():
    errors = refusal(csv_bytes(["理论成绩", "60"]))

    assert errors == [RowError(1, "准考证号", errors[0].message)]
    assert "缺少必填列" in errors[0].message


def test_read_table_unknown_column_is_reported():
    errors = refusal(csv_bytes(["准考证号,理论成续", "Z001,60"]))

    assert len(errors) == 1
    assert errors[0].row == 1
    assert errors[0].column == "理论成续"
    assert "无法识别" in errors[0].message


def test_read_table_duplicate_header_is_reported():
    errors = refusal(csv_bytes(["准考证号,理论成绩,ticket_number", "Z001,60,Z001"]))

    assert len(errors) == 1
    assert errors[0].row == 1
    assert errors[0].column == "ticket_number"
    assert "重复" in errors[0].message


def test_read_table_header_errors_and_row_errors_are_reported_together():
    errors = refusal(csv_bytes(["准考证号,理论成绩,备注", "Z001,200,x"]))

    assert [(e.row, e.column) for e in errors] == [(1, "备注"), (2, "理论成绩")]


def test_read_table_without_any_known_header_reports_only_the_header():
    errors = refusal(csv_bytes(["2026年3月考试成绩表", "Z001", "Z002"]))

    assert {e.row for e in errors} == {1}


def test_a_file_without_its_header_row_never_quotes_an_id_number():
    """The first data row stands where the headers should be: its cells are quoted back as
    unknown columns, with the ID number masked."""
    errors = refusal(csv_bytes([f"张三,{ID_NUMBER},80"]))

    text = " ".join(f"{e.column} {e.message}" for e in errors)
    assert "张三" in text and "1101**********002X" in text
    assert ID_NUMBER not in text and ID_NUMBER[:17] not in text


def test_an_unreadable_workbook_is_logged_without_the_id_number_in_its_name(caplog):
    name = f"张三{ID_NUMBER}.xlsx"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with caplog.at_level("INFO", logger="certportal.imports"), pytest.raises(ImportRefused):
        read_table(archive.getvalue(), name, COLUMNS)
    assert "1101**********002X" in caplog.text and ID_NUMBER not in caplog.text


def test_read_table_header_only_is_refused():
    errors = refusal(csv_bytes(["准考证号,理论成绩"]))

    assert errors[0].row == 0
    assert "没有数据行" in errors[0].message


# Refusing whole files --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b" , ,\n"])
def test_read_table_empty_file_is_refused(data):
    errors = refusal(data)

    assert len(errors) == 1
    assert errors[0].row == 0
    assert errors[0].column == ""


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "PNG"),
    ],
)
def test_read_table_pdf_or_png_renamed_csv_is_refused(data, kind):
    errors = refusal(data, "scores.csv")

    assert len(errors) == 1
    assert errors[0].row == 0
    assert kind in errors[0].message


def test_read_table_old_xls_is_refused_with_save_as_advice():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512

    errors = refusal(data, "scores.xls")

    assert len(errors) == 1
    assert ".xlsx" in errors[0].message
    assert "CSV" in errors[0].message


def test_read_table_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")

    errors = refusal(buffer.getvalue(), "scores.xlsx")

    assert errors[0].row == 0
    assert ".xlsx" in errors[0].message


def test_read_table_binary_without_known_signature_is_refused():
    errors = refusal(b"\x00\x01\x02garbage\x00", "scores.csv")

    assert errors[0].row == 0


def test_read_table_text_named_xlsx_is_refused():
    errors = refusal(csv_bytes(["准考证号", "Z001"]), "scores.xlsx")

    assert "损坏" in errors[0].message


def test_read_table_too_many_rows_is_refused():
    data = csv_bytes(["准考证号"] + [f"Z{n}" for n in range(11)])

    errors = refusal(data, max_rows=10)

    assert len(errors) == 1
    assert errors[0].row == 0
    assert "10 行" in errors[0].message


def test_read_table_exactly_max_rows_is_accepted():
    data = csv_bytes(["准考证号"] + [f"Z{n}" for n in range(10)])

    assert len(read_table(data, "scores.csv", COLUMNS, max_rows=10)) == 10


def test_read_table_too_many_bytes_is_refused():
    data = csv_bytes(["准考证号"] + ["Z0001"] * 300)

    errors = refusal(data, max_bytes=1024)

    assert len(errors) == 1
    assert "过大" in errors[0].message


def test_read_table_too_many_columns_is_refused():
    errors = refusal(csv_bytes(["准考证号" + "," * 300, "Z001"]))

    assert len(errors) == 1
    assert "200 列" in errors[0].message


def test_import_refused_str_is_a_short_summary():
    refused = ImportRefused([RowError(2, "a", "x"), RowError(3, "a", "y")])

    assert str(refused) == "文件有 2 处错误，未导入任何数据。"


def test_import_refused_survives_pickling():
    refused = ImportRefused([RowError(2, "a", "x")])

    restored = pickle.loads(pickle.dumps(refused))  # noqa: S301 - our own bytes

    assert restored.errors == refused.errors


# Helpers ---------------------------------------------------------------------------------------


def test_check_unique_reports_repeats_with_the_first_row():
    rows = [
        {"_row": 2, "ticket_number": "Z001"},
        {"_row": 3, "ticket_number": "Z002"},
        {"_row": 4, "ticket_number": "Z001"},
        {"_row": 5, "ticket_number": None},
        {"_row": 6, "ticket_number": None},
    ]

    errors = check_unique(rows, "ticket_number", "准考证号")

    assert errors == [RowError(4, "准考证号", "与第 2 行重复。")]


def test_errors_as_csv_neutralises_formula_cells():
    errors = [
        RowError(1, "=cmd|' /C calc'!A0", "无法识别的列"),
        RowError(2, "理论成绩", "+1 is a formula"),
        RowError(0, "", "-bad @x"),
        RowError(3, "@SUM(A1)", "ok"),
    ]

    data = errors_as_csv(errors)

    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["行号", "列", "错误"]
    assert table[1] == ["1", "'=cmd|' /C calc'!A0", "无法识别的列"]
    assert table[2] == ["2", "理论成绩", "'+1 is a formula"]
    assert table[3] == ["", "", "'-bad @x"]
    assert table[4][1] == "'@SUM(A1)"


def test_errors_as_csv_round_trips_a_refusal():
    errors = refusal(csv_bytes(["准考证号,理论成绩", "Z001,abc"]))

    table = list(csv.reader(io.StringIO(errors_as_csv(errors).decode("utf-8-sig"))))

    assert table[1][:2] == ["2", "理论成绩"]


# Cell parsers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("0", Decimal("0")),
        ("100", Decimal("100")),
        ("85.5", Decimal("85.5")),
        ("85.50", Decimal("85.5")),
        ("８５", Decimal("85")),
    ],
)
def test_parse_score_accepts_zero_to_hundred_with_one_decimal(text, expected):
    assert parse_score(text) == expected


@pytest.mark.parametrize("text", ["-1", "100.1", "101", "85.55", "abc", "1e2", "NaN", "85,5"])
def test_parse_score_refuses_bad_values(text):
    with pytest.raises(ValidationError):
        parse_score(text)


def test_parse_score_refuses_absent_word_pointing_to_absent_column():
    with pytest.raises(ValidationError) as caught:
        parse_score("缺考")

    assert "缺考列" in caught.value.messages[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True),
        ("Y", True),
        ("1", True),
        ("TRUE", True),
        ("否", False),
        ("n", False),
        ("0", False),
        ("false", False),
        ("", False),
    ],
)
def test_parse_bool_cn_reads_chinese_and_english_words(text, expected):
    assert parse_bool_cn(text) is expected


def test_parse_bool_cn_refuses_other_words():
    with pytest.raises(ValidationError):
        parse_bool_cn("也许")


@pytest.mark.parametrize("text", ["2026-03-01", "2026/3/1", "2026年3月1日", "2026-3-01"])
def test_parse_date_accepts_the_three_formats(text):
    assert parse_date(text) == date(2026, 3, 1)


@pytest.mark.parametrize("text", ["", "2026-02-30", "01/03/2026", "2026.03.01", "20260301"])
def test_parse_date_refuses_other_text(text):
    with pytest.raises(ValidationError):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("0.5", Decimal("0.5")), ("24", Decimal("24")), ("200", Decimal("200"))]
)
def test_parse_decimal_hours_accepts_positive_up_to_200(text, expected):
    assert parse_decimal_hours(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-3", "200.5", "1.25", "abc"])
def test_parse_decimal_hours_refuses_bad_values(text):
    with pytest.raises(ValidationError):
        parse_decimal_hours(text)


def test_read_table_takes_the_first_sheet_that_holds_anything():
    """A workbook whose first sheet was left empty and the data typed on the next one (a
    template's first sheet deleted, a new one added) is read, not called empty."""
    workbook = Workbook()
    workbook.active.title = "说明"
    data_sheet = workbook.create_sheet("成绩")
    data_sheet.append(["准考证号", "理论成绩"])
    data_sheet.append(["Z001", 60])
    other = workbook.create_sheet("备用")
    other.append(["准考证号", "理论成绩"])
    other.append(["Z999", 10])
    buffer = io.BytesIO()
    workbook.save(buffer)

    rows = read_table(buffer.getvalue(), "scores.xlsx", COLUMNS[:2])

    assert [(row["_row"], row["ticket_number"]) for row in rows] == [(2, "Z001")]
