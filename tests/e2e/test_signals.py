"""Signals of real use in a real Chromium: the trader answers the weekly question on their phone
with one tap (no JavaScript needed) and the volunteer finds the answer as support for a claim."""

from playwright.sync_api import expect

from service.generated.demo import demo_merchant_id
from tests.e2e.conftest import PHONE, TABLET, sign_in

BUN_HEN = demo_merchant_id(0)  # Bún hến Đông Ba O Nga: published, with a payment account


def test_trader_answers_the_weekly_question_with_one_tap_and_the_volunteer_sees_it(
    browser, live_server
) -> None:
    tablet = browser.new_context(viewport=TABLET)
    volunteer = tablet.new_page()
    sign_in(volunteer, live_server, "demo-volunteer")
    volunteer.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    volunteer.click("#new-link")
    link = volunteer.locator("#link-url").input_value()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, java_script_enabled=False)
    trader = phone.new_page()
    trader.goto(link)
    question = trader.locator("#checkin")
    expect(question.locator("h2")).to_have_text("Tuần này có bao nhiêu khách trả bằng QR?")
    button = question.get_by_role("button", name="6–20 khách")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 56 and box["width"] >= 120  # big enough for a thumb
    button.click()
    expect(trader.locator(".flash")).to_contain_text("Cảm ơn bạn!")
    expect(trader.locator("#checkin-thanks")).to_have_text("Cảm ơn! Tuần này bạn đã trả lời: 6–20 khách.")
    hidden = question.get_by_role("button", name="không có khách nào")
    expect(hidden).to_be_hidden()  # behind "change the answer"
    trader.get_by_text("Đổi câu trả lời").click()
    question.get_by_role("button", name="hơn 20 khách").click()
    expect(trader.locator("#checkin-thanks")).to_have_text("Cảm ơn! Tuần này bạn đã trả lời: hơn 20 khách.")
    phone.close()

    volunteer.goto(f"{live_server.url}/merchants/{BUN_HEN}/stages/new?stage=qr_active")
    expect(volunteer.locator("#checkin-support")).to_contain_text("Tiểu thương báo có khách trả bằng QR tuần")
    expect(volunteer.locator("#checkin-support")).to_contain_text("hơn 20 khách")
    tablet.close()
