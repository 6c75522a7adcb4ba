from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, TABLET, sign_in


def test_volunteer_signs_in_on_a_tablet_switches_to_english_and_signs_out(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    expect(page.locator("h1")).to_contain_text("Xin chào")
    expect(page.get_by_text("Tổ công nghệ số chợ Đông Ba")).to_be_visible()
    page.click("text=English")
    expect(page.locator("h1")).to_contain_text("Hello")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login?next=/")
    page.close()


def test_wrong_password_shows_the_error(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer", "not-the-password")
    expect(page.locator("#login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    expect(page.locator("#username")).to_have_value("demo-volunteer")
    page.close()


def test_pages_fit_a_phone_without_sideways_scrolling_and_targets_are_large(browser, live_server) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_in(page, live_server, "demo-leader")
    page.goto(f"{live_server.url}/teams/")
    with page.expect_navigation():  # measure the team's page, not the one being left
        page.click("text=Tổ công nghệ số chợ Đông Ba")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    for box in [
        page.locator(sel).first.bounding_box() for sel in ("button.primary", "#full_name", ".mainnav a")
    ]:
        assert box is not None and box["height"] >= 44
    page.close()


def test_pages_work_without_javascript(browser, live_server) -> None:
    context = browser.new_context(viewport=TABLET, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "demo-commune")
    page.click("text=Thành lập tổ mới")
    page.fill("#name", "Tổ công nghệ số chợ Xép")
    page.select_option("#commune_code", "19753")
    page.click("main form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Đã tạo tổ Tổ công nghệ số chợ Xép.")
    context.close()
