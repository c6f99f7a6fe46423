import shutil
import subprocess

import pytest
from django.utils import timezone

from conftest import need
from exams.models import ExamApplication
from tests.applicants.corpus import good_pdf
from tests.e2e.conftest import admin_login, run_admin_action
from tests.exams.fixtures import make_candidate, make_session
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_apply_review_schedule_and_download_ticket(
    browser,
    live_server,
    tmp_path,
    screenshot,
    celery_eager,
    trainer,
    assessor,
    authority_staff,
    crane,
    centre,
    school,
):
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    worker = make_candidate(username="13977778888")
    session = make_session(assessor, crane, centre, approve_with=authority_staff)
    (tmp_path / "medical.pdf").write_bytes(good_pdf())

    applicant = browser.new_context(base_url=live_server.url, accept_downloads=True, locale="zh-CN")
    page = applicant.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", worker.profile.id_number)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/me/applications/new/")
    page.select_option("#id_trade", str(crane.pk))
    page.select_option("#id_assessment_institution", str(centre.pk))
    page.select_option("#id_training_institution", str(school.pk))
    page.get_by_role("button", name="创建报名草稿").click()
    page.wait_for_url("**/me/applications/*/")
    page.set_input_files("#medical input[type=file]", str(tmp_path / "medical.pdf"))
    page.fill("#medical input[type=date]", timezone.localdate().isoformat())
    page.locator("#medical").get_by_role("button", name="上传").click()
    page.wait_for_load_state()
    screenshot(page, "1-checks")
    page.locator("#submit-application").click()
    page.wait_for_load_state()
    assert page.get_by_text("报名已提交").is_visible()
    application = ExamApplication.objects.get(applicant=worker)

    for staff, action, expected in (
        (trainer, "approve", "institution_approved"),
        (authority_staff, "approve", "approved"),
    ):
        context = browser.new_context(base_url=live_server.url, locale="zh-CN")
        staff_page = context.new_page()
        admin_login(staff_page, staff.username, PASSWORD)
        run_admin_action(staff_page, "/admin/exams/examapplication/", application.pk, action)
        assert staff_page.locator(".messagelist .success").count() == 1
        application.refresh_from_db()
        assert application.status == expected
        if staff == authority_staff:
            run_admin_action(
                staff_page, "/admin/exams/examapplication/", application.pk, "assign_to_session"
            )
            staff_page.select_option("#id_session", str(session.pk))
            staff_page.get_by_role("button", name="确认").click()
            staff_page.wait_for_load_state()
            screenshot(staff_page, "2-scheduled")
        context.close()

    application.refresh_from_db()
    assert application.status == "scheduled" and application.ticket_pdf
    page.goto(f"/me/applications/{application.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载准考证（PDF）").click()
    path = tmp_path / "ticket.pdf"
    download_info.value.save_as(path)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert application.ticket_number in text and "王小明" in text
    screenshot(page, "3-ticket-ready")
    applicant.close()
