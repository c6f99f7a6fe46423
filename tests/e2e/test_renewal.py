import shutil
import subprocess

import pytest

from certificates.models import Certificate
from conftest import need
from tests.e2e.conftest import admin_login, run_admin_action
from tests.factories import PASSWORD
from tests.renewals.fixtures import add_hours, expiring

pytestmark = pytest.mark.e2e


def test_holder_renews_the_zhejiang_way_staff_approve_holder_downloads(
    browser,
    live_server,
    tmp_path,
    screenshot,
    celery_eager,
    certificate,
    authority_staff,
    django_user_model,
):
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    from exams.models import Institution
    from tests.factories import staff_factory

    provider = staff_factory(institution=Institution.objects.get(name="泉州示例建筑职业培训学校"))
    certificate = expiring(certificate, days_left=20)
    add_hours(certificate, provider, 24)
    old_until = certificate.valid_until

    holder = browser.new_context(base_url=live_server.url, locale="zh-CN", accept_downloads=True)
    page = holder.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", certificate.holder.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/me/certificates/")
    page.get_by_role("link", name="延续受理期已开始：申请延续").click()
    page.fill("#id_ce_city", "泉州")
    page.fill("#id_ce_district", "丰泽区")
    page.get_by_role("button", name="保存草稿").click()
    assert page.get_by_text("草稿已保存").is_visible()
    for name in ("declare_health", "declare_no_accident", "declare_violations", "declare_training"):
        page.check(f"#id_{name}")
    screenshot(page, "1-fill")
    page.get_by_role("button", name="下一步").click()
    page.check("input[name=delivery][value=electronic]")
    screenshot(page, "2-delivery")
    page.get_by_role("button", name="下一步").click()
    page.fill("#id_signature_name", certificate.holder_name)
    page.check("#id_confirm")
    screenshot(page, "3-confirm")
    page.locator("#submit-renewal").click()
    page.wait_for_load_state()
    assert page.get_by_text("延续申请已提交").is_visible()

    staff = browser.new_context(base_url=live_server.url, locale="zh-CN")
    staff_page = staff.new_page()
    admin_login(staff_page, authority_staff.username, PASSWORD)
    renewal = certificate.renewals.get()
    run_admin_action(staff_page, "/admin/renewals/renewalapplication/", renewal.pk, "approve")
    assert staff_page.locator(".messagelist .success").count() == 1
    screenshot(staff_page, "4-approved")
    staff.close()

    certificate.refresh_from_db()
    assert certificate.valid_until == old_until.replace(year=old_until.year + 2)
    page.goto("/me/certificates/")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载电子证照（PDF）").click()
    path = tmp_path / "renewed.pdf"
    download.value.save_as(path)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        f"{certificate.valid_until.year}年{certificate.valid_until.month}月{certificate.valid_until.day}日"
        in text
    )
    assert Certificate.objects.get(pk=certificate.pk).pdfs.count() == 2
    holder.close()
