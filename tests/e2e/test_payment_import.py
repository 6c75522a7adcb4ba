from playwright.sync_api import expect

from service.payments.vietqr import encode
from tests.e2e.conftest import TABLET, sign_in
from tests.integration.test_payments_api import STALL, phone_photo


def test_volunteer_reads_a_stall_qr_from_a_photo_on_a_tablet(browser, live_server, tmp_path) -> None:
    picture = tmp_path / "quay-ba-lan.jpg"
    picture.write_bytes(phone_photo(encode(STALL)))
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/payments/import")
    expect(page.locator("h1")).to_have_text("Đọc mã QR có sẵn")
    page.set_input_files("#image", str(picture))
    page.get_by_role("button", name="Đọc mã từ ảnh").click()
    expect(page.locator("#result-bank")).to_contain_text("Vietcombank")
    expect(page.locator("#result-account")).to_have_text("0011001234567")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()
