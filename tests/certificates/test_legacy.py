from datetime import date, timedelta

import pytest
from django.utils import timezone

from certificates import services
from certificates.models import Certificate, SerialCounter
from certportal.imports import ImportRefused
from certportal.models import AuditEvent
from certportal.pdf import MissingGlyphError
from tests.applicants.fixtures_ids import valid_id

pytestmark = pytest.mark.django_db
HEADER = "证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关\n"


def row(
    number,
    name="陈大勇",
    id_number=None,
    code="4T",
    authority="泉州市住房和城乡建设局",
    valid_until="2027-03-01",
    first_issued="2021-03-01",
    issued="2025-03-02",
):
    id_number = id_number or valid_id("35050319800101111")
    dates = f"{first_issued},{issued},{issued},{valid_until}"
    return f"{number},{name},{id_number},{code},{dates},{authority}\n"


def dated(first_issued, issued=None):
    """The dates of a certificate first issued on ``first_issued``, valid for two years."""
    issued = date.fromisoformat(issued or first_issued)
    valid_until = date(issued.year + 2, issued.month, issued.day) - timedelta(days=1)
    return {"first_issued": first_issued, "issued": issued, "valid_until": valid_until}


def test_import_keeps_numbers_maps_old_codes_and_makes_no_pdf(issuer_credit_code):
    data = (
        HEADER + row("闽C4T2021000001") + row("闽C052022000002", code="05", name="林一")
    ).encode()
    assert services.import_certificates(data=data, filename="legacy.csv") == 2
    old = Certificate.objects.get(number="闽C4T2021000001")
    assert old.trade.code == "05" and old.is_legacy and old.content_version == 0
    assert services.render_pending_ids() == []


def test_import_refuses_the_whole_file_for_one_bad_row(issuer_credit_code):
    rows = [row(f"闽C4T2021{n:06d}") for n in range(1, 50)]
    rows[17] = row("闽C4T2021000018", id_number="350503198001011112")  # wrong check character
    rows[30] = row("闽C4T2021000031", code="ZZ")
    with pytest.raises(ImportRefused) as exc:
        services.import_certificates(data=(HEADER + "".join(rows)).encode(), filename="legacy.csv")
    assert [(e.row, e.column) for e in exc.value.errors] == [(19, "身份证号"), (32, "工种代码")]
    assert not Certificate.objects.exists()


