import pytest

from certificates import services
from certificates.models import Certificate
from certportal.imports import ImportRefused
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
):
    id_number = id_number or valid_id("35050319800101111")
    dates = f"2021-03-01,2025-03-02,2025-03-02,{valid_until}"
    return f"{number},{name},{id_number},{code},{dates},{authority}\n"


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
