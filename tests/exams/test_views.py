import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.utils import timezone

from certportal.models import AuditEvent
from exams import selectors, services
from exams.models import ExamApplication
from tests.applicants.corpus import good_pdf
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
A = ExamApplication.Status


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_applicant_creates_uploads_medical_sees_checks_and_submits(
    client, candidate, crane, centre, school
):
    login(client, candidate)
    response = client.post(
        "/me/applications/new/",
        {
            "trade": crane.pk,
            "assessment_institution": centre.pk,
            "training_institution": school.pk,
        },
    )
    application = ExamApplication.objects.get(applicant=candidate)
    assert response["Location"] == f"/me/applications/{application.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "报名条件核对" in page and "体检" in page
    response = client.post(
        f"/me/applications/{application.pk}/",
        {
            "action": "medical",
            "exam_date": timezone.localdate().isoformat(),
            "file": SimpleUploadedFile("m.pdf", good_pdf(), "application/pdf"),
        },
    )
    assert response.status_code == 302
    response = client.post(f"/me/applications/{application.pk}/", {"action": "submit"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == A.SUBMITTED
    assert "已提交" in client.get("/me/applications/").content.decode()


def test_submit_shows_every_failing_rule(client, crane, centre, school):
    from tests.exams.fixtures import make_candidate

    user = make_candidate(materials=False)
    login(client, user)
    client.post(
        "/me/applications/new/",
        {
            "trade": crane.pk,
            "assessment_institution": centre.pk,
            "training_institution": school.pk,
        },
    )
    application = ExamApplication.objects.get(applicant=user)
    client.post(
        f"/me/applications/{application.pk}/",
        {
            "action": "medical",
            "exam_date": timezone.localdate().isoformat(),
            "file": SimpleUploadedFile("m.pdf", good_pdf(), "application/pdf"),
        },
    )
    response = client.post(f"/me/applications/{application.pk}/", {"action": "submit"})
    assert response.status_code == 400
    assert "电子照片" in response.content.decode()
    application.refresh_from_db()
    assert application.status == A.DRAFT


def test_returned_reason_shown_to_the_applicant(client, submitted, trainer):
    from exams import services

    services.application_return(application=submitted, actor=trainer, reason="体检报告缺心电图")
    login(client, submitted.applicant)
    assert "体检报告缺心电图" in client.get(f"/me/applications/{submitted.pk}/").content.decode()


def test_other_applicant_and_anonymous_get_404(client, scheduled, other_applicant):
    urls = [f"/me/applications/{scheduled.pk}/", f"/me/applications/{scheduled.pk}/ticket.pdf"]
    assert client.get(urls[1]).status_code == 404
    login(client, other_applicant)
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(urls[0], {"action": "withdraw", "confirm": "on"}).status_code == 404
    scheduled.refresh_from_db()
    assert scheduled.status == A.SCHEDULED


def test_applicant_downloads_own_ticket(client, scheduled):
    login(client, scheduled.applicant)
    response = client.get(f"/me/applications/{scheduled.pk}/ticket.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_admin_scopes_applications_to_institution_and_authority(
    client, submitted, trainer, other_institution_staff, authority_staff, other_authority_staff
):
    change = f"/admin/exams/examapplication/{submitted.pk}/change/"
    for staff, sees in (
        (trainer, True),
        (authority_staff, True),
        (other_institution_staff, False),
        (other_authority_staff, False),
    ):
        client.logout()
        login(client, staff)
        listing = client.get("/admin/exams/examapplication/")
        assert listing.status_code == 200
        assert (f'href="{change}"' in listing.content.decode()) is sees, staff
        page = client.get(change)
        assert (page.status_code == 200) is sees, staff
        if sees:  # a read-only record: decisions are the list's actions, no 保存 button
            assert 'name="_save"' not in page.content.decode()


def test_admin_action_approve_and_reason_actions(client, submitted, trainer, authority_staff):
    login(client, trainer)
    response = client.post(
        "/admin/exams/examapplication/",
        {
            "action": "approve",
            "_selected_action": [submitted.pk],
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == A.INSTITUTION_APPROVED
    client.logout()
    login(client, authority_staff)
    page = client.post(
        "/admin/exams/examapplication/",
        {
            "action": "return_for_correction",
            "_selected_action": [submitted.pk],
        },
    )
    assert page.status_code == 200 and "原因" in page.content.decode()
    client.post(
        "/admin/exams/examapplication/",
        {
            "action": "return_for_correction",
            "_selected_action": [submitted.pk],
            "apply": "1",
            "reason": "学历证明不清晰",
        },
    )
    submitted.refresh_from_db()
    assert submitted.status == A.RETURNED and submitted.status_reason == "学历证明不清晰"


def action_messages(client, action, application, **extra):
    response = client.post(
        "/admin/exams/examapplication/",
        {"action": action, "_selected_action": [application.pk], **extra},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def test_repeating_a_review_decision_changes_nothing_and_is_not_called_forbidden(
    client, submitted, trainer, authority_staff
):
    login(client, authority_staff)
    shown = action_messages(client, "approve", submitted)
    assert any("该报名尚待培训机构初审" in m for m in shown), shown
    assert ExamApplication.objects.get(pk=submitted.pk).status == A.SUBMITTED
    client.logout()

    login(client, trainer)
    action_messages(client, "approve", submitted)
    shown = action_messages(client, "approve", submitted)  # again: nothing changes
    assert not any("无权" in m for m in shown), shown
    # ... and it is said so, not reported as a success.
    assert shown == [f"{submitted}：已是“培训机构初审通过”状态，未变更。"], shown
    assert ExamApplication.objects.get(pk=submitted.pk).status == A.INSTITUTION_APPROVED
    events = AuditEvent.objects.filter(action="exams.application.institution_approved")
    assert events.count() == 1

    client.logout()
    login(client, authority_staff)
    action_messages(client, "approve", submitted)
    client.logout()
    login(client, trainer)
    shown = action_messages(client, "approve", submitted)  # too late: refused for its state
    assert any("审核通过" in m and "无权" not in m for m in shown), shown

    client.logout()
    login(client, authority_staff)
    reason = {"apply": "1", "reason": "学历证明不清晰"}
    action_messages(client, "return_for_correction", submitted, **reason)
    client.logout()
    login(client, trainer)
    shown = action_messages(client, "return_for_correction", submitted, **reason)
    assert not any("无权" in m for m in shown), shown
    assert ExamApplication.objects.get(pk=submitted.pk).status == A.RETURNED
    # A second return with a new reason: the first stands, and staff are told nothing changed.
    shown = action_messages(
        client, "return_for_correction", submitted, apply="1", reason="照片不清晰"
    )
    assert any("已是“退回补正”状态，未变更。" in m for m in shown), shown
    assert not any("成功" in m for m in shown), shown
    assert ExamApplication.objects.get(pk=submitted.pk).status_reason == "学历证明不清晰"


def test_admin_detail_shows_materials_and_eligibility(client, submitted, trainer):
    login(client, trainer)
    page = client.get(f"/admin/exams/examapplication/{submitted.pk}/change/").content.decode()
    assert "报名条件核对" in page and "/staff/materials/" in page
    material = submitted.applicant.materials.get(kind="photo")
    assert client.get(f"/staff/materials/{material.pk}/thumb/").status_code == 200


def test_admin_detail_checks_eligibility_only_while_a_decision_is_pending(
    client, scheduled, assessor
):
    """A scheduled candidate whose medical certificate has grown old since approval shows no
    red ✗ for it: the rules were checked at submission and approval."""
    from datetime import timedelta

    from django.utils import timezone

    ExamApplication.objects.filter(pk=scheduled.pk).update(
        medical_exam_date=timezone.localdate() - timedelta(days=200)
    )
    login(client, assessor)
    page = client.get(f"/admin/exams/examapplication/{scheduled.pk}/change/").content.decode()
    assert "审核结束后不再按当前情况核对" in page
    assert "✗" not in page


def test_other_authority_staff_cannot_open_the_applicants_materials(
    client, submitted, other_authority_staff
):
    login(client, other_authority_staff)
    material = submitted.applicant.materials.get(kind="photo")
    assert client.get(f"/staff/materials/{material.pk}/file/").status_code == 404


def test_drafts_are_invisible_to_staff(client, draft, trainer, superuser):
    assert not selectors.applications_visible_to(trainer).filter(pk=draft.pk).exists()
    assert not selectors.applications_visible_to(superuser).filter(pk=draft.pk).exists()


def test_holder_of_the_same_trade_certificate_is_refused(draft):
    """The certificates app registers the real check; here the engine must consult it."""
    from exams.eligibility import failures

    def holds(applicant, trade):
        return applicant.pk == draft.applicant_id and trade.pk == draft.trade_id

    selectors.register_certificate_holding_check(holds)
    try:
        codes = [c.code for c in failures(selectors.eligibility_report(draft))]
    finally:
        selectors._certificate_holding_checks.remove(holds)
    assert codes == ["holds_certificate"]


def test_session_import_page_reports_rows(client, session, assessor):
    from tests.exams.fixtures import bulk_scheduled, hold
    from tests.exams.test_sessions import csv_bytes

    ((app, number),) = bulk_scheduled(session, 1)
    hold(session)
    login(client, assessor)
    bad = csv_bytes([[app.ticket_number, number, 120, "", ""]])
    response = client.post(
        f"/admin/exams/examsession/{session.pk}/import-scores/",
        {"file": SimpleUploadedFile("s.csv", bad, "text/csv")},
    )
    assert response.status_code == 400
    assert "import-errors" in response.content.decode()
    good = csv_bytes([[app.ticket_number, number, 88, 77, ""]])
    response = client.post(
        f"/admin/exams/examsession/{session.pk}/import-scores/",
        {"file": SimpleUploadedFile("s.csv", good, "text/csv")},
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.theory_score == 88


def test_session_import_page_refuses_scores_before_the_exam(client, session, assessor):
    from tests.exams.fixtures import bulk_scheduled
    from tests.exams.test_sessions import csv_bytes

    ((app, number),) = bulk_scheduled(session, 1)
    login(client, assessor)
    response = client.post(
        f"/admin/exams/examsession/{session.pk}/import-scores/",
        {"file": SimpleUploadedFile("s.csv", csv_bytes([[app.ticket_number, number, 88, 77, ""]]))},
    )
    assert "尚未开始，不能录入成绩或缺考" in response.content.decode()
    app.refresh_from_db()
    assert app.theory_score is None


def test_session_import_page_offers_the_error_report_as_csv(client, session, assessor):
    import csv
    import io

    from tests.exams.fixtures import bulk_scheduled, hold
    from tests.exams.test_sessions import csv_bytes

    ((app, number),) = bulk_scheduled(session, 1)
    hold(session)
    login(client, assessor)
    bad = csv_bytes([[app.ticket_number, number, 120, "", ""]])
    response = client.post(
        f"/admin/exams/examsession/{session.pk}/import-scores/",
        {"file": SimpleUploadedFile("s.csv", bad, "text/csv"), "report_csv": "on"},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["行号", "列", "错误"] and rows[1][:2] == ["2", "理论成绩"]
    app.refresh_from_db()
    assert app.theory_score is None


def test_a_ticket_that_cannot_be_drawn_is_recorded_shown_and_sent_again_by_staff(
    client,
    approved,
    session,
    assessor,
    other_institution_staff,
    private_media_root,
    django_capture_on_commit_callbacks,
):
    """A name with a character no installed font has: the render fails the same way each
    time, so it is recorded instead of retried every ten minutes. The applicant is told to
    contact the institution; staff see why, correct the name and send the ticket again."""
    from datetime import timedelta

    from applicants.models import Profile
    from certportal.models import AuditEvent
    from exams import services
    from exams.services.tickets import ticket_render, tickets_render_again

    # The name as submitted (and reviewed) is what the ticket prints.
    Profile.objects.filter(user=approved.applicant).update(name="王\U0010fffd")
    ExamApplication.objects.filter(pk=approved.pk).update(submitted_name="王\U0010fffd")
    with django_capture_on_commit_callbacks(execute=True):
        services.session_assign(session=session, actor=assessor, applications=[approved])
    approved.refresh_from_db()
    assert approved.status == A.SCHEDULED and not approved.ticket_pdf
    assert "U+10FFFD" in approved.ticket_error and "没有可用的字库" in approved.ticket_error
    assert not list(private_media_root.rglob("tickets/*"))
    ExamApplication.objects.filter(pk=approved.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert selectors.tickets_missing_ids() == []  # the sweep does not send it again

    login(client, approved.applicant)
    page = client.get(f"/me/applications/{approved.pk}/").content.decode()
    assert "准考证暂时无法生成" in page and approved.assessment_institution.name in page
    assert "U+10FFFD" not in page and "准考证正在生成" not in page
    client.logout()

    # Staff who cannot see the application cannot send it again, by the service either.
    assert tickets_render_again(applications=[approved], actor=other_institution_staff) == 0
    assert not AuditEvent.objects.filter(action="exams.ticket.render_again").exists()

    login(client, assessor)
    change = client.get(f"/admin/exams/examapplication/{approved.pk}/change/").content.decode()
    assert "准考证生成失败原因" in change and "U+10FFFD" in change
    Profile.objects.filter(user=approved.applicant).update(name="王小明")
    ExamApplication.objects.filter(pk=approved.pk).update(submitted_name="王小明")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/exams/examapplication/",
            {"action": "render_tickets_again", "_selected_action": [approved.pk]},
            follow=True,
        )
    assert "已重新提交 1 份准考证的生成" in response.content.decode()
    approved.refresh_from_db()
    assert approved.ticket_pdf and not approved.ticket_error
    sent = AuditEvent.objects.get(action="exams.ticket.render_again")
    assert sent.actor_id == assessor.pk and sent.object_id == str(approved.pk)
    assert "U+10FFFD" in sent.reason
    # A render that stores a ticket clears any failure left on the row.
    ExamApplication.objects.filter(pk=approved.pk).update(ticket_error="stale")
    ticket_render(application_pk=approved.pk, force=True)
    approved.refresh_from_db()
    assert approved.ticket_pdf and not approved.ticket_error
    change = client.get(f"/admin/exams/examapplication/{approved.pk}/change/").content.decode()
    assert "准考证生成失败原因" not in change
    response = client.post(
        "/admin/exams/examapplication/",
        {"action": "render_tickets_again", "_selected_action": [approved.pk]},
        follow=True,
    )
    assert "没有已安排考试、尚无准考证的" in response.content.decode()


def test_a_candidate_below_the_theory_mark_is_told_why_there_is_no_practical_score(
    client, scheduled, assessor, authority_staff
):
    from decimal import Decimal

    from tests.exams.fixtures import hold

    hold(scheduled.session)
    services.score_record(application=scheduled, actor=assessor, theory=Decimal(41), practical=None)
    services.session_publish_scores(session=scheduled.session, actor=authority_staff)
    client.force_login(scheduled.applicant)
    for url in ("/me/applications/", f"/me/applications/{scheduled.pk}/"):
        page = client.get(url).content.decode()
        assert "理论未达合格分，未参加实操考核" in page, url


def test_the_medical_date_help_follows_the_authoritys_policy(client, draft):
    from exams.models import Policy

    Policy.objects.create(authority=draft.authority, medical_max_age_months=6)
    client.force_login(draft.applicant)
    page = client.get(f"/me/applications/{draft.pk}/").content.decode()
    assert "须在近 6 个月内" in page and "须在近 3 个月内" not in page


def test_the_authority_returns_a_submitted_plan_from_the_admin_with_why(
    client, assessor, authority_staff, crane, centre
):
    from exams.models import ExamSession
    from tests.exams.fixtures import make_session

    session = make_session(assessor, crane, centre)
    services.session_submit(session=session, actor=assessor)
    login(client, authority_staff)
    url = "/admin/exams/examsession/"
    action = {"action": "return_to_draft", "_selected_action": [session.pk]}
    form = client.post(url, action).content.decode()
    assert "考试计划的制定人会看到这段文字" in form and "申报人会看到" not in form
    # The title once, and the way back to the list in the breadcrumbs.
    assert form.count("<h1>退回修改</h1>") == 1
    assert 'href="/admin/exams/examsession/">考试计划</a>' in form
    client.post(url, {**action, "apply": "1", "reason": "考点地址不完整"}, follow=True)
    session.refresh_from_db()
    assert session.status == ExamSession.Status.DRAFT
    # Returned again: said unchanged, the first reason kept.
    again = client.post(url, {**action, "apply": "1", "reason": "再次退回"}, follow=True)
    shown = [str(m) for m in again.context["messages"]]
    assert shown == [f"{session}：已是“草稿”状态，未变更。"], shown
    session.refresh_from_db()
    assert session.return_reason == "考点地址不完整"
    client.logout()
    login(client, assessor)
    page = client.get(f"{url}{session.pk}/change/").content.decode()
    assert "退回原因" in page and "考点地址不完整" in page


def test_withdrawing_an_application_asks_for_a_tick_first(client, submitted):
    """撤回 cannot be undone and sits under 提交报名 on a phone: one stray tap changes nothing."""
    login(client, submitted.applicant)
    url = f"/me/applications/{submitted.pk}/"
    assert "我已了解撤回后本次报名即终止" in client.get(url).content.decode()
    page = client.post(url, {"action": "withdraw"}, follow=True).content.decode()
    assert "请先勾选确认，再撤回报名。" in page
    submitted.refresh_from_db()
    assert submitted.status == A.SUBMITTED
    page = client.post(url, {"action": "withdraw", "confirm": "on"}, follow=True).content.decode()
    assert "报名已撤回。" in page
    submitted.refresh_from_db()
    assert submitted.status == A.WITHDRAWN
