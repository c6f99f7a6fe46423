"""The whole life of a certificate as one story, every role in a real browser, every task on a
real Celery worker (in CI: PostgreSQL and Redis).

A worker registers, fills the profile, uploads materials and applies for 塔式起重机; the
training school and the authority approve; the assessment centre creates a session, the
authority approves it and schedules the worker, who downloads the admission ticket; the centre
imports the scores from an XLSX file and the authority publishes them and issues the batch; the
worker downloads the e-certificate, whose QR code (read by zbarimg) opens a page saying 有效.
Then the clock moves to the renewal window: the school imports the continuing-education hours,
the worker renews, the authority approves, the new PDF and the QR page show the new validity;
the authority revokes the certificate and the QR page says 吊销. Screenshots of each step are
kept under test-artifacts/.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook

from applicants.models import Profile
from certificates.models import BatchIssue, Certificate
from certportal.celery import app as celery_app
from conftest import need
from exams.models import ExamApplication, ExamSession
from renewals.models import RenewalApplication
from tests.applicants.conftest import ID_NUMBER
from tests.applicants.corpus import good_id_scan, good_pdf, good_photo
from tests.e2e.conftest import admin_login, run_admin_action
from tests.exams.fixtures import hold
from tests.factories import PASSWORD
from tests.integration.conftest import (  # noqa: F401 - fixtures
    celery_worker_process,
    real_services,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MOBILE = "13655556666"
WORKER_PASSWORD = "Worker-pass-2026"
NAME = "王小明"


def wait_until(predicate, what: str, worker=None):
    """Poll until ``predicate()`` is truthy (tasks run on the worker, not in this process)."""
    result = wait_for(predicate, timeout=90.0, interval=0.3)
    if not result:
        log = worker.output()[-4000:] if worker else ""
        pytest.fail(f"timed out waiting for {what}\n{log}")
    return result


def wait_rendered(certificate, what: str, worker):
    """Until the worker has rendered the certificate's current content."""
    certificate.refresh_from_db()
    wait_until(
        lambda: Certificate.objects.filter(
            pk=certificate.pk, pdf_version=certificate.content_version
        ).exists(),
        what,
        worker=worker,
    )


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def qr_path(pdf_path, tmp_path) -> str:
    """What a phone's camera reads: the PDF rasterised at 150 dpi, decoded by zbarimg."""
    stem = tmp_path / "scan"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", pdf_path, stem], check=True)
    link = subprocess.run(
        ["zbarimg", "--raw", "-q", f"{stem}.png"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert link.startswith(settings.SITE_URL + "/v/"), link
    return urlsplit(link).path


def cn(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class Story:
    """The browser contexts of the people in the story."""

    def __init__(self, browser, live_server, screenshot):
        self.browser = browser
        self.url = live_server.url
        self.screenshot = screenshot
        self.contexts = []

    def context(self, **options):
        context = self.browser.new_context(base_url=self.url, locale="zh-CN", **options)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    def staff(self, user):
        page = self.context()
        admin_login(page, user.username, PASSWORD)
        assert page.locator("#user-tools").is_visible(), f"{user.username} is not logged in"
        return page

    def holder(self):
        page = self.context(accept_downloads=True)
        page.goto("/accounts/login/")
        page.fill("#id_username", MOBILE)
        page.fill("#id_password", WORKER_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/me/**")
        return page

    def shot(self, page, step: str):
        self.screenshot(page, step)

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def worker(celery_worker_process, monkeypatch):  # noqa: F811 - the fixture imported above
    """The real worker (two processes), and every task sent, by the portal or by the worker
    itself, routed to its queue."""
    monkeypatch.setenv("CELERY_TASK_DEFAULT_QUEUE", celery_worker_process.queue)
    process = celery_worker_process.start("--pool", "prefork", "--concurrency", "2")
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = process.queue
    yield process
    celery_app.conf.task_default_queue = previous


def test_the_whole_life_of_a_certificate(
    browser,
    live_server,
    tmp_path,
    screenshot,
    worker,
    issuer_credit_code,
    trainer,
    assessor,
    authority_staff,
    crane,
    centre,
    school,
):
    import time_machine

    for tool, package in (("pdftotext", "poppler-utils"), ("pdftoppm", "poppler-utils")):
        need(shutil.which(tool) is not None, f"{tool} ({package})")
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    story = Story(browser, live_server, screenshot)
    files = {
        "photo.jpg": good_photo(),
        "idcard.png": good_id_scan(),
        "diploma.pdf": good_pdf(),
        "medical.pdf": good_pdf(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    # 1. The worker registers, fills the profile and uploads the materials.
    page = story.context(accept_downloads=True)
    page.goto("/")
    page.get_by_role("link", name="注册账号").click()
    page.fill("#id_login", MOBILE)
    page.fill("#id_password1", WORKER_PASSWORD)
    page.fill("#id_password2", WORKER_PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/me/profile/")
    page.fill("#id_name", NAME)
    page.fill("#id_id_number", ID_NUMBER)
    page.select_option("#id_education", "senior")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/me/materials/")
    for kind, name in (
        ("photo", "photo.jpg"),
        ("id_scan", "idcard.png"),
        ("education_proof", "diploma.pdf"),
    ):
        page.set_input_files(f"#file-{kind}", str(tmp_path / name))
        page.locator(f"#{kind}").get_by_role("button", name="上传").click()
        page.wait_for_load_state()
        assert page.locator(f"#{kind} .badge.ok").is_visible(), kind
    page.goto("/me/")
    assert page.get_by_text("实名信息和材料已齐全").is_visible()
    story.shot(page, "01-registered")
    profile = Profile.objects.get(user__username=MOBILE)

    # 2. ... and applies for 建筑起重机械司机（塔式起重机）.
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
    page.locator("#submit-application").click()
    page.wait_for_load_state()
    assert page.get_by_text("报名已提交").is_visible()
    story.shot(page, "02-applied")
    application = ExamApplication.objects.get(applicant=profile.user)
    assert application.trade == crane

    # 3. The training school, then the authority, approve it in the admin.
    school_page = story.staff(trainer)
    run_admin_action(school_page, "/admin/exams/examapplication/", application.pk, "approve")
    assert school_page.locator(".messagelist .success").count() == 1
    story.shot(school_page, "03-school-approved")
    authority = story.staff(authority_staff)
    run_admin_action(authority, "/admin/exams/examapplication/", application.pk, "approve")
    assert authority.locator(".messagelist .success").count() == 1
    application.refresh_from_db()
    assert application.status == "approved"

    # 4. The assessment centre creates a session and submits it; the authority approves it
    #    and schedules the worker; the ticket is rendered on the worker.
    centre_page = story.staff(assessor)
    centre_page.goto("/admin/exams/examsession/add/")
    theory = timezone.localdate() + timedelta(days=14)
    centre_page.fill("#id_name", "2026年塔式起重机司机考核（第9期）")
    centre_page.select_option("#id_trade", str(crane.pk))
    centre_page.select_option("#id_assessment_institution", str(centre.pk))
    centre_page.fill("#id_theory_at_0", theory.isoformat())
    centre_page.fill("#id_theory_at_1", "09:00:00")
    centre_page.fill("#id_practical_at_0", (theory + timedelta(days=1)).isoformat())
    centre_page.fill("#id_practical_at_1", "09:00:00")
    centre_page.fill("#id_venue", "泉州市丰泽区东海大街考点")
    centre_page.fill("#id_capacity", "30")
    centre_page.locator("input[name=_save]").click()
    centre_page.wait_for_load_state()
    assert centre_page.locator(".messagelist .success").count() == 1
    session = ExamSession.objects.get()
    run_admin_action(centre_page, "/admin/exams/examsession/", session.pk, "submit")
    assert centre_page.locator(".messagelist .success").count() == 1
    run_admin_action(authority, "/admin/exams/examsession/", session.pk, "approve")
    assert authority.locator(".messagelist .success").count() == 1
    run_admin_action(
        authority, "/admin/exams/examapplication/", application.pk, "assign_to_session"
    )
    authority.select_option("#id_session", str(session.pk))
    authority.get_by_role("button", name="确认").click()
    authority.wait_for_load_state()
    assert authority.locator(".messagelist .success").count() == 1
    story.shot(authority, "04-scheduled")
    application = wait_until(
        lambda: ExamApplication.objects.filter(pk=application.pk).exclude(ticket_pdf="").first(),
        "the admission ticket rendered by the worker",
        worker=worker,
    )
    assert application.status == "scheduled"
    page.goto(f"/me/applications/{application.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载准考证（PDF）").click()
    download.value.save_as(tmp_path / "ticket.pdf")
    ticket = pdf_text(tmp_path / "ticket.pdf")
    assert application.ticket_number in ticket and NAME in ticket
    story.shot(page, "05-ticket")

    # 5. The exams take place (the session's times pass: moved back here, the live server and
    #    the worker sharing the database); the centre imports the scores from an XLSX file and
    #    the authority publishes them.
    hold(session)
    (tmp_path / "scores.xlsx").write_bytes(
        xlsx(
            [
                ["准考证号", "身份证号", "理论成绩", "实操成绩", "缺考"],
                [application.ticket_number, ID_NUMBER, 92, 88, "否"],
            ]
        )
    )
    centre_page.goto(f"/admin/exams/examsession/{session.pk}/import-scores/")
    centre_page.set_input_files("#id_file", str(tmp_path / "scores.xlsx"))
    centre_page.locator("input[type=submit][value=导入]").click()
    centre_page.wait_for_load_state()
    assert "已导入 1 名考生的成绩。" in centre_page.locator(".messagelist").inner_text()
    story.shot(centre_page, "06-scores-imported")
    run_admin_action(authority, "/admin/exams/examsession/", session.pk, "publish")
    assert authority.locator(".messagelist .success").count() == 1
    application.refresh_from_db()
    assert application.status == "passed"

    # 6. The authority issues the batch (a task on the worker, with its results page).
    run_admin_action(authority, "/admin/certificates/issuablesession/", session.pk, "batch_issue")
    authority.wait_for_url("**/admin/certificates/batchissue/*/change/")
    batch = BatchIssue.objects.get()
    wait_until(
        lambda: BatchIssue.objects.filter(pk=batch.pk, finished_at__isnull=False).exists(),
        "the batch issue task",
        worker=worker,
    )
    authority.reload()
    results = authority.locator("#batch-results")
    certificate = Certificate.objects.get(application=application)
    assert "已签发" in results.inner_text() and certificate.number in results.inner_text()
    story.shot(authority, "07-batch-issued")

    # 7. The worker downloads the e-certificate; its QR code opens a page saying 有效.
    wait_until(
        lambda: Certificate.objects.filter(pk=certificate.pk).exclude(pdf="").exists(),
        "the e-certificate rendered by the worker",
        worker=worker,
    )
    page.goto("/me/certificates/")
    assert page.get_by_text(certificate.number).is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载电子证照（PDF）").click()
    download.value.save_as(tmp_path / "certificate.pdf")
    text = pdf_text(tmp_path / "certificate.pdf")
    assert certificate.number in text and "建筑施工特种作业操作资格证书" in text
    assert ID_NUMBER not in qr_path(tmp_path / "certificate.pdf", tmp_path)
    story.shot(page, "08-my-certificate")
    phone = story.context(viewport={"width": 360, "height": 740})
    phone.goto(qr_path(tmp_path / "certificate.pdf", tmp_path))
    assert "有效" in phone.locator("#v-status").inner_text()
    assert cn(certificate.valid_until) in phone.content()
    first_preview = phone.locator(".v-preview img").get_attribute("src")
    story.shot(phone, "09-qr-valid")

    # 8. Time moves to the renewal window: 20 days before the certificate expires.
    certificate.refresh_from_db()
    old_until = certificate.valid_until
    later = timezone.make_aware(
        datetime.combine(old_until - timedelta(days=20), datetime.min.time()).replace(hour=10)
    )
    with time_machine.travel(later, tick=True):
        assert timezone.localdate() == old_until - timedelta(days=20)
        # The training school imports the holder's continuing-education hours.
        school_page = story.staff(trainer)
        (tmp_path / "ce.xlsx").write_bytes(
            xlsx(
                [
                    ["姓名", "身份证号", "方式", "学时", "完成日期", "课程"],
                    [
                        NAME,
                        ID_NUMBER,
                        "线上",
                        16,
                        timezone.localdate() - timedelta(days=60),
                        "安全",
                    ],
                    [NAME, ID_NUMBER, "线下", 8, timezone.localdate() - timedelta(days=30), "实操"],
                ]
            )
        )
        school_page.goto("/admin/renewals/continuingeducation/import/")
        school_page.set_input_files("#id_file", str(tmp_path / "ce.xlsx"))
        school_page.locator("input[type=submit][value=导入]").click()
        school_page.wait_for_load_state()
        assert "已导入 2 条继续教育记录。" in school_page.locator(".messagelist").inner_text()
        story.shot(school_page, "10-ce-imported")

        # The holder renews (the Zhejiang three steps).
        page = story.holder()
        page.goto("/me/certificates/")
        page.get_by_role("link", name="延续受理期已开始：申请延续").click()
        page.fill("#id_ce_city", "泉州")
        page.fill("#id_ce_district", "丰泽区")
        for name in (
            "declare_health",
            "declare_no_accident",
            "declare_violations",
            "declare_training",
        ):
            page.check(f"#id_{name}")
        page.get_by_role("button", name="下一步").click()
        page.check("input[name=delivery][value=electronic]")
        page.get_by_role("button", name="下一步").click()
        page.fill("#id_signature_name", NAME)
        page.check("#id_confirm")
        story.shot(page, "11-renewal-confirm")
        page.locator("#submit-renewal").click()
        page.wait_for_load_state()
        assert page.get_by_text("延续申请已提交").is_visible()

        # The authority approves; the worker renders the new e-certificate.
        authority = story.staff(authority_staff)
        renewal = RenewalApplication.objects.get(certificate=certificate)
        run_admin_action(authority, "/admin/renewals/renewalapplication/", renewal.pk, "approve")
        assert authority.locator(".messagelist .success").count() == 1
        story.shot(authority, "12-renewal-approved")
        certificate.refresh_from_db()
        new_until = certificate.valid_until
        assert new_until == old_until.replace(year=old_until.year + 2)
        wait_rendered(certificate, "the renewed e-certificate rendered by the worker", worker)
        page.goto("/me/certificates/")
        with page.expect_download() as download:
            page.get_by_role("link", name="下载电子证照（PDF）").click()
        download.value.save_as(tmp_path / "renewed.pdf")
        assert cn(new_until) in pdf_text(tmp_path / "renewed.pdf")
        story.shot(page, "13-renewed")
        phone.goto(qr_path(tmp_path / "renewed.pdf", tmp_path))
        assert "有效" in phone.locator("#v-status").inner_text()
        assert cn(new_until) in phone.content()
        story.shot(phone, "14-qr-renewed")

        # The authority revokes it; the QR page says 吊销.
        run_admin_action(authority, "/admin/certificates/certificate/", certificate.pk, "revoke")
        authority.fill("#id_reason", "违章操作造成生产安全事故")
        authority.locator("input[type=submit][value=确认]").click()
        authority.wait_for_load_state()
        assert authority.locator(".messagelist .success").count() == 1
        story.shot(authority, "15-revoked")
        wait_rendered(certificate, "the e-certificate re-rendered with its 已吊销 stamp", worker)
        phone.reload()
        assert "吊销" in phone.locator("#v-status").inner_text()
        # The preview is a new image (the browser may keep one for a minute; a cached one
        # would still show the certificate as it was before).
        preview = phone.locator(".v-preview img")
        assert preview.get_attribute("src") != first_preview
        preview.scroll_into_view_if_needed()
        phone.wait_for_function(
            "() => { const i = document.querySelector('.v-preview img');"
            " return i.complete && i.naturalWidth > 0; }"
        )
        story.shot(phone, "16-qr-revoked")
    story.close()
    assert "Traceback" not in worker.output(), worker.output()[-4000:]
