"""Staff enter records in the admin; the services' refusals come back on the form."""

from datetime import timedelta

import pytest
from django.http import HttpRequest

from certportal.models import AuditEvent
from renewals.models import ConductRecord, ContinuingEducation
from tests.factories import PASSWORD

from .fixtures import TODAY


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


@pytest.mark.django_db
def test_ce_record_with_a_wrong_id_number_is_refused_on_the_form(client, ce_staff, certificate):
    login(client, ce_staff)
    form = {
        "holder_name": certificate.holder_name,
        "holder_id_number": certificate.holder_id_number[:-1]
        + ("0" if certificate.holder_id_number[-1] != "0" else "1"),
        "mode": "online",
        "hours": "8",
        "completed_on": (TODAY - timedelta(days=3)).isoformat(),
        "course": "塔式起重机安全操作",
    }
    response = client.post("/admin/renewals/continuingeducation/add/", form)
    assert response.status_code == 200
    assert "校验码" in response.content.decode()
    assert not ContinuingEducation.objects.exists()

    form["holder_id_number"] = certificate.holder_id_number
    response = client.post("/admin/renewals/continuingeducation/add/", form)
    assert response.status_code == 302
    assert ContinuingEducation.objects.get().hours == 8


@pytest.mark.django_db
def test_staff_of_an_institution_without_ce_approval_get_the_reason_not_an_error(
    client, assessor, certificate
):
    login(client, assessor)
    response = client.post(
        "/admin/renewals/continuingeducation/add/",
        {
            "holder_name": certificate.holder_name,
            "holder_id_number": certificate.holder_id_number,
            "mode": "offline",
            "hours": "8",
            "completed_on": (TODAY - timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "本机构未获准提供继续教育。" in response.content.decode()
    assert not ContinuingEducation.objects.exists()


@pytest.mark.django_db
def test_conduct_record_dated_in_the_future_is_refused_and_a_good_one_saved_once(
    client, authority_staff, certificate
):
    login(client, authority_staff)
    form = {
        "certificate": certificate.pk,
        "kind": "violation",
        "occurred_on": (TODAY + timedelta(days=1)).isoformat(),
        "description": "未按规定佩戴安全帽作业",
    }
    response = client.post("/admin/renewals/conductrecord/add/", form)
    assert response.status_code == 200
    assert "发生日期不能晚于今天。" in response.content.decode()
    assert not ConductRecord.objects.exists()

    form["occurred_on"] = (TODAY - timedelta(days=1)).isoformat()
    assert client.post("/admin/renewals/conductrecord/add/", form).status_code == 302
    record = ConductRecord.objects.get()
    assert record.created_by == authority_staff
    assert AuditEvent.objects.filter(action="renewals.conduct.violation").count() == 1


@pytest.mark.django_db
def test_authority_staff_import_a_providers_records_of_their_scope(
    client, authority_staff, other_authority_staff, certificate
):
    """Qinghai: 线下继续教育由人事处按批次导入. The authority names the provider (one of its
    scope); a provider of another authority, or none, is refused and nothing is kept."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from certportal.errors import DomainError
    from exams.models import Institution
    from renewals import services
    from tests.renewals.test_renewals import ce_file

    school = Institution.objects.get(name="泉州示例建筑职业培训学校")
    data = ce_file(certificate, ("线下", 8, TODAY - timedelta(days=3)))
    with pytest.raises(DomainError, match="请选择继续教育机构"):
        services.ce_import(actor=authority_staff, data=data, filename="ce.xlsx")
    with pytest.raises(DomainError, match="不是您管辖范围内的继续教育机构"):
        services.ce_import(
            actor=other_authority_staff, data=data, filename="ce.xlsx", provider=school
        )
    assert not ContinuingEducation.objects.exists()

    login(client, authority_staff)
    page = client.get("/admin/renewals/continuingeducation/import/").content.decode()
    assert 'name="provider"' in page and "泉州示例建筑职业培训学校" in page
    assert "宁波" not in page  # only the providers of its scope are offered
    response = client.post(
        "/admin/renewals/continuingeducation/import/",
        {"provider": school.pk, "file": SimpleUploadedFile("ce.xlsx", data)},
    )
    assert response.status_code == 302
    record = ContinuingEducation.objects.get()
    assert record.provider == school and record.hours == 8


@pytest.mark.django_db
def test_a_providers_own_staff_import_without_naming_a_provider(client, ce_staff, certificate):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.renewals.test_renewals import ce_file

    login(client, ce_staff)
    page = client.get("/admin/renewals/continuingeducation/import/").content.decode()
    assert 'name="provider"' not in page
    data = ce_file(certificate, ("线上", 4, TODAY - timedelta(days=2)))
    response = client.post(
        "/admin/renewals/continuingeducation/import/",
        {"file": SimpleUploadedFile("ce.xlsx", data)},
    )
    assert response.status_code == 302
    assert ContinuingEducation.objects.get().provider == ce_staff.staff_membership.institution
