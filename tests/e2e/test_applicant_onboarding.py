import pytest

from applicants.models import Material, Profile
from tests.applicants.conftest import ID_NUMBER
from tests.applicants.corpus import good_id_scan, good_pdf, good_photo

pytestmark = pytest.mark.e2e


def test_worker_registers_fills_profile_uploads_materials_and_is_complete(
    page, tmp_path, screenshot
):
    files = {
        "wrong.jpg": b"<html><body>not a photo</body></html>",
        "photo.jpg": good_photo(),
        "idcard.png": good_id_scan(),
        "diploma.pdf": good_pdf(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    page.goto("/")
    page.get_by_role("link", name="注册账号").click()
    page.fill("#id_login", "13655556666")
    page.fill("#id_password1", "Worker-pass-2026")
    page.fill("#id_password2", "Worker-pass-2026")
    screenshot(page, "1-register")
    page.get_by_role("button", name="注册").click()

    page.wait_for_url("**/me/profile/")
    page.fill("#id_name", "王小明")
    page.fill("#id_id_number", ID_NUMBER.lower())
    page.select_option("#id_education", "senior")
    screenshot(page, "2-profile")
    page.get_by_role("button", name="保存").click()

    page.wait_for_url("**/me/materials/")
    page.set_input_files("#file-photo", str(tmp_path / "wrong.jpg"))
    page.locator("#photo").get_by_role("button", name="上传").click()
    error = page.locator("#errors-photo")
    error.wait_for()
    assert "JPEG" in error.inner_text()
    screenshot(page, "3-wrong-photo")
    assert not Material.objects.exists()

    for kind, name in (
        ("photo", "photo.jpg"),
        ("id_scan", "idcard.png"),
        ("education_proof", "diploma.pdf"),
    ):
        page.set_input_files(f"#file-{kind}", str(tmp_path / name))
        page.locator(f"#{kind}").get_by_role("button", name="上传").click()
        page.wait_for_load_state()
        assert page.locator(f"#{kind} .badge.ok").is_visible(), kind
    screenshot(page, "4-materials")

    page.goto("/me/")
    assert page.get_by_text("实名信息和材料已齐全").is_visible()
    assert page.locator(".checklist .done").count() == 4
    screenshot(page, "5-dashboard-complete")
    profile = Profile.objects.get(user__username="13655556666")
    assert profile.id_number == ID_NUMBER and profile.sex == "M"


def test_a_worker_registers_with_the_id_number_on_a_phone_and_logs_in_with_it(
    browser, live_server, screenshot
):
    """SPEC 4.1: the ID number as the login. On a phone: the box is not a digits-only keypad
    (the number may end in X), the profile form starts from the number, and the number logs
    in again after logging out."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 360, "height": 740}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/accounts/register/")
        box = page.locator("#id_login")
        assert box.get_attribute("inputmode") is None
        box.fill(ID_NUMBER.lower())
        page.fill("#id_password1", "Worker-pass-2026")
        page.fill("#id_password2", "Worker-pass-2027")  # a slip: typed again
        page.get_by_role("button", name="注册").click()
        page.wait_for_load_state()
        assert "两次输入的密码不一致" in page.content()
        assert "您填写的号码没有保留在页面上" in page.locator("#id_login_error").inner_text()
        assert ID_NUMBER not in page.content() and box.input_value() == ""
        box.fill(ID_NUMBER.lower())
        page.fill("#id_password1", "Worker-pass-2026")
        page.fill("#id_password2", "Worker-pass-2026")
        screenshot(page, "id-1-register")
        page.get_by_role("button", name="注册").click()

        page.wait_for_url("**/me/profile/")
        assert page.locator("#id_id_number").input_value() == ID_NUMBER
        page.fill("#id_name", "王小明")
        page.fill("#id_mobile", "13655556667")
        page.select_option("#id_education", "senior")
        page.get_by_role("button", name="保存").click()
        page.wait_for_url("**/me/materials/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        page.goto("/accounts/logout/")
        masked = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
        assert masked in page.content() and ID_NUMBER not in page.content()
        page.get_by_role("button", name="确认退出登录").click()
        page.goto("/accounts/login/")
        page.fill("#id_username", ID_NUMBER)
        page.fill("#id_password", "Worker-pass-2026")
        screenshot(page, "id-2-login")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/me/**")
        profile = Profile.objects.get(id_number_index__isnull=False, mobile="13655556667")
        assert profile.user.username.startswith("id-") and profile.id_number == ID_NUMBER
    finally:
        context.close()
