"""Staff enter records in the admin; the services' refusals come back on the form."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from certportal.errors import DomainError
from certportal.imports import ImportRefused
from certportal.models import AuditEvent
from exams.models import Authority
from renewals.models import ConductRecord, ContinuingEducation
from tests.admin_lists import filter_choices
from tests.factories import PASSWORD, staff_factory

from .fixtures import TODAY, expiring


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
    record = ContinuingEducation.objects.get()
    assert record.hours == 8

    # Its page, read afterwards, masks the number as the list does.
    page = client.get(f"/admin/renewals/continuingeducation/{record.pk}/change/").content.decode()
    assert record.masked_id_number in page and certificate.holder_name in page
    assert certificate.holder_id_number not in page


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
        "certificate": certificate.number,
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


@pytest.mark.django_db
def test_conduct_record_is_entered_by_certificate_number_within_the_staffs_scope(
    client, authority_staff, other_authority_staff, certificate
):
    """Staff have the number on paper, not the database id; another authority's certificate
    is not found, and nothing is saved."""
    form = {
        "certificate": certificate.pk,
        "kind": "violation",
        "occurred_on": (TODAY - timedelta(days=1)).isoformat(),
        "description": "未按规定佩戴安全帽作业",
    }
    login(client, other_authority_staff)
    form["certificate"] = certificate.number
    page = client.post("/admin/renewals/conductrecord/add/", form).content.decode()
    assert f"未找到证书编号“{certificate.number}”" in page
    assert not ConductRecord.objects.exists()

    login(client, authority_staff)
    form["certificate"] = str(certificate.pk)
    page = client.post("/admin/renewals/conductrecord/add/", form).content.decode()
    assert "未找到证书编号" in page and not ConductRecord.objects.exists()

    form["certificate"] = f" {certificate.number.lower()} "
    assert client.post("/admin/renewals/conductrecord/add/", form).status_code == 302
    listing = client.get("/admin/renewals/conductrecord/").content.decode()
    assert certificate.number in listing and certificate.holder_name in listing


@pytest.mark.django_db
def test_a_conduct_record_sent_twice_is_kept_once(client, authority_staff, certificate):
    """The back button and a second click sent the same form again: three copies of one
    violation were three violations, enough to refuse a renewal."""
    login(client, authority_staff)
    form = {
        "certificate": certificate.number,
        "kind": "violation",
        "occurred_on": (TODAY - timedelta(days=1)).isoformat(),
        "description": "高处作业未系安全带",
    }
    assert client.post("/admin/renewals/conductrecord/add/", form).status_code == 302
    again = client.post("/admin/renewals/conductrecord/add/", form)
    assert again.status_code == 200
    assert "不能重复录入" in again.content.decode()
    assert ConductRecord.objects.count() == 1

    form["description"] = "高处作业未系安全带（下午第二次）"
    assert client.post("/admin/renewals/conductrecord/add/", form).status_code == 302
    assert ConductRecord.objects.count() == 2


def void_action(client, url, record, reason):
    return client.post(
        url,
        {
            "action": "void",
            "_selected_action": [record.pk],
            "apply": "1",
            "reason": reason,
        },
        follow=True,
    )


@pytest.mark.django_db
def test_an_accident_record_entered_in_error_is_voided_and_no_longer_bars_renewal(
    client, authority_staff, other_authority_staff, certificate
):
    from certportal.models import Notice
    from renewals import services
    from renewals.rules import accidents

    certificate = expiring(certificate)
    record = services.conduct_record_create(
        actor=authority_staff,
        certificate=certificate,
        kind="accident",
        occurred_on=TODAY - timedelta(days=5),
        description="塔吊倾覆事故负有责任",
    )
    assert accidents(certificate) == 1
    url = "/admin/renewals/conductrecord/"

    login(client, other_authority_staff)  # not this certificate's authority: not even listed
    void_action(client, url, record, "录错证书")
    record.refresh_from_db()
    assert not record.is_voided

    login(client, authority_staff)
    page = void_action(client, url, record, "持证人350503198912051074录错").content.decode()
    assert "原因中不要填写身份证号码" in page and "持证人350503198912051074录错" in page
    record.refresh_from_db()
    assert not record.is_voided

    page = void_action(client, url, record, "录入错误：证书编号填错").content.decode()
    assert "作废违章与事故记录：成功 1 条。" in page
    record.refresh_from_db()
    assert record.is_voided and record.voided_by == authority_staff
    assert record.void_reason == "录入错误：证书编号填错"
    assert accidents(certificate) == 0
    assert AuditEvent.objects.filter(action="renewals.conduct.voided", object_id=str(record.pk))
    notice = Notice.objects.filter(user=certificate.holder).order_by("-pk").first()
    assert "已作废" in notice.title and "证书编号填错" in notice.body

    page = void_action(client, url, record, "再次作废").content.decode()
    assert "该记录已于" in page and "作废，未变更。" in page
    record.refresh_from_db()
    assert record.void_reason == "录入错误：证书编号填错"
    assert "已作废（录入错误：证书编号填错）" in client.get(url).content.decode()

    # The holder's renewal page no longer lists it.
    client.force_login(certificate.holder)
    page = client.get(f"/me/certificates/{certificate.pk}/renewal/").content.decode()
    assert "塔吊倾覆事故负有责任" not in page


@pytest.mark.django_db
def test_ce_hours_voided_by_the_provider_stop_counting_and_may_be_entered_again(
    client, ce_staff, assessor, certificate
):
    from renewals import services
    from renewals.rules import ce_hours

    certificate = expiring(certificate)

    def enter(hours):
        return services.ce_record_create(
            actor=ce_staff,
            name=certificate.holder_name,
            id_number=certificate.holder_id_number,
            mode="offline",
            hours=hours,
            completed_on=TODAY - timedelta(days=3),
            course="塔式起重机安全操作",
        )

    record = enter(30)
    assert ce_hours(certificate) == 30
    with pytest.raises(DomainError, match="只有提供这条继续教育的机构或其发证机关的工作人员"):
        services.ce_record_void(record=record, actor=assessor, reason="学时录错")

    login(client, ce_staff)
    page = void_action(
        client, "/admin/renewals/continuingeducation/", record, "学时录错，应为 8 学时"
    ).content.decode()
    assert "作废继续教育记录：成功 1 条。" in page
    assert ce_hours(certificate) == 0
    from certportal.models import Notice

    notice = Notice.objects.filter(user=certificate.holder).order_by("-pk").first()
    assert notice.title == "继续教育记录已作废" and "应为 8 学时" in notice.body
    corrected = enter(8)  # the same person, day and course: allowed once the wrong one is void
    assert ce_hours(certificate) == 8 and corrected.pk != record.pk


@pytest.mark.django_db
def test_ce_record_whose_name_is_not_the_id_numbers_holder_is_refused(
    ce_staff, superuser, certificate
):
    """A mistyped ID number would credit the hours to someone else: the name the provider
    gives must be the one the portal knows for that number (without saying which)."""
    from renewals import services
    from tests.renewals.test_renewals import ce_xlsx

    with pytest.raises(ValidationError) as refused:
        services.ce_record_create(
            actor=ce_staff,
            name="张三丰",
            id_number=certificate.holder_id_number,
            mode="online",
            hours=8,
            completed_on=TODAY - timedelta(days=3),
        )
    assert "姓名与该身份证号码持证人的姓名不一致" in str(refused.value)
    assert certificate.holder_name not in str(refused.value)

    number = certificate.holder_id_number
    data = ce_xlsx(
        [
            [certificate.holder_name, number, "线上", 8, TODAY - timedelta(days=3)],
            ["张三丰", number, "线上", 30, TODAY - timedelta(days=2)],
        ]
    )
    with pytest.raises(ImportRefused) as refused:
        services.ce_import(actor=ce_staff, data=data, filename="ce.xlsx")
    # The row naming someone else, not the good row of the same number.
    assert [(e.row, e.column) for e in refused.value.errors] == [(3, "姓名")]
    assert not ContinuingEducation.objects.exists()

    # A provider of another province learns nothing of this holder: taken as given.
    from exams.models import Institution

    ningbo = Institution.objects.get(name="宁波示例建设工程考核中心")
    Institution.objects.filter(pk=ningbo.pk).update(offers_continuing_education=True)
    record = services.ce_record_create(
        actor=superuser,
        name="张三丰",
        id_number=number,
        mode="online",
        hours=8,
        completed_on=TODAY - timedelta(days=3),
        provider=ningbo,
    )
    assert record.holder_name == "张三丰"


def test_a_decided_renewal_shows_no_deadline_in_the_list(
    client, submitted_renewal, authority_staff
):
    import re

    from renewals import services as renewal_services

    def deadlines():
        page = client.get("/admin/renewals/renewalapplication/").content.decode()
        return re.findall(r'<td class="field-(?:refuse_by|approve_by)[^"]*">([^<]*)<', page)

    client.force_login(authority_staff)
    waiting = deadlines()
    assert len(waiting) == 2 and all(re.search(r"\d", cell) for cell in waiting)
    renewal_services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    assert deadlines() == ["已办结", "已办结"]


@pytest.mark.django_db
def test_ce_records_are_filtered_by_the_year_they_were_completed(client, ce_staff, certificate):
    from renewals import services

    def enter(days_ago, course):
        return services.ce_record_create(
            actor=ce_staff,
            name=certificate.holder_name,
            id_number=certificate.holder_id_number,
            mode="offline",
            hours=8,
            completed_on=TODAY - timedelta(days=days_ago),
            course=course,
        )

    recent, older = enter(3, "塔式起重机安全操作"), enter(800, "起重吊装基础")
    login(client, ce_staff)
    changelist = "/admin/renewals/continuingeducation/"
    page = client.get(changelist)
    years = filter_choices(page, "completed_on_year")
    first, last = older.completed_on.year, recent.completed_on.year
    assert years == ["全部"] + [f"{year} 年" for year in range(last, first - 1, -1)]
    in_first = client.get(changelist, {"completed_on_year": str(first)})
    assert list(in_first.context["cl"].result_list) == [older]
    for not_a_year in ("20x9", "1", "99999"):
        assert (
            client.get(changelist, {"completed_on_year": not_a_year}).context["cl"].result_count
            == 0
        )
    client.logout()

    # A province's staff choose among the providers under its authorities (a city's staff,
    # with one provider, have no choice to make).
    login(client, staff_factory(authority=Authority.objects.get(pk=350000)))
    page = client.get(changelist)
    assert filter_choices(page, "provider") == [
        "全部",
        "福建示例建设从业人员继续教育平台",
        "泉州示例建筑职业培训学校",
    ]
