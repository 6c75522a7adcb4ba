"""The trader's timeline page over HTTP: changes told as sentences in both languages, newest first."""

from tests.helpers import browser_login
from tests.integration.test_storefronts import VOLUNTEER, add_product, new_merchant


async def test_the_timeline_tells_changes_as_sentences_newest_first_in_both_languages(client) -> None:
    await browser_login(client, VOLUNTEER)
    merchant_id = await new_merchant(client, "Cá biển Bà Tư")
    added = await add_product(client, merchant_id, "Cá thu tươi", price="85k")
    assert added.status_code == 303, added.text

    page = (await client.get(f"/merchants/{merchant_id}/timeline")).text
    timeline = page.split('id="timeline"')[1]
    assert "Đăng sản phẩm Cá thu tươi 85.000\u00a0₫" in timeline
    assert "Tạo gian hàng trực tuyến" in timeline
    # Newest first: the product comes before the registration it followed.
    assert timeline.index("Đăng sản phẩm") < timeline.index("Tạo gian hàng") < timeline.index("Đã đăng ký")
    for code in ("product_id", "image_id", "storefront:", "Thay đổi"):
        assert code not in timeline, code

    english = (await client.get(f"/merchants/{merchant_id}/timeline?lang=en")).text.split('id="timeline"')[1]
    assert "Listed product Cá thu tươi 85.000\u00a0₫" in english
    assert "Created the online storefront" in english


async def test_every_date_on_the_trader_pages_has_one_format(client) -> None:
    import re

    await browser_login(client, VOLUNTEER)
    merchant_id = await new_merchant(client, "Rau sạch Cô Út")
    for path in (f"/merchants/{merchant_id}", f"/merchants/{merchant_id}/timeline"):
        vi = (await client.get(f"{path}?lang=vi")).text
        assert re.search(r"\b\d{1,2}/\d{1,2}/20\d\d \d\d:\d\d\b", vi), path
        assert "thg" not in vi and not re.search(r"\b\d{1,2}/\d{1,2}/\d\d\b(?!\d)", vi), path
        en = (await client.get(f"{path}?lang=en")).text
        assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d\b", en), path
