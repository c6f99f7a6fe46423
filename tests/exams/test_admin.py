import re

import pytest
from django.contrib.auth.models import Group
from django.http import HttpRequest

from certportal import roles
from certportal.errors import DomainError
from exams import services
from exams.models import Institution
from tests.factories import PASSWORD


@pytest.mark.django_db
def test_roles_exist_with_their_permissions():
    authority = Group.objects.get(name=roles.AUTHORITY_STAFF)
    codenames = set(authority.permissions.values_list("codename", flat=True))
    assert {"view_trade", "view_authority", "change_policy"} <= codenames
    assert not Group.objects.get(name=roles.APPLICANT).permissions.exists()


@pytest.mark.django_db
def test_every_role_holds_exactly_the_permissions_it_is_given():
    """After every migration: a permission named in ROLE_PERMISSIONS whose model came later
    than the last sync_roles would be silently missing (staff then find a page hidden)."""
    for role, names in roles.ROLE_PERMISSIONS.items():
        held = {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=role).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == set(names), (role, sorted(set(names) ^ held))


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


def session_form(crane, centre, **changes):
    return {
        "name": "2026年第4期塔吊考核",
        "trade": crane.pk,
        "assessment_institution": centre.pk,
        "theory_at_0": "2026-12-20",
        "theory_at_1": "09:00:00",
        "practical_at_0": "2026-12-21",
        "practical_at_1": "09:00:00",
        "venue": "泉州市丰泽区考点",
        "capacity": "30",
        "applications-TOTAL_FORMS": "0",
        "applications-INITIAL_FORMS": "0",
        **changes,
    }


@pytest.mark.django_db
def test_a_plan_offers_only_the_trades_its_authority_examines(
    client, assessor, other_institution_staff
):
    fujian_only = "高处作业吊篮操作工"  # a Fujian code-99 trade
    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    page = client.get("/admin/exams/examsession/add/").content.decode()
    assert fujian_only in page and "建筑起重机械司机（塔式起重机）" in page
    client.logout()
    login = other_institution_staff.username  # Ningbo (Zhejiang)
    assert client.login(request=HttpRequest(), username=login, password=PASSWORD)
    page = client.get("/admin/exams/examsession/add/").content.decode()
    assert fujian_only not in page and "建筑起重机械司机（塔式起重机）" in page


@pytest.mark.django_db
def test_an_absurd_capacity_is_refused_on_the_form_not_a_server_error(
    client, assessor, crane, centre
):
    from exams.models import ExamSession

    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    for capacity in ("99999999999999999999", "10001"):
        response = client.post(
            "/admin/exams/examsession/add/", session_form(crane, centre, capacity=capacity)
        )
        assert response.status_code == 200
        assert "容量不能超过 10000 人" in response.content.decode()
    assert not ExamSession.objects.exists()


