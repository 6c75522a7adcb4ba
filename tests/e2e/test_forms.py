"""No lost work in the forms, in a real Chromium: Enter (the keyboard's Go key) in any field saves
the form it is in with that form's visible save button; a failed save lists its errors on top and
takes the focus; a product photo survives a validation error; deleting asks first; the success
message after a save is on screen."""

import re
import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from service.demo import demo_merchant_id
from tests.e2e.conftest import PHONE, TABLET, sign_in
from tests.integration.test_storefront_photos import camera_photo

BUN_HEN = demo_merchant_id(0)  # published, one Agribank account

# Every field where Enter submits (text-like inputs, checkboxes and radios), visible and enabled.
FIELDS = "input:not([type=hidden]):not([type=file]):not([type=submit]):not([type=button]):not([disabled])"

# Fields where Enter deliberately does nothing: the bank search filters the list as one types.
QUIET = {"bank_q"}

# Records which button each submission used, and stops it, so every field can be tried in turn.
RECORD = """(form) => {
  window.__submits = [];
  form.addEventListener("submit", (e) => {
    const b = e.submitter;
    window.__submits.push(b ? {text: b.textContent.trim(), visible: b.checkVisibility()} : null);
    e.preventDefault();
  }, true);
}"""


def enter_everywhere(page, form_selector: str) -> list[tuple[str, str, object]]:
    """Press Enter in each field of the form; (field name, type, the button it submitted with)."""
    form = page.locator(form_selector)
    expect(form).to_have_count(1)
    page.evaluate(RECORD, form.element_handle())
    fields = form.locator(FIELDS)
    seen = []
    for n in range(fields.count()):
        field = fields.nth(n)
        if not field.is_visible():
            continue
        before = page.evaluate("window.__submits.length")
        field.press("Enter")
        page.wait_for_timeout(50)
        submits = page.evaluate("window.__submits")
        kind = field.get_attribute("type") or "text"
        seen.append((field.get_attribute("name"), kind, submits[before] if len(submits) > before else None))
    assert seen, (page.url, form_selector)
    return seen


def assert_enter_saves(page, form_selector: str, button: str) -> None:
    for name, kind, submit in enter_everywhere(page, form_selector):
        if submit is None and (kind in ("checkbox", "radio") or name in QUIET):
            continue  # Chromium does not submit from a checkbox or radio; QUIET fields filter a list
        assert submit == {"text": button, "visible": True}, (form_selector, name, submit)


def test_enter_in_any_field_of_every_form_submits_it_with_its_visible_save_button(
    browser, live_server
) -> None:
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "demo-volunteer")  # the browser itself asks for its required fields first
    page.fill("#password", "x")
    assert_enter_saves(page, "main form", "Đăng nhập")
    sign_in(page, live_server, "demo-volunteer")
    merchant = f"{live_server.url}/merchants/{BUN_HEN}"
    forms = [
        (f"{live_server.url}/merchants/new", "main form.form", "Lưu đăng ký"),
        (f"{merchant}/edit", "main form.form", "Lưu thay đổi"),
        (f"{merchant}/visits/new", "main form.form", "Lưu lần thăm"),
        (f"{merchant}/stages/new?stage=ecommerce", "main form.form", "Lưu"),
        (f"{merchant}/stages/new?stage=qr_active", "main form.form", "Lưu"),
        (f"{merchant}/payment-accounts/new", "#account-form", "Lưu tài khoản"),
        (f"{merchant}/storefront", "#new-product", "Thêm sản phẩm"),
        (f"{merchant}/storefront", "#details form", "Lưu gian hàng"),
        (f"{live_server.url}/merchants/", "form.search", "Tìm"),
        (f"{live_server.url}/settings", "main form", "Lưu"),
        (f"{live_server.url}/reports/feedback/new", "main form", "Gửi phản ánh"),
    ]
    for url, selector, button in forms:
        page.goto(url)
        assert_enter_saves(page, selector, button)

    # The trader's own page, on a phone.
    page.goto(f"{merchant}/storefront")
    page.click("#new-link")
    link = page.locator("#link-url").input_value()
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    trader = phone.new_page()
    trader.goto(link)
    for selector, button in (
        ("#prices form", "Lưu giá"),
        ("#add-product form", "Thêm sản phẩm"),
        ("#opening-hours form", "Lưu giờ mở cửa"),
    ):
        assert_enter_saves(trader, selector, button)
    phone.close()
    context.close()


