from playwright.sync_api import expect

from tests.e2e.conftest import TABLET, sign_in
from tests.integration.test_merchant_import import csv_bytes

HEADER = ["Tên cơ sở", "Chủ hộ", "Số điện thoại", "Loại hình", "Ngành hàng", "Thôn", "Đồng ý"]
ROWS = [
    [
        "Bánh canh Nam Phổ Cô Hoa",
        "Nguyễn Thị Hoa",
        "0912 111 001",
        "Sạp chợ",
        "Ăn uống",
        "Gia Hội",
        "liên hệ",
    ],
    ["Chè Hẻm Út Tâm", "Lê Thị Tâm", "0912 111 0O2", "Sạp chợ", "Ăn uống", "", "liên hệ, thống kê"],
    ["Nón lá Sình", "Phạm Thị Sình", "0912 111 001", "Hộ kinh doanh", "OCOP", "", "gian hàng"],
]


def test_leader_imports_a_spreadsheet_on_a_tablet(browser, live_server, tmp_path) -> None:
    broken = tmp_path / "cho-gia-hoi.csv"
    broken.write_bytes(csv_bytes([HEADER, *ROWS]))
    fixed = tmp_path / "cho-gia-hoi-da-sua.csv"
    second = [*ROWS[1][:2], "0912 111 002", *ROWS[1][3:]]
    third = [*ROWS[2][:2], "0912 111 003", *ROWS[2][3:]]
    fixed.write_bytes(csv_bytes([HEADER, ROWS[0], second, third]))
    page = browser.new_page(viewport=TABLET)
    sign_in(page, live_server, "totruong-2")
    page.goto(f"{live_server.url}/merchants/")
    page.click("#import-link")
    expect(page.locator("h1")).to_have_text("Nhập tiểu thương từ tệp")

    page.set_input_files("#file", str(broken))
    page.click("#import-check")
    expect(page.locator("#import-summary")).to_have_text("3 dòng · 1 dòng hợp lệ · 1 dòng lỗi · 1 dòng trùng")
    problems = page.locator("#import-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("3")
    expect(problems.nth(0)).to_contain_text("Số điện thoại không hợp lệ.")
    expect(problems.nth(1)).to_contain_text("Trùng với dòng 2 của tệp.")
    expect(page.locator("#import-commit")).to_have_count(0)

    page.set_input_files("#file", str(fixed))
    page.click("#import-check")
    expect(page.locator("#import-summary")).to_have_text("3 dòng · 3 dòng hợp lệ · 0 dòng lỗi · 0 dòng trùng")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.click("#import-commit")

    expect(page.locator("h1")).to_have_text("Tiểu thương")
    expect(page.locator(".flash")).to_contain_text("Đã nhập 3 tiểu thương từ cho-gia-hoi-da-sua.csv.")
    expect(page.locator(".merchant-list .title")).to_have_count(3)
    for name in ("Bánh canh Nam Phổ Cô Hoa", "Chè Hẻm Út Tâm", "Nón lá Sình"):
        expect(page.locator(".merchant-list .title", has_text=name)).to_be_visible()
    page.click("text=Chè Hẻm Út Tâm")
    expect(page.locator("#owner-phone")).to_have_text("0912 111 002")
    page.close()
