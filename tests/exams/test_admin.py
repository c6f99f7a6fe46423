import pytest
from django.contrib.auth.models import Group
from django.http import HttpRequest

from certportal import roles
from exams.models import Institution
from tests.factories import PASSWORD


@pytest.mark.django_db
def test_roles_exist_with_their_permissions():
    authority = Group.objects.get(name=roles.AUTHORITY_STAFF)
    codenames = set(authority.permissions.values_list("codename", flat=True))
    assert {"view_trade", "view_authority", "change_policy"} <= codenames
    assert not Group.objects.get(name=roles.APPLICANT).permissions.exists()


@pytest.mark.django_db
def test_authority_staff_logs_into_admin_and_reads_reference_data_in_chinese(
    client, authority_staff
):
    assert client.login(request=HttpRequest(), username=authority_staff.username, password=PASSWORD)
    index = client.get("/admin/").content.decode()
    assert "工种（操作类别）" in index and "发证机关" in index
    trades = client.get("/admin/exams/trade/").content.decode()
    assert "建筑起重机械司机（塔式起重机）" in trades and "4T" in trades
    assert client.get("/admin/exams/trade/1/change/").status_code == 200


@pytest.mark.django_db
def test_authority_staff_sees_only_institutions_of_its_scope(client, authority_staff):
    client.login(request=HttpRequest(), username=authority_staff.username, password=PASSWORD)
    page = client.get("/admin/exams/institution/").content.decode()
    assert "泉州市住建行业中介服务中心" in page
    assert "宁波示例建设工程考核中心" not in page
    ningbo_row = Institution.objects.get(name="宁波示例建设工程考核中心")
    assert client.get(f"/admin/exams/institution/{ningbo_row.pk}/change/").status_code == 302


@pytest.mark.django_db
def test_institution_staff_cannot_change_policies_or_see_audit(client, institution_staff):
    client.login(request=HttpRequest(), username=institution_staff.username, password=PASSWORD)
    assert client.get("/admin/exams/policy/").status_code == 403
    assert client.get("/admin/certportal/auditevent/").status_code == 403


@pytest.mark.django_db
def test_applicant_cannot_enter_the_admin(client, applicant):
    client.login(request=HttpRequest(), username=applicant.username, password=PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