def test_enter_in_the_last_field_registers_the_trader(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/new")
    page.select_option("#kind", "market_stall")
    page.fill("#business_name", "Cá thu Bà Lành")
    page.select_option("#category", "fresh_produce")
    page.fill("#owner_name", "Nguyễn Thị Lành")
    page.fill("#owner_phone", "0935 777 123")
    page.check("input[name=consent_purposes][value=storefront]")
    page.fill("#market", "Chợ Đông Ba")
    page.locator("#stall").press("Enter")
    expect(page.locator("h1")).to_have_text("Cá thu Bà Lành")
    expect(page.locator(".flash")).to_contain_text("Đã đăng ký Cá thu Bà Lành.")
    expect(page.locator(".flash")).to_be_in_viewport()
    page.close()


def test_enter_in_the_account_number_saves_the_payment_account(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/payment-accounts/new")
    page.fill("#bank_q", "vietcom")
    page.select_option("#bank_bin", "970436")
    page.fill("#holder_name", "TRAN THI NGA")
    page.fill("#account", "0011004567")
    page.locator("#account").press("Enter")
    expect(page.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")
    expect(page.locator(".flash").first).to_be_in_viewport()
    page.close()


def test_a_failed_registration_lists_its_errors_on_top_and_takes_the_focus(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/new")
    # Required fields are marked and the phone's format is given before anything is typed.
    expect(page.locator("label[for=business_name]")).to_contain_text("(bắt buộc)")
    expect(page.locator("label[for=owner_phone]")).to_contain_text("(bắt buộc)")
    expect(page.locator("label[for=market]")).not_to_contain_text("bắt buộc")
    expect(page.locator("#owner_phone-hint")).to_have_text("10 chữ số, bắt đầu bằng 0, ví dụ 0912 345 678.")

    page.fill("#business_name", "Rau sạch Cô Mai")
    page.fill("#owner_phone", "12345")
    page.locator("#business_name").press("Enter")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary.locator("li")).to_have_count(5)  # kind, category, owner, phone, consent
    expect(summary).to_contain_text("Số điện thoại di động")
    page.click("#error-summary a[href='#owner_phone']")
    expect(page.locator("#owner_phone")).to_be_focused()
    expect(page.locator("#owner_phone")).to_have_value("12345")
    expect(page.locator("#business_name")).to_have_value("Rau sạch Cô Mai")
    page.close()


def test_a_hidden_element_never_shows(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/new")
    shown = page.evaluate(
        """() => [...document.querySelectorAll('[hidden]')]
               .filter((el) => getComputedStyle(el).display !== 'none').map((el) => el.outerHTML)"""
    )
    assert shown == []
    assert (
        page.evaluate(
            "(() => { const b = document.createElement('button'); b.hidden = true;"
            " document.body.append(b); return getComputedStyle(b).display; })()"
        )
        == "none"
    )
    page.close()


def test_a_registration_form_without_javascript_still_saves_on_enter(browser, live_server) -> None:
    context = browser.new_context(viewport=TABLET, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/new")
    # The list-refresh button is there for a page without script, but it is not what Enter presses.
    expect(page.get_by_role("button", name="Cập nhật danh sách thôn và tổ")).to_be_visible()
    page.select_option("#kind", "street_vendor")
    page.fill("#business_name", "Chè Cô Hoa")
    page.select_option("#category", "food_drink")
    page.fill("#owner_name", "Lê Thị Hoa")
    page.fill("#owner_phone", "0935 222 333")
    page.check("input[name=consent_purposes][value=storefront]")
    page.locator("#owner_name").press("Enter")
    expect(page.locator("h1")).to_have_text("Chè Cô Hoa")
    context.close()


def test_a_product_photo_survives_a_price_error_and_85k_is_a_price(browser, live_server, tmp_path) -> None:
    picture = tmp_path / "ca-thu.jpg"
    picture.write_bytes(camera_photo())
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    page.fill("#name", "Cá thu tươi")
    page.fill("#price", "85 đô")
    page.set_input_files("#image", str(picture))
    page.get_by_role("button", name="Thêm sản phẩm").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#kept-image")).to_be_visible()  # the photo chosen is kept, and shown
    page.fill("#price", "85k")
    page.locator("#price").press("Enter")
    expect(page.locator(".flash")).to_contain_text("Đã thêm sản phẩm.")
    expect(page.locator(".flash")).to_be_in_viewport()
    added = page.locator(".sf-products li", has_text="Cá thu tươi")
    expect(added).to_contain_text("85.000 ₫")
    expect(added.locator("img")).to_have_count(1)
    page.close()


def test_deleting_a_product_or_a_trader_asks_first(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-leader")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    products = page.locator(".sf-products li")
    count = products.count()
    first = products.first.locator("strong").inner_text()
    products.first.get_by_role("button", name="Xóa").click()
    expect(page.locator("h1")).to_contain_text("Xóa sản phẩm")
    expect(page.locator("main")).to_contain_text(first)
    page.get_by_role("link", name="Không xóa").click()
    expect(page.locator(".sf-products li")).to_have_count(count)
    products.first.get_by_role("button", name="Xóa").click()
    page.get_by_role("button", name="Xóa sản phẩm").click()
    expect(page.locator(".flash")).to_contain_text(f"Đã xóa sản phẩm {first}.")
    expect(page.locator(".flash")).to_be_in_viewport()
    expect(page.locator(".sf-products li")).to_have_count(count - 1)

    page.goto(f"{live_server.url}/merchants/{BUN_HEN}")
    page.locator("main").get_by_role("button", name="Xóa", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Xóa tiểu thương")
    page.get_by_role("link", name="Không xóa").click()
    expect(page.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")
    page.locator("main").get_by_role("button", name="Xóa", exact=True).click()
    page.get_by_role("button", name="Xóa tiểu thương").click()
    expect(page.locator(".flash")).to_contain_text(re.compile("Đã xóa Bún hến Đông Ba O Nga"))
    page.close()


def test_enter_in_a_claims_reason_sends_it_back_and_never_verifies_it(browser, live_server) -> None:
    token = httpx.post(
        f"{live_server.url}/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
    ).json()["token"]
    claimed = httpx.post(
        f"{live_server.url}/api/v1/merchants/{BUN_HEN}/stage-events",
        json={
            "client_event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(),
            "stage": "identity",
            "kind": "reached",
            "note": "Đã xem tận mắt tại sạp",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert claimed.status_code == 201, claimed.text
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-leader")
    expect(page.locator("#claims-waiting")).to_contain_text("khai báo chờ xác minh")
    page.click("#claims-waiting")
    claim = page.locator(".claim", has_text="Bún hến Đông Ba O Nga")
    assert_enter_saves(page, f"#{claim.get_attribute('id')} form.reject", "Trả lại")
    page.reload()
    claim.locator("input[name=reason]").fill("Chưa thấy thẻ căn cước điện tử")
    claim.locator("input[name=reason]").press("Enter")
    expect(page.locator(".flash")).to_contain_text("Đã trả lại")
    expect(page.locator(".flash")).to_be_in_viewport()
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/timeline")
    expect(page.locator("#stage-identity .badge")).to_have_text("bị trả lại")

    # The leader's other forms: adding a team member, adding a village.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Quản lý thành viên").click()
    assert_enter_saves(page, "main form.form", "Thêm")
    page.goto(f"{live_server.url}/")
    page.locator("main").get_by_role("link", name="Thôn, tổ dân phố").click()
    assert_enter_saves(page, "main form.form", "Thêm")
    page.close()
