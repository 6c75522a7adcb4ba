"""Storefronts in a real Chromium on a phone: a shopper finds a trader in the directory, reads
every QR on the page, follows the share link; a volunteer makes the trader's edit link, and the
trader changes prices with it on their own phone; a photo loses its GPS; a hostile name stays text."""

import io
import re

import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from service.generated.demo import demo_merchant_id
from service.generated.demo_storefronts import write_photos
from tests.e2e.conftest import PHONE, sign_in
from tests.integration.test_storefront_photos import camera_photo

BUN_HEN = demo_merchant_id(0)  # Bún hến Đông Ba O Nga: published, Agribank account
BUN_HEN_SLUG = "bun-hen-dong-ba-o-nga-cho-dong-ba"
HOSTILE = "<script>alert(1)</script>"


def read_qr(data: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


def loaded(page, selector: str) -> None:
    locator = page.locator(selector)
    locator.scroll_into_view_if_needed()
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=locator.element_handle())


def test_shopper_finds_a_trader_reads_every_qr_and_follows_the_share_link(browser, live_server) -> None:
    write_photos(live_server.media_dir)  # the demo database's pictures, drawn again
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(f"{live_server.url}/s/")
    expect(page.locator("h1")).to_have_text("Gian hàng chợ số")
    assert page.locator("#results > li").count() >= 12
    page.fill("#q", "bun hen")
    page.get_by_role("button", name="Tìm").click()
    expect(page.locator("#results a.name")).to_have_count(1)
    page.click("#results a.name")
    expect(page.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The page's own weight: HTML with its inline CSS, no stylesheet or font fetched.
    weight = page.evaluate("performance.getEntriesByType('navigation')[0].decodedBodySize")
    assert 0 < weight <= 30 * 1024, weight
    fetched = page.evaluate("performance.getEntriesByType('resource').map(r => r.name)")
    assert not [url for url in fetched if url.endswith((".css", ".woff2", ".js"))], fetched

    # Every QR as the browser shows it, read from the rendered pixels.
    loaded(page, "#stall-qr")
    stall = read_qr(page.locator("#stall-qr").screenshot())
    assert stall.startswith("000201010211") and "4000205123456" in stall
    summaries = page.locator("details > summary")
    assert summaries.count() == 4  # Nước sâm is sold out: no "pay this amount"
    for n in range(summaries.count()):
        summaries.nth(n).click()
        image = page.locator("details[open] img.qr").nth(n)
        image.scroll_into_view_if_needed()
        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle())
        text = read_qr(image.screenshot())
        amount = re.search(r"amount=(\d+)", image.get_attribute("src")).group(1)
        assert f"54{len(amount):02d}{amount}" in text  # the amount is in the QR
    photos = page.locator("li.item picture img")
    for n in range(photos.count()):
        photos.nth(n).scroll_into_view_if_needed()
        page.wait_for_function(
            "(el) => el.complete && el.naturalWidth > 0", arg=photos.nth(n).element_handle()
        )
    loaded(page, "#share-qr")
    shared = read_qr(page.locator("#share-qr").screenshot())
    assert shared == f"{live_server.url}/s/{BUN_HEN_SLUG}"
    expect(page.locator("#share-url")).to_have_value(shared)

    # Copy the link (JavaScript shows the button), then open it as whoever received it.
    page.click("#copy-link")
    expect(page.locator("#copy-link")).to_have_text("Đã chép")
    assert page.evaluate("navigator.clipboard.readText()") == shared
    other = context.new_page()
    other.goto(shared)
    expect(other.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")
    other.click("text=English")
    expect(other.locator("h2#products")).to_have_text("Products and prices")
    assert not dialogs
    context.close()


def test_page_works_without_javascript(browser, live_server) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{BUN_HEN_SLUG}")
    expect(page.locator("h1")).to_have_text("Bún hến Đông Ba O Nga")
    expect(page.locator("#copy-link")).to_be_hidden()
    expect(page.locator("#share-url")).to_have_value(f"{live_server.url}/s/{BUN_HEN_SLUG}")
    page.locator("details > summary").first.click()  # <details> opens without a script
    expect(page.locator("details[open] img.qr")).to_be_visible()

    # Printed, the page is a price list: names and prices, the address; no QR, photos or buttons.
    page.emulate_media(media="print")
    expect(page.locator("li.item .name").first).to_be_visible()
    expect(page.locator("li.item .price").first).to_be_visible()
    for hidden in ("#pay", "#share", "details", "li.item img", "header.bar", "footer"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator(".printonly")).to_contain_text(f"/s/{BUN_HEN_SLUG}")
    context.close()


def test_trader_changes_prices_with_the_link_on_their_phone_and_nothing_else(browser, live_server) -> None:
    volunteer = browser.new_context(viewport=PHONE)
    page = volunteer.new_page()
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    page.click("#new-link")
    expect(page.locator("h1")).to_have_text("Liên kết cho tiểu thương tự sửa gian hàng")
    link = page.locator("#link-url").input_value()
    assert read_qr(page.locator("#link-qr").screenshot()) == link
    volunteer.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True)
    trader = phone.new_page()
    trader.goto(link)
    expect(trader.locator("h1")).to_have_text("Sửa gian hàng Bún hến Đông Ba O Nga")
    trader.get_by_label("Bún hến", exact=True).fill("30.000")
    trader.get_by_label("Nước sâm còn hàng").check()
    trader.get_by_role("button", name="Lưu giá").click()
    expect(trader.locator(".flash")).to_contain_text("Đã lưu")
    trader.goto(f"{live_server.url}/s/{BUN_HEN_SLUG}")
    expect(trader.locator("li.item", has_text="Bún hến").first).to_contain_text("30.000 ₫")
    expect(trader.locator("li.item", has_text="Nước sâm")).not_to_contain_text("Hết hàng")

    # Anything else is refused, even when the form is forged.
    trader.goto(link)
    token = trader.locator("#prices input[name=_csrf_token]").input_value()
    product = trader.locator("#prices input[name^=price-]").first.get_attribute("name").removeprefix("price-")
    refused = trader.request.post(
        f"{link}/prices",
        form={
            "_csrf_token": token,
            f"listed-{product}": "1",
            f"price-{product}": "1000",
            f"name-{product}": "X",
        },
    )
    assert refused.status == 403
    assert trader.request.post(f"{link}/publish", form={"_csrf_token": token}).status in (404, 405)
    assert trader.request.get(
        f"{live_server.url}/merchants/{BUN_HEN}/storefront", max_redirects=0
    ).status in (
        302,
        303,
    )
    phone.close()


def test_photo_loses_its_gps_and_a_hostile_name_stays_text(browser, live_server, tmp_path) -> None:
    picture = tmp_path / "IMG_0042.jpg"
    picture.write_bytes(camera_photo())
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, live_server, "demo-volunteer")
    page.goto(f"{live_server.url}/merchants/{BUN_HEN}/storefront")
    page.fill("#name", HOSTILE)
    page.fill("#price", "12.000")
    page.set_input_files("#image", str(picture))
    page.get_by_role("button", name="Thêm sản phẩm").click()
    expect(page.locator(".flash")).to_contain_text("Đã thêm sản phẩm.")
    thumb = page.locator("#products img").last.get_attribute("src")
    display = page.request.get(f"{live_server.url}{thumb.replace('-thumb', '-display')}")
    assert display.ok
    assert b"GPS" not in display.body() and b"Exif" not in display.body()
    assert not Image.open(io.BytesIO(display.body())).getexif()

    page.goto(f"{live_server.url}/s/{BUN_HEN_SLUG}")
    expect(page.locator("li.item .name").last).to_have_text(HOSTILE)
    page.locator("details > summary").last.click()
    assert not dialogs
    context.close()
