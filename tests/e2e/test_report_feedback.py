"""A volunteer tells the commune about a problem from the tablet; the commune officer marks it handled."""

from playwright.sync_api import expect

from tests.e2e.conftest import TABLET, sign_in

NOTE = "Wi-Fi ở chợ Đông Ba chập chờn, tiểu thương không quét được mã QR"


def test_volunteer_reports_and_officer_marks_it_handled(browser, live_server) -> None:
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "demo-volunteer")
    page.click("text=Phản ánh vấn đề, nhu cầu")  # from the home page
    expect(page.locator("h1")).to_have_text("Phản ánh vấn đề, nhu cầu")
    page.select_option("#village_id", label="Tổ dân phố Đông Ba")
    page.check("input[name=topic][value=connectivity]")
    page.click("main form button.primary")
    expect(page.locator("#note-error")).to_be_visible()  # the note was forgotten
    expect(page.locator("#village_id option:checked")).to_have_text("Tổ dân phố Đông Ba")
    expect(page.locator("input[name=topic][value=connectivity]")).to_be_checked()
    page.fill("#note", NOTE)
    page.click("main form button.primary")
    expect(page.locator(".flash")).to_contain_text("Đã gửi phản ánh tới cơ quan quản lý.")
    expect(page.locator("article.feedback")).to_contain_text(NOTE)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.close()

    officer = browser.new_page(viewport=TABLET)
    sign_in(officer, live_server, "demo-commune")
    officer.goto(f"{live_server.url}/reports/feedback")
    counts = officer.locator("#feedback-counts tr[data-topic=connectivity]")
    expect(counts.locator("[data-status=open]")).to_have_text("1")
    report = officer.locator("article.feedback", has_text=NOTE)
    expect(report).to_contain_text("Kết nối mạng · Tổ dân phố Đông Ba")
    report.locator("input[name=note]").fill("Đã liên hệ nhà mạng lắp thêm điểm phát")
    report.locator("button", has_text="Đã xử lý").click()
    expect(officer.locator(".flash")).to_contain_text("Đã đánh dấu phản ánh là đã xử lý.")
    expect(officer.locator("article.feedback", has_text=NOTE)).to_have_count(0)
    expect(counts.locator("[data-status=handled]")).to_have_text("1")
    officer.click("nav a:has-text('Đã xử lý')")
    expect(officer.locator("article.feedback", has_text=NOTE)).to_contain_text("Đã liên hệ nhà mạng")
    officer.close()
