import shutil
import subprocess

import pytest

from certificates.models import Certificate
from conftest import need
from tests.e2e.conftest import admin_login, run_admin_action
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_authority_issues_the_batch_and_the_holder_downloads_the_pdf(
    browser, live_server, tmp_path, screenshot, celery_eager, passed, authority_staff
):
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    staff = browser.new_context(base_url=live_server.url, locale="zh-CN")
    page = staff.new_page()
    admin_login(page, authority_staff.username, PASSWORD)
    run_admin_action(page, "/admin/certificates/issuablesession/", passed.session.pk, "batch_issue")
    page.wait_for_url("**/admin/certificates/batchissue/*/change/")
    page.reload()
    results = page.locator("#batch-results")
    results.wait_for()
    assert "已签发" in results.inner_text()
    certificate = Certificate.objects.get(application=passed)
    assert certificate.number in results.inner_text()
    screenshot(page, "1-batch-result")
    staff.close()

    holder = browser.new_context(base_url=live_server.url, locale="zh-CN", accept_downloads=True)
    page = holder.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", passed.applicant.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/me/certificates/")
    assert page.get_by_text(certificate.number).is_visible()
    screenshot(page, "2-my-certificates")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载电子证照（PDF）").click()
    path = tmp_path / "certificate.pdf"
    download.value.save_as(path)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert certificate.number in text and "建筑施工特种作业操作资格证书" in text
    holder.close()
