"""No lost work in the forms, in a real Chromium: Enter (the keyboard's Go key) in any field saves
the form it is in with that form's visible save button; a failed save lists its errors on top and
takes the focus; a product photo survives a validation error; deleting asks first; the success
message after a save is on screen."""

import re
import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from service.generated.demo import demo_merchant_id
from tests.e2e.conftest import PHONE, TABLET, sign_in
from tests.e2e.steps import assert_enter_saves, default_button, fill_registration, wrong_default_buttons
from tests.integration.test_merchant_import import csv_bytes
from tests.integration.test_storefront_photos import camera_photo

BUN_HEN = demo_merchant_id(0)  # published, one Agribank account
IMPORT_HEADER = ["Tên cơ sở", "Chủ hộ", "Số điện thoại", "Loại hình", "Ngành hàng", "Đồng ý"]
IMPORT_ROW = ["Bánh ướt Cô Ba", "Trần Thị Ba", "0912 444 001", "Sạp chợ", "Ăn uống", "liên hệ"]


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
    page.goto(f"{merchant}/storefront")
    page.locator(".sf-products li").first.get_by_role("link", name="Sửa").click()
    assert_enter_saves(page, "main form.form", "Lưu sản phẩm")
    page.goto(f"{live_server.url}/v/")  # a shopper checks a QR poster's code
    assert_enter_saves(page, "main form", "Kiểm tra")

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
    fill_registration(
        page,
        "Cá thu Bà Lành",
        "0935 777 123",
        owner="Nguyễn Thị Lành",
        category="fresh_produce",
        consent="storefront",
    )
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
    fill_registration(
        page,
        "Chè Cô Hoa",
        "0935 222 333",
        owner="Lê Thị Hoa",
        kind="street_vendor",
        category="food_drink",
        market=None,
        consent="storefront",
    )
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


def _open_feedback(page, server) -> str:
    """A team's report waiting for the commune; the id of its card on the officer's list."""
    page.goto(f"{server.url}/reports/feedback/new")
    page.check("input[name=topic][value=connectivity]")
    page.fill("#note", "Mạng ở chợ Đông Ba chập chờn")
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator(".flash")).to_contain_text("Đã gửi phản ánh")
    return page.locator("article.feedback").first.get_attribute("id")


def test_enter_in_the_officers_forms_submits_each_with_its_visible_save_button(
    browser, live_server, tmp_path
) -> None:
    """Teams, members, villages, targets, reports handled, a trader's own data, the spreadsheet
    import, merging, erasing, posters and reading a QR: Enter presses each form's own save button,
    never a hidden or a secondary one (forms of checkboxes, radios or files only included: the
    button Enter would press is their save button)."""
    leader = browser.new_context(viewport=TABLET)
    page = leader.new_page()
    sign_in(page, live_server, "demo-leader")
    feedback = _open_feedback(page, live_server)
    # Forms without a field to press Enter in: the button Enter would press is the visible one.
    merchant = f"{live_server.url}/merchants/{BUN_HEN}"
    buttons = [
        (merchant, "form[action$='/posters']", "In biển QR"),
        (f"{merchant}/payment-accounts/import", "form:has(#image)", "Đọc mã từ ảnh"),
        (f"{merchant}/payment-accounts/import", "form:has(#payload)", "Đọc nội dung"),
        (f"{merchant}/storefront", "form[action$='/storefront/cover']", "Lưu ảnh bìa"),
        (f"{merchant}/storefront", "form[action$='/storefront/links']", "Tạo liên kết mới"),
    ]
    for address, selector, button in buttons:
        page.goto(address)
        assert default_button(page, selector) == {"text": button, "visible": True}, (address, selector)
    leader.close()

    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    sign_in(page, live_server, "demo-commune")
    url = live_server.url
    page.goto(f"{url}/teams/")
    page.locator("main a[href^='/teams/']:not([href='/teams/new'])").first.click()
    team = page.url
    page.goto(f"{url}/")
    page.locator("main").get_by_role("link", name="Thôn, tổ dân phố").click()
    villages = page.url
    merchant = f"{url}/merchants/{BUN_HEN}"
    forms = [
        (f"{url}/teams/new", "main form.form", "Tạo tổ"),
        (team, "main form.form", "Thêm"),
        (villages, "main form.form", "Thêm"),
        (f"{url}/reports/", "#target-form", "Lưu chỉ tiêu"),
        (f"{url}/reports/feedback/", f"#{feedback} form", "Đã xử lý"),
        (f"{url}/merchants/data-subject", "main form.form", "Tải dữ liệu"),
        (f"{url}/merchants/import", "form[action='/merchants/import']", "Kiểm tra tệp"),
        (f"{merchant}/merge?q=Chợ", "form[action$='/merge'][method=post]", "Gộp vào bản ghi này"),
        (f"{merchant}/merge?q=Chợ", "form.search", "Tìm"),
    ]
    for address, selector, button in forms:
        page.goto(address)
        assert_enter_saves(page, selector, button)

    buttons = [
        (f"{url}/payments/posters/", "form.search", "Xem danh sách"),
        (
            f"{url}/payments/posters/?market=Chợ Đông Ba",
            "form[action='/payments/posters/'][method=post]",
            "In tất cả thành một tệp PDF",
        ),
        (f"{merchant}/erase", "form[action$='/erase']", "Xóa dữ liệu cá nhân"),
        (f"{url}/payments/import", "form:has(#image)", "Đọc mã từ ảnh"),
        (f"{url}/payments/import", "form:has(#payload)", "Đọc nội dung"),
    ]
    for address, selector, button in buttons:
        page.goto(address)
        assert default_button(page, selector) == {"text": button, "visible": True}, (address, selector)

    # A checked spreadsheet: importing it, or dropping it.
    sheet = tmp_path / "cho-dong-ba.csv"
    sheet.write_bytes(csv_bytes([IMPORT_HEADER, IMPORT_ROW]))
    page.goto(f"{url}/merchants/import")
    page.select_option("#team_id", index=1)
    page.set_input_files("#file", str(sheet))
    page.click("#import-check")
    expect(page.locator("#import-summary")).to_contain_text("1 dòng hợp lệ")
    assert default_button(page, "form[action$='/import/commit']") == {
        "text": "Nhập 1 tiểu thương",
        "visible": True,
    }
    assert default_button(page, "form[action$='/import/cancel']") == {
        "text": "Hủy, không nhập tệp này",
        "visible": True,
    }
    assert wrong_default_buttons(page) == []
    context.close()


