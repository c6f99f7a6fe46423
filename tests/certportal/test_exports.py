import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from applicants.demo import demo_id_number
from certportal import exports
from certportal.exports import Column, mask_id_numbers, neutralise_formula, write_csv, write_xlsx
from certportal.models import AuditEvent
from exams.models import Trade

ID_NUMBER = demo_id_number("35050319880101123")
MASKED = f"{ID_NUMBER[:4]}**********{ID_NUMBER[-4:]}"


def sheet_rows(data: bytes):
    return [list(row) for row in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows()]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("泉州=1", "泉州=1"),
        ("1-2", "1-2"),
        ("", ""),
    ],
)
def test_neutralise_formula_quotes_only_cells_that_would_run(text, written):
    assert neutralise_formula(text) == written


def test_mask_id_numbers_masks_id_numbers_in_free_text_only():
    wrong_check = ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2")
    ticket = "20263505000500002001"  # 20 digits: not an ID number

    text = f"本人{ID_NUMBER}，{ID_NUMBER.lower()}；{wrong_check} {ticket}"

    assert mask_id_numbers(text) == f"本人{MASKED}，{MASKED}；{wrong_check} {ticket}"


def test_openpyxl_refuses_control_characters_that_write_xlsx_removes():
    hostile = "泉州\x00\x01\x1b丰泽区"
    with pytest.raises(IllegalCharacterError):
        Workbook().active.append([hostile])

    rows = sheet_rows(write_xlsx(["地址"], [[hostile]], title="清单"))

    assert rows[1][0].value == "泉州丰泽区"


def test_write_xlsx_keeps_numbers_and_dates_typed_and_text_as_text():
    moment = datetime(2026, 3, 1, 1, 30, tzinfo=ZoneInfo("UTC"))
    data = write_xlsx(
        ["数", "分", "日期", "时间", "是否", "空", "公式", "身份证"],
        [[7, Decimal("85.5"), date(2026, 3, 1), moment, True, None, "=1+1", ID_NUMBER]],
        title="清单/测试",
    )

    header, row = sheet_rows(data)

    assert [c.value for c in header][:2] == ["数", "分"] and header[0].font.b
    assert row[0].value == 7 and row[0].data_type == "n"
    assert row[1].value == 85.5 and row[1].data_type == "n"
    assert row[2].is_date and row[2].value == datetime(2026, 3, 1)
    assert row[3].value == datetime(2026, 3, 1, 9, 30)  # Beijing time, as staff read it
    assert [c.value for c in row[4:]] == ["是", None, "'=1+1", MASKED]
    assert row[6].data_type == "s"


def test_write_csv_quotes_every_cell_and_makes_text_safe():
    data = write_csv(["列", "值"], [["@SUM(A1)", "泉州\x00丰泽区"], [3, ID_NUMBER]])

    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[1] == '"\'@SUM(A1)","泉州丰泽区"'
    assert list(csv.reader(io.StringIO(text)))[2] == ["3", MASKED]


@pytest.mark.django_db
def test_export_action_refuses_more_rows_than_the_limit(superuser, monkeypatch):
    class FakeAdmin:
        messages: list[str] = []

        def message_user(self, request, message, level):
            self.messages.append(message)

    action = exports.xlsx_export_action(
        description="导出",
        title="工种",
        columns=(Column("代码", lambda t: t.code), Column("名称", lambda t: t.name)),
        audit_action="exams.trade.exported",
    )
    request = RequestFactory().post("/admin/")
    request.user = superuser
    trades = Trade.objects.order_by("code")
    modeladmin = FakeAdmin()

    response = action(modeladmin, request, trades)

    rows = sheet_rows(response.content)
    assert len(rows) == 1 + trades.count()
    assert "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.get(action="exams.trade.exported").data == {"rows": trades.count()}

    monkeypatch.setattr(exports, "MAX_EXPORT_ROWS", trades.count() - 1)
    assert action(modeladmin, request, trades) is None
    assert "一次最多导出" in modeladmin.messages[0]
