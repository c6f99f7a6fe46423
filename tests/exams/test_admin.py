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


@pytest.mark.django_db
def test_a_refused_session_form_shows_the_reason_and_saves_nothing(client, assessor, crane, centre):
    """The session service refuses (practical before theory): the form comes back with the
    message and what was typed, no session and no audit event — not a server error."""
    from certportal.models import AuditEvent
    from exams.models import ExamSession

    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    form = {
        "name": "2026年第4期塔吊考核",
        "trade": crane.pk,
        "assessment_institution": centre.pk,
        "theory_at_0": "2026-12-20",
        "theory_at_1": "09:00:00",
        "practical_at_0": "2026-12-19",
        "practical_at_1": "09:00:00",
        "venue": "泉州市丰泽区考点",
        "capacity": "30",
        "applications-TOTAL_FORMS": "0",
        "applications-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/exams/examsession/add/", form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "实操考核时间不能早于理论考核时间。" in page
    assert "2026年第4期塔吊考核" in page
    assert not ExamSession.objects.exists()
    assert not AuditEvent.objects.filter(action="exams.session.created").exists()

    form["practical_at_0"] = "2026-12-21"
    response = client.post("/admin/exams/examsession/add/", form)
    assert response.status_code == 302
    assert ExamSession.objects.count() == 1
    assert AuditEvent.objects.filter(action="exams.session.created").count() == 1


def change_form_data(html: str) -> dict[str, str]:
    """What the browser would post back from an admin change form, unchanged."""
    from html.parser import HTMLParser

    data: dict[str, str] = {}

    class Form(HTMLParser):
        select = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button"):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        data[name] = a.get("value", "on")
                else:
                    data[name] = a.get("value") or ""
            elif tag == "select" and name:
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                data[self.select] = a.get("value", "")

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None

    Form().feed(html)
    data.pop("csrfmiddlewaretoken", None)
    return data


@pytest.mark.django_db
def test_inline_scores_a_refused_row_keeps_the_whole_form_unsaved(client, assessor, scheduled):
    """Scores typed in the session page: a refused row (absent with a score) shows its reason
    and no row is saved; corrected, all rows are saved (and the page is no server error)."""
    from tests.exams.fixtures import bulk_scheduled, hold

    passed = scheduled
    session = scheduled.session
    other = bulk_scheduled(session, 1)[0][0]
    hold(session)
    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    url = f"/admin/exams/examsession/{session.pk}/change/"
    data = change_form_data(client.get(url).content.decode())
    rows = {data[f"applications-{i}-id"]: i for i in range(int(data["applications-TOTAL_FORMS"]))}
    mine, theirs = rows[str(passed.pk)], rows[str(other.pk)]
    data[f"applications-{mine}-theory_score"] = "60"
    data[f"applications-{theirs}-theory_score"] = "70"
    data[f"applications-{theirs}-absent"] = "on"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "缺考的考生不能有成绩。" in response.content.decode()
    passed.refresh_from_db()
    assert passed.theory_score != 60

    del data[f"applications-{theirs}-absent"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    passed.refresh_from_db()
    other.refresh_from_db()
    assert (passed.theory_score, other.theory_score) == (60, 70)


@pytest.mark.django_db
def test_scores_open_in_the_session_page_once_each_exam_has_begun(client, assessor, scheduled):
    """Before the theory exam the score columns are read-only and the page says when they
    open; between the exams only the theory score and absence may be typed."""
    from tests.exams.fixtures import hold

    session = scheduled.session
    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    url = f"/admin/exams/examsession/{session.pk}/change/"
    page = client.get(url).content.decode()
    assert "理论考核开始（" in page and "后方可录入成绩和缺考" in page
    assert not any(k.endswith("-theory_score") for k in change_form_data(page))

    hold(session, theory_days_ago=1, practical_days_ago=-1)
    page = client.get(url).content.decode()
    data = change_form_data(page)
    assert "后方可录入实操成绩" in page
    assert any(k.endswith("-theory_score") for k in data)
    assert not any(k.endswith("-practical_score") for k in data)

    hold(session)
    page = client.get(url).content.decode()
    assert 'id="scoring-opens"' not in page
    assert any(k.endswith("-practical_score") for k in change_form_data(page))
