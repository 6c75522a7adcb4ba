"""A volunteer's day on a tablet: the worklist, a visit, a stage with its evidence, the worklist
changing; then the team leader verifies the claim."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from service.onboarding.stages import local_date
from tests.e2e.conftest import TABLET, sign_in

TRADER = "Mè xửng Thiên Hương"  # demo: a QR code for weeks, no use yet, a follow-up due


def card(page, section: str):
    return page.locator(f"section#{section} li.card", has_text=TRADER)


def test_a_volunteers_day_from_worklist_to_verified_stage(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    expect(page.locator("#worklist-title")).to_have_text("Việc cần làm hôm nay")  # the home page
    expect(card(page, "follow_up")).to_be_visible()
    expect(card(page, "follow_up")).to_contain_text("Đã có QR nhưng chưa dùng")  # its other reason
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]

    # The visit the trader was promised.
    card(page, "follow_up").locator("a.button.primary").click()
    expect(page.locator("h1")).to_have_text("Ghi lần thăm")
    page.fill("#minutes", "20")
    page.check("input[name=topics][value=qr_payments]")
    page.check("input[name=topics][value=online_safety]")
    page.fill("#note", "Hướng dẫn chủ hộ xem thông báo nhận tiền trên điện thoại")
    page.click("main form button.primary")
    expect(page.locator("#outcome-error")).to_be_visible()  # the outcome was forgotten
    expect(page.locator("#note")).to_have_value("Hướng dẫn chủ hộ xem thông báo nhận tiền trên điện thoại")
    page.check("input[name=outcome][value=progressed]")
    follow_up = local_date(datetime.now(UTC)) + timedelta(days=14)
    page.fill("#next_follow_up", follow_up.isoformat())
    page.click("main form button.primary")

    expect(page.locator(".flash")).to_contain_text("Đã ghi lần thăm.")
    expect(page.locator("h1")).to_have_text("Việc cần làm")
    expect(card(page, "follow_up")).to_have_count(0)
    expect(card(page, "installed_not_using")).to_be_visible()

    # The trader now takes QR payments from customers: the stage, with its evidence.
    card(page, "installed_not_using").locator("a.button.primary").click()
    expect(page.locator("h1")).to_have_text("Ghi nhận: Dùng QR thường xuyên")
    expect(page.locator("#customer_payments_7d-hint")).to_contain_text("Không tính các khoản chuyển thử")
    page.fill("#customer_payments_7d", "0")
    page.click("main form button.primary")
    expect(page.locator("#customer_payments_7d-error")).to_be_visible()
    page.fill("#customer_payments_7d", "6")
    page.click("main form button.primary")

    expect(page.locator(".flash")).to_contain_text("Đã ghi nhận: Dùng QR thường xuyên.")
    expect(page.locator("section.work li.card", has_text=TRADER)).to_have_count(0)

    # The timeline shows the visit and the self-reported stage.
    page.goto(f"{live_server.url}/merchants/?q=me xung")
    page.click(f"text={TRADER}")
    page.click("#timeline-link")
    # Its storefront is published: listed stays its highest stage, with QR use claimed beside it.
    expect(page.locator("#current-stage")).to_have_text("Có gian hàng trực tuyến")
    expect(page.locator("#stage-qr_active .badge")).to_have_text("tự khai")
    expect(page.locator("ol.timeline")).to_contain_text("20 phút")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.context.clear_cookies()

    # The team leader confirms it.
    sign_in(page, live_server, "demo-leader")
    page.click("text=Tiến độ và xác minh")
    claim = page.locator("#claims li.claim", has_text=TRADER).filter(has_text="Dùng QR thường xuyên")
    expect(claim).to_contain_text("6 lần khách trả")
    claim.locator("button[value=verify]").click()
    expect(page.locator(".flash")).to_contain_text("Đã xác minh: Dùng QR thường xuyên.")
    expect(
        page.locator("#claims li.claim", has_text=TRADER).filter(has_text="Dùng QR thường xuyên")
    ).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.click("#list-listed summary")  # the team's traders by their highest stage
    page.click(f"#list-listed >> text={TRADER}")
    expect(page.locator("#stage-qr_active .badge")).to_have_text("✓ đã xác minh")
    page.close()