@pytest.mark.django_db
def test_a_draft_plan_saved_twice_can_be_deleted_by_its_planner_and_no_other(
    client, assessor, authority_staff, other_institution_staff, crane, centre
):
    """The back button resubmitted the form: two identical drafts, and plans had no delete."""
    from certportal.models import AuditEvent
    from exams import services
    from exams.models import ExamSession

    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    for _ in range(2):
        client.post("/admin/exams/examsession/add/", session_form(crane, centre))
    first, second = ExamSession.objects.order_by("pk")
    page = client.get(f"/admin/exams/examsession/{second.pk}/change/").content.decode()
    assert f"/admin/exams/examsession/{second.pk}/delete/" in page
    # Who made it is shown as text (the user's admin page is for superusers only).
    assert "/admin/applicants/user/" not in page
    response = client.post(f"/admin/exams/examsession/{second.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert list(ExamSession.objects.all()) == [first]
    event = AuditEvent.objects.get(action="exams.session.deleted")
    assert event.data["name"] == "2026年第4期塔吊考核"

    client.logout()
    other = other_institution_staff.username
    assert client.login(request=HttpRequest(), username=other, password=PASSWORD)
    assert client.post(
        f"/admin/exams/examsession/{first.pk}/delete/", {"post": "yes"}
    ).status_code in (302, 403, 404)
    assert ExamSession.objects.filter(pk=first.pk).exists()

    services.session_submit(session=first, actor=assessor)
    client.logout()
    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    page = client.get(f"/admin/exams/examsession/{first.pk}/change/").content.decode()
    assert f"/admin/exams/examsession/{first.pk}/delete/" not in page
    assert (
        client.post(f"/admin/exams/examsession/{first.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ExamSession.objects.filter(pk=first.pk).exists()
    with pytest.raises(DomainError, match="只有草稿状态的考试计划可以删除"):
        services.session_delete(session=first, actor=assessor)


@pytest.mark.django_db
def test_training_staff_are_not_offered_what_only_assessment_staff_may_do(
    client, trainer, assessor, scheduled
):
    """Placing candidates on a plan and entering its scores are the assessment institution's
    (or the authority's): offered to a training school, both were refused on use."""
    from exams.models import ExamSession

    ExamSession.objects.filter(pk=scheduled.session_id).update(
        training_institution=trainer.staff_membership.institution
    )
    session_page = f"/admin/exams/examsession/{scheduled.session_id}/change/"
    import_link = f"/admin/exams/examsession/{scheduled.session_id}/import-scores/"

    assert client.login(request=HttpRequest(), username=trainer.username, password=PASSWORD)
    listing = client.get("/admin/exams/examapplication/").content.decode()
    assert 'value="approve"' in listing and 'value="assign_to_session"' not in listing
    page = client.get(session_page)
    assert page.status_code == 200
    assert import_link not in page.content.decode()
    client.logout()

    assert client.login(request=HttpRequest(), username=assessor.username, password=PASSWORD)
    listing = client.get("/admin/exams/examapplication/").content.decode()
    assert 'value="assign_to_session"' in listing
    assert import_link in client.get(session_page).content.decode()


@pytest.mark.django_db
def test_a_city_reads_the_provincial_policy_that_governs_it_but_cannot_change_it(
    client, authority_staff
):
    from exams.models import Policy

    fujian = Policy.objects.get(authority_id=350000)
    assert client.login(
        request=HttpRequest(), username=authority_staff.username, password=PASSWORD
    )  # Quanzhou, a city of Fujian, without a policy of its own
    listing = client.get("/admin/exams/policy/").content.decode()
    assert "福建省住房和城乡建设厅" in listing
    page = client.get(f"/admin/exams/policy/{fujian.pk}/change/")
    assert page.status_code == 200 and 'name="theory_pass_mark"' not in page.content.decode()
    posted = client.post(f"/admin/exams/policy/{fujian.pk}/change/", {"theory_pass_mark": "50"})
    assert posted.status_code == 403
    fujian.refresh_from_db()
    assert fujian.theory_pass_mark == 60


@pytest.mark.django_db
def test_two_provinces_may_each_have_a_trade_of_the_same_name(client, superuser):
    """SPEC 2: a province's own trades (code 99) carry their own names; Fujian's
    建筑起重机械维修工 did not let Zhejiang certify one of that name."""
    from django.db import IntegrityError, transaction

    from exams.models import Trade

    assert client.login(request=HttpRequest(), username=superuser.username, password=PASSWORD)
    form = {"code": "99", "old_code": "", "name": "建筑起重机械维修工", "authority": 330000}
    form["is_active"] = "on"
    assert client.post("/admin/exams/trade/add/", form).status_code == 302
    assert Trade.objects.filter(name="建筑起重机械维修工").count() == 2

    again = client.post("/admin/exams/trade/add/", form)  # the same province twice: refused
    assert again.status_code == 200 and Trade.objects.filter(name="建筑起重机械维修工").count() == 2
    national = {**form, "name": "建筑起重机械司机（塔式起重机）"}
    page = client.post("/admin/exams/trade/add/", national).content.decode()
    assert "已有同名的全国统一工种" in page
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.create(code="99", name="建筑起重机械司机（塔式起重机）", authority=None)


@pytest.mark.django_db
def test_a_training_institution_reads_no_score_before_publication(client, trainer, scheduled):
    """The session's page already hid them; the application's page, the list's filters in the
    address and the Excel export did not."""
    import io

    from openpyxl import load_workbook

    from exams.models import ExamApplication, ExamSession

    ExamApplication.objects.filter(pk=scheduled.pk).update(theory_score=55)
    page = f"/admin/exams/examapplication/{scheduled.pk}/change/"
    assert client.login(request=HttpRequest(), username=trainer.username, password=PASSWORD)

    body = client.get(page).content.decode()
    # Neither the field nor its value: "55" alone also turns up in a random CSRF token.
    assert "理论成绩" not in body and "theory_score" not in body
    shown = re.compile(r">\s*55(\.0+)?\s*<|value=\"55")
    assert not shown.search(body)
    # Filtering by score in the address would tell it row by row (refused, as it cannot be
    # told apart per session).
    probe = client.get("/admin/exams/examapplication/", {"theory_score__lt": "60"})
    assert probe.status_code == 400

    def exported_scores():
        response = client.post(
            "/admin/exams/examapplication/",
            {"action": "export_xlsx", "_selected_action": [scheduled.pk]},
        )
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        header = next(i for i, row in enumerate(rows) if "理论成绩" in row)
        column = rows[header].index("理论成绩")
        return rows[header + 1][column]

    assert exported_scores() == "未公布"

    ExamSession.objects.filter(pk=scheduled.session_id).update(
        status=ExamSession.Status.SCORES_PUBLISHED
    )
    published = client.get(page).content.decode()
    assert "理论成绩" in published and shown.search(published)
    assert exported_scores() == 55


def session_actions(user):
    from django.contrib import admin

    from exams.models import ExamSession

    request = HttpRequest()
    request.user = user
    request.method = "GET"
    return set(admin.site._registry[ExamSession].get_actions(request))


def test_session_actions_offered_are_those_the_member_may_take(
    client, session, trainer, assessor, authority_staff
):
    # A training institution plans and submits; it neither approves, publishes nor places.
    assert {"approve", "publish", "assign"}.isdisjoint(session_actions(trainer))
    assert "submit" in session_actions(trainer)
    names = session_actions(assessor)  # an assessment institution also places candidates
    assert "assign" in names and {"approve", "publish"}.isdisjoint(names)
    assert {"approve", "publish", "assign"} <= session_actions(authority_staff)
    # As the list page offers them.
    client.force_login(assessor)
    page = client.get("/admin/exams/examsession/").content.decode()
    assert 'value="assign"' in page and 'value="approve"' not in page


def test_placing_nobody_is_not_reported_as_a_success(
    client, scheduled, assessor, django_capture_on_commit_callbacks
):
    """The only approved candidate is already placed: a second run says nobody was placed,
    without "成功"."""
    client.force_login(assessor)
    response = client.post(
        "/admin/exams/examsession/",
        {"action": "assign", "_selected_action": [scheduled.session.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "没有待安排的审核通过考生，未安排任何人。" in page
    assert "成功" not in page and "安排 0 人" not in page


@pytest.mark.parametrize("capacity", ["-5", "0"])
def test_a_capacity_below_one_is_refused_in_one_sentence(authority_staff, capacity):
    from django.contrib import admin

    from exams.models import ExamSession

    request = HttpRequest()
    request.user = authority_staff
    request.method = "POST"
    form_class = admin.site._registry[ExamSession].get_form(request)
    form = form_class(data={"capacity": capacity})
    assert form.errors["capacity"] == ["容量至少为 1 人。"]


def test_an_institution_sees_the_full_id_number_only_while_it_reviews(
    client, submitted, trainer, assessor, authority_staff
):
    """SPEC 2: the number in full only to staff who need it. The training institution's
    reviewer compares it with the ID card scan while the application waits for its review;
    once it has decided, and for the assessment centre always, the number is masked
    (application and profile pages); the authority's staff see it whole."""
    application = submitted
    profile = application.applicant.profile
    full, masked = profile.id_number, profile.masked_id_number
    pages = (
        f"/admin/exams/examapplication/{application.pk}/change/",
        f"/admin/applicants/profile/{profile.pk}/change/",
    )

    def shown(user):
        client.force_login(user)
        found = []
        for url in pages:
            page = client.get(url).content.decode()
            assert page.count(full) + page.count(masked) >= 1, url
            found.append(full in page)
        return found

    assert shown(trainer) == [True, True]
    assert shown(assessor) == [False, False]  # the assessment centre reviews nothing
    assert shown(authority_staff) == [True, True]

    services.application_institution_approve(application=application, actor=trainer)
    assert shown(trainer) == [False, False]  # its review is done
    assert shown(authority_staff) == [True, True]


def test_a_workers_account_cannot_be_given_a_staff_scope(client, superuser, applicant, quanzhou):
    client.force_login(superuser)
    response = client.post(
        "/admin/exams/staffmembership/add/",
        {"user": applicant.pk, "authority": quanzhou.pk, "institution": ""},
    )
    assert response.status_code == 200
    assert "不能设置工作人员归属" in response.content.decode()
    from exams.models import StaffMembership

    assert not StaffMembership.objects.filter(user=applicant).exists()

    # A staff account without a scope takes one.
    from tests.factories import user_factory

    clerk = user_factory(role=roles.AUTHORITY_STAFF, username="clerk", is_staff=True)
    response = client.post(
        "/admin/exams/staffmembership/add/",
        {"user": clerk.pk, "authority": quanzhou.pk, "institution": ""},
    )
    assert response.status_code == 302
    assert StaffMembership.objects.get(user=clerk).authority == quanzhou


def test_applications_are_found_by_the_applicants_id_number(
    client, submitted, authority_staff, other_authority_staff
):
    """Posted, never in an address; in the member's scope only; a mistyped number is said."""
    number = submitted.applicant.profile.id_number
    client.force_login(authority_staff)
    page = client.get("/admin/exams/examapplication/").content.decode()
    assert 'action="/admin/exams/examapplication/find-by-id/"' in page
    response = client.post("/admin/exams/examapplication/find-by-id/", {"id_number": number})
    assert response["Location"] == f"/admin/exams/examapplication/{submitted.pk}/change/"
    assert number not in response["Location"]

    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    page = client.post(
        "/admin/exams/examapplication/find-by-id/", {"id_number": wrong}, follow=True
    ).content.decode()
    assert "校验码" in page and wrong not in page

    client.force_login(other_authority_staff)  # another city's staff: not in their scope
    page = client.post(
        "/admin/exams/examapplication/find-by-id/", {"id_number": number}, follow=True
    ).content.decode()
    assert "未找到该身份证号码的报名" in page
    assert client.get("/admin/exams/examapplication/find-by-id/").status_code == 405


def test_a_reviewer_decides_from_the_applications_own_page(
    client, submitted, trainer, assessor, authority_staff
):
    """approve, return and reject are offered on the page where the materials are read, to
    whoever takes the review it waits for, and they act as the list's actions do (a return
    asks for its reason first)."""
    url = f"/admin/exams/examapplication/{submitted.pk}/change/"

    def offered(user):
        client.force_login(user)
        return re.findall(r'name="action" value="([a-z_]+)"', client.get(url).content.decode())

    assert offered(assessor) == []  # the assessment centre reviews nothing
    assert offered(authority_staff) == []  # waits for the training institution first
    assert offered(trainer) == ["approve", "return_for_correction", "reject"]
    form = {"action": "return_for_correction", "index": "0", "_selected_action": submitted.pk}
    reason_page = client.post("/admin/exams/examapplication/", form).content.decode()
    assert 'name="reason"' in reason_page
    response = client.post(
        "/admin/exams/examapplication/",
        {**form, "apply": "1", "reason": "身份证复印件不清晰，请重新上传"},
        follow=True,
    )
    submitted.refresh_from_db()
    assert submitted.status == "returned"
    assert "退回补正：成功 1 条" in response.content.decode()
    assert offered(trainer) == []  # decided: nothing more to decide on the page


def test_the_authority_decides_from_the_page_once_the_school_has(
    client, institution_approved, trainer, authority_staff
):
    url = f"/admin/exams/examapplication/{institution_approved.pk}/change/"
    client.force_login(trainer)
    assert 'name="action"' not in client.get(url).content.decode()
    client.force_login(authority_staff)
    page = client.get(url).content.decode()
    assert 'name="action" value="approve"' in page


def test_an_application_page_with_a_malformed_number_is_not_found(client, trainer):
    client.force_login(trainer)
    response = client.get("/admin/exams/examapplication/abc/change/", follow=True)
    # Django's way: back to the admin's index, saying the record does not exist.
    assert response.redirect_chain and "不存在" in response.content.decode()
