from playwright.sync_api import expect

from tests.e2e.conftest import TABLET, sign_in


def test_volunteer_registers_a_trader_on_a_tablet_and_finds_them_without_diacritics(
    browser, live_server
) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.click("text=Đăng ký tiểu thương")
    expect(page.locator("h1")).to_have_text("Đăng ký tiểu thương")
    page.select_option("#kind", "household_business")
    page.locator("#business_name").press_sequentially("Bánh khoái Lạc Thiện")
    page.select_option("#category", "food_drink")
    page.locator("#owner_name").press_sequentially("Đặng Thị Thiện")
    page.fill("#owner_phone", "028 3812 3456")  # a landline: refused
    page.fill("#market", "Chợ Đông Ba")
    page.check("input[name=consent_purposes][value=storefront]")
    page.check("input[name=consent_purposes][value=contact]")
    page.click("main form button.primary")

    expect(page.locator("#owner_phone-error")).to_have_text("Cần số di động; số máy bàn không dùng được.")
    expect(page.locator("#business_name")).to_have_value("Bánh khoái Lạc Thiện")
    expect(page.locator("input[name=consent_purposes][value=contact]")).to_be_checked()
    page.fill("#owner_phone", "0935 123 456")
    page.click("main form button.primary")

    expect(page.locator("h1")).to_have_text("Bánh khoái Lạc Thiện")
    expect(page.locator(".flash")).to_contain_text("Đã đăng ký Bánh khoái Lạc Thiện.")
    expect(page.locator("#owner-phone")).to_have_text("0935 123 456")

    page.click(".mainnav >> text=Tiểu thương")
    page.fill("#q", "banh khoai lac thien")
    page.click("form.search button[type=submit]")
    expect(page.locator(".merchant-list .title")).to_have_text(["Bánh khoái Lạc Thiện"])
    page.click("text=Bánh khoái Lạc Thiện")
    expect(page.locator("h1")).to_have_text("Bánh khoái Lạc Thiện")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()