def test_failed_saves_of_the_officers_forms_list_their_errors_on_top_and_take_the_focus(
    browser, live_server
) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-commune")
    url = live_server.url

    def summary_leads_to(field: str, count: int = 1) -> None:
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_be_in_viewport()
        expect(summary.locator("li")).to_have_count(count)
        summary.locator(f"a[href='#{field}']").click()
        expect(page.locator(f"#{field}")).to_be_focused()

    # A new team without its name or commune; required fields are marked before anything is typed.
    page.goto(f"{url}/teams/new")
    expect(page.locator("label[for=name]")).to_contain_text("(bắt buộc)")
    expect(page.locator("label[for=commune_code]")).to_contain_text("(bắt buộc)")
    page.locator("#name").press("Enter")
    summary_leads_to("commune_code", count=2)
    page.fill("#name", "Tổ công nghệ số Phú Hội")
    page.select_option("#commune_code", index=1)
    page.locator("#name").press("Enter")
    expect(page.locator("h1")).to_have_text("Tổ công nghệ số Phú Hội")
    expect(page.locator(".flash")).to_be_in_viewport()

    # A member with a short password, on the team's page: what was typed stays.
    expect(page.locator("label[for=password]")).to_contain_text("(bắt buộc)")
    page.fill("#full_name", "Phan Văn Hùng")
    page.fill("#username", "phan-van-hung")
    page.fill("#password", "ngan")
    page.locator("#username").press("Enter")
    summary_leads_to("password")
    expect(page.locator("#error-summary")).to_contain_text("Mật khẩu ban đầu")
    expect(page.locator("#full_name")).to_have_value("Phan Văn Hùng")

    # A village without a name.
    page.goto(f"{url}/")
    page.locator("main").get_by_role("link", name="Thôn, tổ dân phố").click()
    page.locator("#name").press("Enter")
    summary_leads_to("name")

    # A target of 150 %, then a right one saved with Enter.
    page.goto(f"{url}/reports/")
    page.fill("#share_percent", "150")
    page.fill("#due_on", "2099-12-31")
    page.locator("#share_percent").press("Enter")
    summary_leads_to("share_percent")
    expect(page.locator("#error-summary")).to_contain_text("Tỷ lệ tiểu thương đạt hoặc vượt giai đoạn")
    page.fill("#share_percent", "35")
    page.locator("#share_percent").press("Enter")
    expect(page.locator(".flash")).to_contain_text("Đã lưu chỉ tiêu.")

    # A trader's own data asked for with a phone number that is not one.
    page.goto(f"{url}/merchants/data-subject")
    page.fill("#phone", "12345")
    page.locator("#phone").press("Enter")
    summary_leads_to("phone")
    expect(page.locator("#phone")).to_have_value("12345")

    # The spreadsheet import without a file; merging without choosing the record.
    page.goto(f"{url}/merchants/import")
    page.click("#import-check")
    summary_leads_to("file")
    page.goto(f"{url}/merchants/{BUN_HEN}/merge?q=Chợ")
    page.click("#merge-submit")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Hãy chọn bản ghi trùng cần gộp.")
    summary.locator("a").click()
    expect(page.locator("input[name=duplicate_id]").first).to_be_focused()  # the results are still there
    expect(page.locator("#q")).to_have_value("Chợ")

    # Reading a QR with nothing pasted.
    page.goto(f"{url}/payments/import")
    page.get_by_role("button", name="Đọc nội dung").click()
    summary_leads_to("payload")
    page.close()


def test_enter_in_the_password_forms_submits_them_and_a_failed_save_lists_its_errors(
    browser, live_server
) -> None:
    """Changing one's own password, and choosing one with a one-time code (signed out)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/account/activate")
    assert_enter_saves(page, "main form.form", "Đặt mật khẩu và đăng nhập")
    page.reload()
    page.locator("main form.form input:visible").first.press("Enter")
    expect(page.locator(".error-summary")).to_be_focused()  # nothing filled in: every error on top
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/account/password")
    assert_enter_saves(page, "main form.form", "Đổi mật khẩu")
    page.reload()
    page.fill("#new_password", "short")
    page.locator("#new_password").press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.locator("a").first.click()
    expect(page.locator("#current_password")).to_be_focused()
    assert wrong_default_buttons(page) == []
    context.close()
