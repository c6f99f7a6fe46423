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
    page.fill("#id_mobile", "13655556666")
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
