import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_home_page_switches_language_and_back(page, screenshot):
    page.goto("/")
    assert page.locator("h1").inner_text() == "建筑施工特种作业人员证书服务平台"
    screenshot(page, "home-zh")

    page.select_option("#lang-select", "en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Construction Special Operations Certificate Portal"
    assert page.get_by_role("link", name="Verify a certificate").first.is_visible()
    screenshot(page, "home-en")

    page.select_option("#lang-select", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "建筑施工特种作业人员证书服务平台"


def test_home_page_fits_a_phone_without_horizontal_scrolling(browser, live_server, screenshot):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "home-360")
    context.close()


def test_authority_staff_logs_into_admin_and_sees_reference_data(page, authority_staff, screenshot):
    page.goto("/admin/")
    page.fill("#id_username", authority_staff.username)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()
    assert "业务管理" in page.content()
    page.get_by_role("link", name="工种（操作类别）").click()
    page.wait_for_load_state()
    assert page.get_by_text("建筑起重机械司机（塔式起重机）").is_visible()
    screenshot(page, "admin-trades")