def test_holder_generates_the_new_version_e_certificate(
    issuer_credit_code, candidate, django_capture_on_commit_callbacks
):
    data = (
        HEADER + row("闽C4T2021000007", name="王小明", id_number=candidate.profile.id_number)
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    certificate = Certificate.objects.get(number="闽C4T2021000007")
    assert certificate.holder == candidate
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_generate_ecert(certificate=certificate, actor=candidate)
    certificate.refresh_from_db()
    assert certificate.pdf and certificate.ecert_identifier.endswith(
        certificate.ecert_identifier[-1]
    )
    assert ".C4T2021000007.001." in certificate.ecert_identifier


def test_the_holder_asks_for_the_new_version_e_certificate_on_their_page(
    client, issuer_credit_code, candidate, other_applicant, django_capture_on_commit_callbacks
):
    """Shandong's 手动生成新版电子证照, from the holder's list: the button, the PDF, and
    nothing more when asked again; no one else can ask for it."""
    data = (
        HEADER + row("闽C4T2021000011", name="王小明", id_number=candidate.profile.id_number)
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    certificate = Certificate.objects.get(number="闽C4T2021000011")
    url = f"/me/certificates/{certificate.pk}/generate/"

    client.force_login(other_applicant)
    assert client.post(url).status_code == 404
    client.force_login(candidate)
    page = client.get("/me/certificates/").content.decode()
    assert "尚未生成新版电子证照" in page and f'action="{url}"' in page
    assert "电子证照正在生成" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "新版电子证照正在生成" in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.pdf and certificate.content_version == 1
    assert "下载电子证照（PDF）" in client.get("/me/certificates/").content.decode()
    response = client.post(url, follow=True)
    assert "新版电子证照已经生成，无需再次生成。" in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.content_version == 1
    assert AuditEvent.objects.filter(action="certificates.certificate.ecert_requested").count() == 1


def test_an_ended_imported_certificate_gets_no_e_certificate_from_its_holder(
    client, issuer_credit_code, candidate, authority_staff, django_capture_on_commit_callbacks
):
    data = (
        HEADER + row("闽C4T2021000012", name="王小明", id_number=candidate.profile.id_number)
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    certificate = Certificate.objects.get(number="闽C4T2021000012")
    services.certificate_revoke(certificate=certificate, actor=authority_staff, reason="伪造")
    client.force_login(candidate)
    page = client.get("/me/certificates/").content.decode()
    assert "未生成新版电子证照" in page and "/generate/" not in page
    response = client.post(f"/me/certificates/{certificate.pk}/generate/", follow=True)
    assert "证书状态为“吊销”，不能生成新版电子证照" in response.content.decode()
    assert Certificate.objects.get(pk=certificate.pk).content_version == 0

    # Staff may: the admin action.
    client.force_login(authority_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/certificates/certificate/",
            {"action": "generate_ecert", "_selected_action": [certificate.pk]},
            follow=True,
        )
    assert "生成新版电子证照：成功 1 条。" in [str(m) for m in response.context["messages"]]
    assert Certificate.objects.get(pk=certificate.pk).content_version >= 1


def test_an_imported_row_past_its_date_is_stored_expired(issuer_credit_code):
    """Years-old certificates expire at import, not the first night with a notice and a PDF
    each."""
    data = (HEADER + row("闽C4T2019000013", **dated("2019-03-01"))).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    certificate = Certificate.objects.get(number="闽C4T2019000013")
    assert certificate.status == "06" and certificate.content_version == 0
    assert services.expire_due() == 0
    assert services.render_pending_ids() == []


def test_numbers_are_stored_as_the_public_lookup_reads_them(issuer_credit_code, client):
    """Lower case, full-width characters and spaces, as spreadsheets hold them: stored in the
    one form an inspector's lookup finds."""
    data = (
        HEADER
        + row("闽c4t 2021 000021", name="陈大勇")
        + row("闽Ｃ４Ｔ２０２１００００２２", name="林一", id_number=valid_id("35050319810101111"))
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    assert set(Certificate.objects.values_list("number", flat=True)) == {
        "闽C4T2021000021",
        "闽C4T2021000022",
    }
    for typed, name, stored in (
        ("闽c4t2021000021", "陈大勇", "闽C4T2021000021"),
        ("闽Ｃ４Ｔ２０２１００００２２", "林一", "闽C4T2021000022"),
    ):
        answer = client.get("/api/v1/verify", {"cert_no": typed, "name": name}).json()
        assert [c["number"] for c in answer["certificates"]] == [stored], answer


def test_numbers_differing_only_in_case_or_too_long_refuse_the_file(issuer_credit_code):
    data = (
        HEADER
        + row("闽C4T2021000031")
        + row("闽c4t2021000031", name="林一", id_number=valid_id("35050319810101111"))
        + row("闽C4T20210000310000000", name="林二", id_number=valid_id("35050319820101111"))
        + row("闽C4T2021000032", code="4", name="林三", id_number=valid_id("35050319830101111"))
    ).encode()
    with pytest.raises(ImportRefused) as exc:
        services.import_certificates(data=data, filename="legacy.csv")
    errors = {(e.row, e.column): e.message for e in exc.value.errors}
    assert (3, "证书编号") in errors
    assert "不能超过 20 个字符" in errors[(4, "证书编号")]
    assert "“04”" in errors[(5, "工种代码")] and "文本格式" in errors[(5, "工种代码")]
    assert not Certificate.objects.exists()


def test_a_name_no_font_has_fails_loudly_and_staff_see_why(issuer_credit_code):
    data = (HEADER + row("闽C4T2021000009", name="王明")).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    Certificate.objects.filter(number="闽C4T2021000009").update(
        holder_name="王\U0010fffd", content_version=1
    )
    certificate = Certificate.objects.get(number="闽C4T2021000009")
    with pytest.raises(MissingGlyphError):
        services.certificate_render(certificate_pk=certificate.pk)
    certificate.refresh_from_db()
    assert "U+10FFFD" in certificate.render_error and not certificate.pdf


def test_imported_portal_number_advances_the_counter_so_issuance_takes_the_next(
    passed, authority_staff
):
    year = timezone.localdate().year
    data = (HEADER + row(f"闽C05{year}000001", code="05", **dated(f"{year}-01-05"))).encode()
    services.import_certificates(data=data, filename="legacy.csv")

    issued = services.certificate_issue(application=passed, actor=authority_staff)

    assert issued.number == f"闽C05{year}000002"
    assert Certificate.objects.filter(number=f"闽C05{year}000001", is_legacy=True).exists()


def test_import_never_lowers_a_counter_and_leaves_other_formats_alone(passed, authority_staff):
    year = timezone.localdate().year
    first = HEADER + row(f"闽C05{year}000009", code="05", **dated(f"{year}-01-05"))
    services.import_certificates(data=first.encode(), filename="legacy.csv")
    later = (
        HEADER
        + row(f"闽C05{year}000003", code="05", name="林一", **dated(f"{year}-01-05"))
        + row("闽C4T2021000001", name="林二")
        + row("闽建特字第2021-05号", code="05", name="林三")
    )
    services.import_certificates(data=later.encode(), filename="legacy.csv")

    assert list(SerialCounter.objects.values_list("prefix", "trade_code", "year", "last")) == [
        ("闽C", "05", year, 9)
    ]
    issued = services.certificate_issue(application=passed, actor=authority_staff)
    assert issued.number == f"闽C05{year}000010"


# 03, 06 and 07 are new codes and, before 2023, other trades' codes (seed 003, 附件 2).
AMBIGUOUS = [
    ("03", "建筑架子工（附着升降脚手架）", "建筑起重司索信号工"),
    ("06", "建筑起重机械司机（施工升降机）", "高处作业吊篮安装拆卸工"),
    ("07", "建筑起重机械司机（物料提升机）", "建筑电气焊接（切割）工"),
]


@pytest.mark.parametrize(("code", "new", "old"), AMBIGUOUS)
def test_an_ambiguous_code_takes_the_meaning_of_the_year_in_the_number(
    issuer_credit_code, code, new, old
):
    data = (
        HEADER
        + row(f"闽C{code}2024000001", code=code, **dated("2024-05-06"))
        + row(f"闽C{code}2020000001", code=code, name="林一", **dated("2020-05-06"))
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    assert Certificate.objects.get(number=f"闽C{code}2024000001").trade.name == new
    assert Certificate.objects.get(number=f"闽C{code}2020000001").trade.name == old


@pytest.mark.parametrize(
    ("number", "code", "trade"),
    [
        ("闽C4W2020000001", "07", "建筑起重机械司机（物料提升机）"),
        ("闽C992021000001", "07", "建筑电气焊接（切割）工"),
        ("闽C4S2019000001", "06", "建筑起重机械司机（施工升降机）"),
        ("闽C042024000001", "03", "建筑起重司索信号工"),
    ],
)
def test_an_ambiguous_code_takes_the_trade_the_number_names(
    issuer_credit_code, number, code, trade
):
    data = (HEADER + row(number, code=code, **dated("2020-05-06"))).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    assert Certificate.objects.get(number=number).trade.name == trade


def test_an_ambiguous_code_first_issued_from_2023_without_a_coded_number_is_new(
    issuer_credit_code,
):
    data = (HEADER + row("闽建特字第2023-06号", code="06", **dated("2023-01-01"))).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    assert Certificate.objects.get().trade.name == "建筑起重机械司机（施工升降机）"


def test_an_ambiguous_code_that_nothing_in_the_row_decides_is_refused(issuer_credit_code):
    rows = [
        row("闽建特字第2020-07号", code="07", **dated("2022-12-31", issued="2024-01-02")),
        row("闽C032021000001", code="07", name="林一"),
        row("闽建特字第2020-08号", code="4T", name="林二", **dated("2020-05-06")),
        row("闽建特字第2020-09号", code="01", name="林三", **dated("2020-05-06")),
    ]
    with pytest.raises(ImportRefused) as exc:
        services.import_certificates(data=(HEADER + "".join(rows)).encode(), filename="legacy.csv")

    errors = [(e.row, e.column) for e in exc.value.errors]
    assert errors == [(2, "工种代码"), (3, "工种代码")]
    undecided, contradicted = (e.message for e in exc.value.errors)
    assert "2023 年 1 月 1 日" in undecided and "4W" in undecided and "99" in undecided
    assert "证书编号" in contradicted and "建筑起重司索信号工" in contradicted
    assert not Certificate.objects.exists()


def test_unambiguous_old_codes_still_map_whatever_the_dates(issuer_credit_code):
    data = (
        HEADER
        + row("闽建特字第2020-08号", code="4T", **dated("2020-05-06"))
        + row("闽建特字第2020-09号", code="01", name="林一", **dated("2020-05-06"))
        + row("闽建特字第2020-10号", code="2F", name="林二", **dated("2024-05-06"))
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    codes = dict(Certificate.objects.values_list("number", "trade__code"))
    assert codes == {
        "闽建特字第2020-08号": "05",
        "闽建特字第2020-09号": "01",
        "闽建特字第2020-10号": "03",
    }


def test_a_number_written_between_the_check_and_the_insert_refuses_the_file_by_its_row(
    issuer_credit_code, monkeypatch
):
    """Another import (or an issuance) writes the number after this file was checked: the
    staff member gets the row's error rather than a database error, and nothing of the file
    is kept. (Here the other write is made inside this import's transaction, so it is rolled
    back with it; a concurrent one commits on its own.)"""
    from certificates.services import legacy

    other = (HEADER + row("闽C4T2021000007", name="林一")).encode()
    data = (HEADER + row("闽C4T2021000006") + row("闽C4T2021000007")).encode()
    advance = legacy._advance_serial_counters
    calls = []

    def meanwhile(numbers):
        calls.append(1)
        if len(calls) == 1:
            services.import_certificates(data=other, filename="other.csv")
        advance(numbers)

    monkeypatch.setattr(legacy, "_advance_serial_counters", meanwhile)
    with pytest.raises(ImportRefused) as exc:
        services.import_certificates(data=data, filename="legacy.csv")
    assert [(e.row, e.column) for e in exc.value.errors] == [(3, "证书编号")]
    assert "已存在" in exc.value.errors[0].message
    assert not Certificate.objects.filter(number="闽C4T2021000006").exists()


def test_the_holders_pages_read_each_certificates_policy_without_a_query_each(
    client, issuer_credit_code, candidate
):
    """The certificate list and the dashboard read the authority's policy of every certificate
    (renewal window, age limit): the number of queries does not grow with the certificates."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(candidate)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    own = candidate.profile.id_number
    services.import_certificates(
        data=(HEADER + row("闽C4T2021000041", name="王小明", id_number=own)).encode(),
        filename="legacy.csv",
    )
    one = {url: queries(url) for url in ("/me/certificates/", "/me/")}
    services.import_certificates(
        data=(
            HEADER
            + row("闽C012021000042", name="王小明", id_number=own, code="01")
            + row("闽C022021000043", name="王小明", id_number=own, code="02")
        ).encode(),
        filename="legacy.csv",
    )
    assert Certificate.objects.filter(holder=candidate).count() == 3
    assert {url: queries(url) for url in one} == one


def test_numbers_imported_before_normalisation_are_normalised_once(issuer_credit_code):
    import importlib

    from django.apps import apps

    services.import_certificates(
        data=(HEADER + row("闽C4T2021000051") + row("闽C4T2021000052", name="林一")).encode(),
        filename="legacy.csv",
    )
    # A pair whose normal forms collide is left for staff.
    Certificate.objects.filter(number="闽C4T2021000052").update(number="闽Ｃ4T2021000053")
    Certificate.objects.create(
        **{
            f.name: getattr(Certificate.objects.get(number="闽C4T2021000051"), f.name)
            for f in Certificate._meta.concrete_fields
            if f.name not in ("id", "number", "qr_token")
        },
        number="闽C4T2021000053",
    )
    # One in the portal's own format, imported before its counter could be read.
    Certificate.objects.filter(number="闽C4T2021000051").update(number="闽c052021000077")
    SerialCounter.objects.all().delete()
    migration = importlib.import_module("certificates.migrations.0004_normalise_imported_numbers")
    migration.normalise_numbers(apps, None)
    numbers = set(Certificate.objects.values_list("number", flat=True))
    assert numbers == {"闽C052021000077", "闽Ｃ4T2021000053", "闽C4T2021000053"}
    counter = SerialCounter.objects.get(prefix="闽C", trade_code="05", year=2021)
    assert counter.last == 77
