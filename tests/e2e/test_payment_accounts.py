import io
import re

import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from service.payments.vietqr import VietQR, encode
from tests.e2e.conftest import TABLET, sign_in
from tests.integration.test_payments_api import phone_photo

# The QR the trader's MB Bank app shows; Bánh lọc Bà Tư (owner Ngô Thị Tư) has no account yet.
TRADER_QR = encode(VietQR(bank_bin="970422", account="0901234567890"))


def read_qr(data: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


def test_volunteer_adds_an_account_from_the_traders_qr_and_prints_the_poster_on_a_tablet(
    browser, live_server, tmp_path
) -> None:
    picture = tmp_path / "mb-bank-app.jpg"
    picture.write_bytes(phone_photo(TRADER_QR))
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.click(".mainnav >> text=Tiểu thương")
    page.click("text=Bánh lọc Bà Tư")
    expect(page.locator("h1")).to_have_text("Bánh lọc Bà Tư")
    expect(page.locator("#no-payment-account")).to_be_visible()

    page.click("#scan-own-qr")
    expect(page.locator("h1")).to_have_text("Quét mã QR từ ứng dụng ngân hàng của tiểu thương")
    page.set_input_files("#image", str(picture))
    page.get_by_role("button", name="Đọc mã từ ảnh").click()

    expect(page.locator("#imported")).to_contain_text("MB Bank")
    expect(page.locator("#bank_bin")).to_have_value("970422")
    expect(page.locator("#account")).to_have_value("0901234567890")
    expect(page.locator("#holder_name")).to_have_value("NGO THI TU")
    page.click("#save-account")

    expect(page.locator("h1")).to_have_text("Bánh lọc Bà Tư")
    expect(page.locator(".flash")).to_contain_text("Đã lưu tài khoản nhận tiền.")
    expect(page.locator(".payment-account.primary")).to_contain_text("0901234567890")
    qr = page.locator("#payment-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.getElementById('payment-qr').naturalWidth > 0")
    png = page.request.get(f"{live_server.url}{qr.get_attribute('src').replace('qr.svg', 'qr.png')}")
    assert read_qr(png.body()) == TRADER_QR
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]

    page.click("#print-poster")
    expect(page.locator("h1")).to_contain_text("Biển QR")
    code = page.locator("#poster-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    expect(page.locator("#verify-link")).to_have_text(f"{live_server.url}/v/{code}")
    poster = page.locator("#poster-image")
    poster.scroll_into_view_if_needed()
    page.wait_for_function("() => document.getElementById('poster-image').naturalWidth > 0")
    image = page.request.get(f"{live_server.url}/payments/posters/{code}/poster.png")
    assert read_qr(image.body()) == TRADER_QR
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()
