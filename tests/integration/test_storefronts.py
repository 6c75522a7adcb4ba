"""Storefronts over HTTP: the team's editor, publishing, the public page (escaping, JSON-LD,
OpenGraph, weight, privacy), its QR images and poster, caching and invalidation, old addresses,
the directory."""

import io
import itertools
import json
import re
from html.parser import HTMLParser

import pytest
import zxingcpp
from PIL import Image

from service.generated.demo import demo_merchant_id
from service.payments.vietqr import VietQR, decode, encode
from tests.helpers import api_token, browser_login, csrf_from

VOLUNTEER = "demo-volunteer"  # Tổ công nghệ số chợ Đông Ba
BUN_HEN = demo_merchant_id(0)  # published demo storefront; Agribank account
BUN_HEN_SLUG = "bun-hen-dong-ba-o-nga-cho-dong-ba"
STALL = encode(VietQR(bank_bin="970405", account="4000205123456"))
CA_PHE = demo_merchant_id(15)  # Cà phê muối Đông Ba: a draft, no consent to a public page
CA_PHE_SLUG = "ca-phe-muoi-dong-ba-cho-dong-ba"
HOSTILE = "<script>alert(1)</script>"
# Phones of the traders registered here: distinct, and far from the demo traders' (0905 1xx xxx).
_phones = itertools.count(700001)


def read_qr(data: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


def editor(merchant_id) -> str:
    return f"/merchants/{merchant_id}/storefront"


async def submit(client, page_url: str, action: str, data: dict | None = None, files: dict | None = None):
    """Open a page, take its CSRF token, post a form to `action` like the browser would."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text
    return await client.post(
        action,
        data={**(data or {}), "_csrf_token": csrf_from(page.text)},
        files=files,
        follow_redirects=False,
    )


async def new_merchant(client, name: str = "Bún bò Cô Ba", **overrides) -> str:
    """A trader registered by demo-volunteer's team (with consent to a storefront)."""
    headers = await api_token(client, VOLUNTEER)
    body = {
        "kind": "market_stall",
        "business_name": name,
        "category": "food_drink",
        "owner_name": "Lê Thị Ba",
        "owner_phone": f"0905{next(_phones):06d}",
        "commune_code": "19753",
        "market": "Chợ Đông Ba",
        "stall": "C-21",
        "consent_purposes": ["storefront", "contact"],
        **overrides,
    }
    response = await client.post("/api/v1/merchants", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def add_product(client, merchant_id, name: str, price: str = "25.000", files=None, **fields):
    data = {"name": name, "price": price, "unit": "bát", "available": "on", **fields}
    return await submit(
        client, editor(merchant_id), f"/merchants/{merchant_id}/storefront/products", data, files
    )


async def publish(client, merchant_id):
    return await submit(client, editor(merchant_id), f"/merchants/{merchant_id}/storefront/publish")


async def published_storefront(
    client, *products: tuple[str, str], name: str = "Bún bò Cô Ba"
) -> tuple[str, str]:
    """A new trader with a published page; returns (merchant id, slug)."""
    merchant_id = await new_merchant(client, name)
    for product, price in products or (("Bún bò", "35.000"),):
        assert (await add_product(client, merchant_id, product, price)).status_code == 303
    assert (await publish(client, merchant_id)).status_code == 303
    page = await client.get(editor(merchant_id))
    slug = re.search(r'id="public-link" href="/s/([a-z0-9-]+)"', page.text).group(1)
    return merchant_id, slug


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)

    def handle_data(self, data):
        if self._script is not None:
            self.scripts.append((self._script, data))
            self._script = None

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def product_names(html: str) -> list[str]:
    """The names in a public page's product list, in order (the page title is the trader's name)."""
    return re.findall(r'<div class="name">([^<]*)</div>', html)


def json_ld(html: str) -> dict:
    (data,) = [text for attrs, text in parse(html).scripts if attrs.get("type") == "application/ld+json"]
    return json.loads(data)


def meta(html: str, prop: str) -> str | None:
    for tag, attrs in parse(html).tags:
        if tag == "meta" and prop in (attrs.get("property"), attrs.get("name")):
            return attrs.get("content")
    return None


@pytest.fixture
async def volunteer(client):
    await browser_login(client, VOLUNTEER)
    return client


# --- the team's editor and publishing ------------------------------------------------------------


async def test_publishing_needs_a_product_then_records_the_listed_stage(volunteer) -> None:
    client = volunteer
    merchant_id = await new_merchant(client)
    page = await client.get(editor(merchant_id))
    assert page.status_code == 200 and "Chưa công khai" in page.text
    refused = await publish(client, merchant_id)
    assert refused.status_code == 409
    assert "Cần ít nhất một sản phẩm trước khi công khai gian hàng." in refused.text

    assert (await add_product(client, merchant_id, "Bún bò giò heo", "35.000 ₫")).status_code == 303
    done = await publish(client, merchant_id)
    assert done.status_code == 303 and done.headers["location"] == editor(merchant_id)
    headers = await api_token(client, VOLUNTEER)
    merchant = (await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers)).json()
    assert merchant["current_stage"] == "listed"

    public = await client.get("/s/bun-bo-co-ba-cho-dong-ba")
    assert public.status_code == 200
    assert product_names(public.text) == ["Bún bò giò heo"] and "35.000\u00a0₫" in public.text


async def test_publishing_needs_the_traders_consent(volunteer) -> None:
    refused = await publish(volunteer, CA_PHE)
    assert refused.status_code == 409
    assert "chưa đồng ý đăng thông tin gian hàng công khai" in refused.text
    assert (await volunteer.get(f"/s/{CA_PHE_SLUG}")).status_code == 404


async def test_editor_saves_every_field_and_reports_every_problem_at_once(volunteer) -> None:
    client = volunteer
    merchant_id = await new_merchant(client)
    bad = await submit(
        client,
        editor(merchant_id),
        editor(merchant_id),
        {
            "headline": "x" * 121,
            "map_url": "http://maps.example.vn/a",
            "link_shopee": "https://evil.example.com/shopee.vn",
            "contact_zalo": "on",
            "hours_mon_open": "25:00",
            "hours_mon_close": "11:00",
        },
    )
    assert bad.status_code == 422
    for message in (
        "Tối đa 120 ký tự.",
        "Liên kết phải bắt đầu bằng https://",
        "Liên kết phải thuộc shopee.vn, shope.ee.",
        "Cần số điện thoại để khách gọi hoặc nhắn Zalo.",
        "Cần giờ mở và giờ đóng, ví dụ 06:00 và 11:30.",
    ):
        assert message in bad.text
    assert 'value="http://maps.example.vn/a"' in bad.text  # what was typed stays

    good = await submit(
        client,
        editor(merchant_id),
        editor(merchant_id),
        {
            "headline": "Bún bò nấu bằng bếp củi",
            "description": "Mở từ sáng sớm.\nCó chỗ ngồi.",
            "location_note": "Cổng số 3",
            "map_url": "https://maps.app.goo.gl/abc123",
            "contact_phone": "0905 123 456",
            "contact_call": "on",
            "contact_zalo": "on",
            "hours_mon_open": "6h",
            "hours_mon_close": "11:30",
            "hours_sun_closed": "on",
            "link_shopee": "https://shopee.vn/bunboba",
            "link_facebook": "https://m.facebook.com/bunboba",
        },
    )
    assert good.status_code == 303
    assert (await add_product(client, merchant_id, "Bún bò")).status_code == 303
    assert (await publish(client, merchant_id)).status_code == 303
    html = (await client.get("/s/bun-bo-co-ba-cho-dong-ba")).text
    assert 'href="tel:+84905123456"' in html and 'href="https://zalo.me/0905123456"' in html
    assert "06:00–11:30" in html and "Nghỉ" in html
    assert 'href="https://shopee.vn/bunboba"' in html and "Cổng số 3" in html
    data = json_ld(html)
    assert data["openingHoursSpecification"] == [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": "https://schema.org/Monday",
            "opens": "06:00",
            "closes": "11:30",
        }
    ]
    assert data["sameAs"] == ["https://shopee.vn/bunboba", "https://m.facebook.com/bunboba"]


async def test_officers_read_and_other_teams_do_not_see(client) -> None:
    await browser_login(client, "demo-commune")
    page = await client.get(editor(BUN_HEN))
    assert page.status_code == 200 and 'id="publish"' not in page.text and "Tạo liên kết mới" not in page.text
    refused = await client.post(
        f"/merchants/{BUN_HEN}/storefront/unpublish", data={"_csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 403
    await client.post("/logout", data={"_csrf_token": csrf_from(page.text)})
    await browser_login(client, "demo-volunteer-b")
    assert (await client.get(editor(BUN_HEN))).status_code == 404


async def test_storefront_changes_are_on_the_merchant_timeline(volunteer) -> None:
    merchant_id, _ = await published_storefront(volunteer)
    headers = await api_token(volunteer, "demo-leader")
    rows = (await volunteer.get(f"/api/v1/merchants/{merchant_id}/timeline", headers=headers)).json()
    changes = [i for i in rows["items"] if i.get("entity_type") == "storefront"]
    assert {"slug", "published", "price"} <= {f for i in changes for f in i["fields"]}


async def test_products_are_edited_reordered_and_removed(volunteer) -> None:
    client = volunteer
    merchant_id, slug = await published_storefront(client, ("Bún bò", "35000"), ("Bánh bột lọc", "5.000"))
    page = await client.get(editor(merchant_id))
    first, second = re.findall(r"/storefront/products/([0-9a-f-]{36})\"", page.text)[:2]
    moved = await submit(
        client,
        editor(merchant_id),
        f"/merchants/{merchant_id}/storefront/products/{second}/move",
        {"direction": "up"},
    )
    assert moved.status_code == 303
    html = (await client.get(f"/s/{slug}")).text
    assert html.index('class="name">Bánh bột lọc<') < html.index('class="name">Bún bò<')

    product_page = f"/merchants/{merchant_id}/storefront/products/{first}"
    changed = await submit(client, product_page, product_page, {"name": "Bún bò đặc biệt", "price": "45.000"})
    assert changed.status_code == 303
    html = (await client.get(f"/s/{slug}")).text
    assert product_names(html) == ["Bánh bột lọc", "Bún bò đặc biệt"] and "45.000\u00a0₫" in html
    assert re.search(r'class="item out"[^>]*>.*?Bún bò đặc biệt', html, re.S)  # unticked: sold out

    delete_first = f"/merchants/{merchant_id}/storefront/products/{first}/delete"
    asked = await submit(client, editor(merchant_id), delete_first)
    assert asked.status_code == 200  # the button asks first; nothing is deleted yet
    assert "Xóa sản phẩm Bún bò đặc biệt?" in asked.text and 'name="confirm" value="1"' in asked.text
    assert "Bún bò đặc biệt" in (await client.get(f"/s/{slug}")).text
    removed = await submit(client, editor(merchant_id), delete_first, {"confirm": "1"})
    assert removed.status_code == 303
    last = await submit(
        client,
        editor(merchant_id),
        f"/merchants/{merchant_id}/storefront/products/{second}/delete",
        {"confirm": "1"},
    )
    assert last.status_code == 409  # a published page keeps at least one product
    assert product_names((await client.get(f"/s/{slug}")).text) == ["Bánh bột lọc"]


# --- the public page ---------------------------------------------------------------------------


async def test_hostile_text_stays_text_in_the_page_and_in_json_ld(volunteer) -> None:
    client = volunteer
    merchant_id = await new_merchant(client, "Quán <b>Ba</b> & Con")
    saved = await submit(
        client, editor(merchant_id), editor(merchant_id), {"headline": "</script><script>alert(2)</script>"}
    )
    assert saved.status_code == 303, saved.text
    added = await add_product(client, merchant_id, HOSTILE, unit='"><img src=x onerror=alert(3)>')
    assert added.status_code == 303, added.text
    assert (await publish(client, merchant_id)).status_code == 303
    page = await client.get(editor(merchant_id))
    slug = re.search(r'href="/s/([a-z0-9-]+)"', page.text).group(1)
    html = (await client.get(f"/s/{slug}")).text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Ba</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (ld_text,) = [t for a, t in parse(html).scripts if a.get("type") == "application/ld+json"]
    assert "</" not in ld_text and "<" not in ld_text
    data = json.loads(ld_text)
    assert data["name"] == "Quán <b>Ba</b> & Con"
    assert data["description"] == "</script><script>alert(2)</script>"
    assert data["makesOffer"][0]["itemOffered"]["name"] == HOSTILE
    # The only scripts are the JSON-LD and the page's own small copy-link script.
    assert len(parse(html).scripts) == 2


async def test_json_ld_is_a_local_business_with_offers_in_vnd(client) -> None:
    html = (await client.get(f"/s/{BUN_HEN_SLUG}")).text
    data = json_ld(html)
    assert data["@context"] == "https://schema.org" and data["@type"] == "LocalBusiness"
    assert data["name"] == "Bún hến Đông Ba O Nga"
    assert data["url"] == f"http://127.0.0.1:8000/s/{BUN_HEN_SLUG}"
    assert data["address"]["addressCountry"] == "VN" and data["address"]["streetAddress"].startswith(
        "Chợ Đông Ba"
    )
    offers = {o["itemOffered"]["name"]: o for o in data["makesOffer"]}
    assert offers["Bún hến"]["price"] == "25000" and offers["Bún hến"]["priceCurrency"] == "VND"
    assert offers["Nước sâm"]["availability"] == "https://schema.org/SoldOut"
    assert all(o["@type"] == "Offer" and o["itemOffered"]["@type"] == "Product" for o in offers.values())


async def test_opengraph_tags_carry_absolute_urls_and_a_cover_image(client) -> None:
    html = (await client.get(f"/s/{BUN_HEN_SLUG}")).text
    assert meta(html, "og:title") == "Bún hến Đông Ba O Nga"
    assert meta(html, "og:url") == f"http://127.0.0.1:8000/s/{BUN_HEN_SLUG}"
    image = meta(html, "og:image")
    assert image.startswith("http://127.0.0.1:8000/media/") and image.endswith("-display.jpg")
    assert meta(html, "og:image:width") and meta(html, "og:image:height")
    assert meta(html, "og:description")


async def test_page_is_light_with_twenty_products_and_sized_lazy_images(volunteer) -> None:
    client = volunteer
    products = [(f"Món ăn đặc sản thứ {n}", f"{15 + n}.000") for n in range(20)]
    photo = {"image": ("mon.jpg", jpeg(Image.new("RGB", (800, 600), (200, 120, 40))), "image/jpeg")}
    merchant_id = await new_merchant(client)
    headers = await api_token(client, VOLUNTEER)
    account = {"bank_bin": "970436", "account": "0011004455999"}
    assert (
        await client.post(f"/api/v1/merchants/{merchant_id}/payment-accounts", json=account, headers=headers)
    ).status_code == 201
    for n, (name, price) in enumerate(products):
        response = await add_product(client, merchant_id, name, price, files=photo if n < 3 else None)
        assert response.status_code == 303, response.text
    assert (await publish(client, merchant_id)).status_code == 303
    response = await client.get("/s/bun-bo-co-ba-cho-dong-ba")
    assert len(response.content) <= 30 * 1024, len(response.content)
    tags = parse(response.text)
    assert not [a for t, a in tags.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert "/static/" not in response.text and "@font-face" not in response.text
    images = [a for t, a in tags.tags if t == "img"]
    assert len(images) == 3 + 20 + 2  # photos, a "pay this amount" QR each, the stall and share QRs
    assert all(a.get("width") and a.get("height") for a in images)
    assert all(a.get("loading") == "lazy" for a in images if "/media/" in a["src"] or "amount=" in a["src"])
    assert [t for t, a in tags.tags if t == "source" and a.get("type") == "image/webp"]


async def test_contact_phone_shows_only_when_chosen_and_id_numbers_never(volunteer) -> None:
    client = volunteer
    merchant_id = await new_merchant(client, owner_id_number="001085012345", owner_phone="0912 777 888")
    assert (await add_product(client, merchant_id, "Bún bò")).status_code == 303
    assert (await publish(client, merchant_id)).status_code == 303
    html = (await client.get("/s/bun-bo-co-ba-cho-dong-ba")).text
    assert product_names(html) == ["Bún bò"]  # the published page itself
    for secret in ("001085012345", "0912 777 888", "+84912777888", "912777888", "Lê Thị Ba"):
        assert secret not in html
    chosen = await submit(
        client,
        editor(merchant_id),
        editor(merchant_id),
        {"contact_phone": "0912 777 888", "contact_call": "on"},
    )
    assert chosen.status_code == 303, chosen.text
    html = (await client.get("/s/bun-bo-co-ba-cho-dong-ba")).text
    assert 'href="tel:+84912777888"' in html and "zalo.me" not in html
    assert "001085012345" not in html


async def test_unknown_unpublished_and_withdrawn_pages_are_404(volunteer) -> None:
    client = volunteer
    for path in (
        "/s/khong-co-gian-hang-nay",
        "/s/NOT_A_SLUG",
        f"/s/{CA_PHE_SLUG}",
        f"/s/{CA_PHE_SLUG}/qr.png",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
    missing = await client.get("/s/khong-co-gian-hang-nay")
    assert "Không tìm thấy gian hàng" in missing.text

    merchant_id, slug = await published_storefront(client)
    assert (await client.get(f"/s/{slug}")).status_code == 200
    unpublished = await submit(client, editor(merchant_id), f"/merchants/{merchant_id}/storefront/unpublish")
    assert unpublished.status_code == 303
    assert (await client.get(f"/s/{slug}")).status_code == 404
    assert (await publish(client, merchant_id)).status_code == 303
    assert (await client.get(f"/s/{slug}")).status_code == 200  # cached now
    headers = await api_token(client, VOLUNTEER)
    version = (await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers)).json()["version"]
    withdrawn = await client.patch(
        f"/api/v1/merchants/{merchant_id}",
        json={"version": version, "consent_purposes": ["contact"]},
        headers=headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await client.get(f"/s/{slug}")).status_code == 404  # the cached page went with the consent


async def test_english_toggle(client) -> None:
    english = await client.get(f"/s/{BUN_HEN_SLUG}?lang=en")
    assert english.status_code == 200 and 'lang="en"' in english.text
    assert (
        "Products and prices" in english.text
        and "Bún hến" in product_names(english.text)  # names stay as the trader wrote them
        and "25.000\u00a0₫" in english.text
    )
    assert english.headers["content-language"] == "en"
    vietnamese = await client.get(f"/s/{BUN_HEN_SLUG}?lang=vi")
    assert "Sản phẩm và giá" in vietnamese.text and english.headers["etag"] != vietnamese.headers["etag"]


# --- caching --------------------------------------------------------------------------------------


async def test_page_has_an_etag_and_a_conditional_get_is_304(client) -> None:
    first = await client.get(f"/s/{BUN_HEN_SLUG}")
    assert first.headers["cache-control"] == "public, no-cache"
    assert "set-cookie" not in first.headers  # nothing personal on a page shared caches may keep
    again = await client.get(f"/s/{BUN_HEN_SLUG}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_cached_page_follows_every_change_that_shows_on_it(volunteer) -> None:
    client = volunteer
    merchant_id, slug = await published_storefront(client, ("Bún bò", "35.000"))
    before = await client.get(f"/s/{slug}")
    assert "35.000\u00a0₫" in before.text and 'id="stall-qr"' not in before.text  # no account yet

    page = await client.get(editor(merchant_id))
    product = re.search(r"/storefront/products/([0-9a-f-]{36})\"", page.text).group(1)
    url = f"/merchants/{merchant_id}/storefront/products/{product}"
    assert (
        await submit(client, url, url, {"name": "Bún bò", "price": "40.000", "available": "on"})
    ).status_code == 303
    after_price = await client.get(f"/s/{slug}", headers={"If-None-Match": before.headers["etag"]})
    assert after_price.status_code == 200 and "40.000\u00a0₫" in after_price.text

    headers = await api_token(client, VOLUNTEER)
    account = await client.post(
        f"/api/v1/merchants/{merchant_id}/payment-accounts",
        json={"bank_bin": "970436", "account": "0011004455999"},
        headers=headers,
    )
    assert account.status_code == 201, account.text
    with_qr = await client.get(f"/s/{slug}")
    assert 'id="stall-qr"' in with_qr.text and "Vietcombank" in with_qr.text

    version = (await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers)).json()["version"]
    edited = await client.patch(
        f"/api/v1/merchants/{merchant_id}",
        json={"version": version, "business_name": "Bún bò Mệ Ba", "stall": "D-02"},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    renamed = await client.get(f"/s/{slug}")
    assert "<h1>Bún bò Mệ Ba</h1>" in renamed.text and "D-02" in renamed.text


async def test_a_rename_gives_a_new_address_and_the_old_one_redirects(volunteer) -> None:
    client = volunteer
    merchant_id, slug = await published_storefront(client)
    assert slug == "bun-bo-co-ba-cho-dong-ba"
    headers = await api_token(client, VOLUNTEER)
    version = (await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers)).json()["version"]
    renamed = await client.patch(
        f"/api/v1/merchants/{merchant_id}",
        json={"version": version, "business_name": "Bún bò Mệ Ba"},
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.text
    saved = await submit(client, editor(merchant_id), editor(merchant_id), {"headline": "Bún bò nấu củi"})
    assert saved.status_code == 303, saved.text
    moved = await client.get(f"/s/{slug}", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/s/bun-bo-me-ba-cho-dong-ba"
    image = await client.get(f"/s/{slug}/qr.svg?amount=1000", follow_redirects=False)
    assert (
        image.status_code == 301
        and image.headers["location"] == "/s/bun-bo-me-ba-cho-dong-ba/qr.svg?amount=1000"
    )
    assert (await client.get("/s/bun-bo-me-ba-cho-dong-ba")).status_code == 200

    # The old address stays this trader's: another "Bún bò Cô Ba" in the market gets a new one.
    _, other_slug = await published_storefront(client, name="Bún bò Cô Ba")
    assert other_slug == "bun-bo-co-ba-cho-dong-ba-2"
    assert (await client.get(f"/s/{slug}", follow_redirects=False)).status_code == 301


# --- QR images and the poster ------------------------------------------------------------------


async def test_storefront_qr_images_read_back_and_refuse_bad_amounts(client) -> None:
    base = f"/s/{BUN_HEN_SLUG}"
    stall = await client.get(f"{base}/qr.png")
    assert stall.status_code == 200 and stall.headers["content-type"] == "image/png"
    assert read_qr(stall.content) == STALL
    assert stall.headers["cache-control"] == "public, no-cache"
    svg = await client.get(f"{base}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")

    paid = await client.get(f"{base}/qr.png", params={"amount": "25.000", "purpose": "Bún hến"})
    qr = decode(read_qr(paid.content))
    assert (qr.amount, qr.purpose, qr.static, qr.account) == (25000, "Bun hen", False, "4000205123456")

    for params in ({"amount": "25,5"}, {"amount": "0"}, {"amount": "600.000.000"}, {"purpose": "x" * 30}):
        assert (await client.get(f"{base}/qr.png", params=params)).status_code == 422, params
    assert (await client.get(f"{base}/poster.pdf", params={"amount": "abc"})).status_code == 422


async def test_every_qr_on_the_page_reads_back(client) -> None:
    html = (await client.get(f"/s/{BUN_HEN_SLUG}")).text
    sources = [
        a["src"]
        for t, a in parse(html).tags
        if t == "img" and ("/qr.png" in a["src"] or "/link.png" in a["src"])
    ]
    assert len(sources) >= 5
    for src in sources:
        response = await client.get(src)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", src
        text = read_qr(response.content)
        if "/link.png" in src:
            assert text == f"http://127.0.0.1:8000/s/{BUN_HEN_SLUG}"
            continue
        qr = decode(text)
        assert qr.account == "4000205123456"
        if "amount=" in src:
            assert f"amount={qr.amount}" in src and not qr.static
    assert 'href="/s/bun-hen-dong-ba-o-nga-cho-dong-ba/poster.pdf"' in html


async def test_poster_pdf_with_revalidation(client) -> None:
    poster = await client.get(f"/s/{BUN_HEN_SLUG}/poster.pdf", params={"amount": "25000"})
    assert poster.status_code == 200 and poster.headers["content-type"] == "application/pdf"
    assert poster.content.startswith(b"%PDF")
    again = await client.get(
        f"/s/{BUN_HEN_SLUG}/poster.pdf",
        params={"amount": "25000"},
        headers={"If-None-Match": poster.headers["etag"]},
    )
    assert again.status_code == 304


# --- the directory ----------------------------------------------------------------------------------


def listed(html: str) -> list[str]:
    return re.findall(r'<a class="name" href="/s/([a-z0-9-]+)">', html)


async def test_directory_lists_published_storefronts_and_searches_without_accents(client) -> None:
    everything = await client.get("/s/")
    assert everything.status_code == 200
    assert len(listed(everything.text)) >= 12 and CA_PHE_SLUG not in everything.text
    for query in ("bun hen", "BÚN HẾN", "Bún hến", "cơm hến"):  # a product's name finds its trader
        assert listed((await client.get("/s/", params={"q": query})).text) == [BUN_HEN_SLUG], query
    nothing = await client.get("/s/", params={"q": "không có món này"})
    assert listed(nothing.text) == [] and "0 gian hàng" in nothing.text


async def test_directory_filters_by_province_commune_and_market(client) -> None:
    hanoi = listed((await client.get("/s/", params={"province": "01"})).text)
    assert hanoi and all(s in hanoi for s in ("lua-hang-dao-cho-dong-xuan", "sua-xe-cua-nam"))
    assert BUN_HEN_SLUG not in hanoi
    page = await client.get("/s/", params={"province": "46", "commune": "19753"})
    assert BUN_HEN_SLUG in listed(page.text) and "rau-sach-kim-long-cho-kim-long" not in listed(page.text)
    assert "Phường Phú Xuân" in page.text  # the commune filter offers only places with storefronts
    market = listed((await client.get("/s/", params={"market": "Chợ Bến Ngự"})).text)
    assert sorted(market) == ["banh-beo-ba-do-cho-ben-ngu", "do-gia-dung-ben-ngu-cho-ben-ngu"]


async def test_directory_is_paginated(client, monkeypatch) -> None:
    from service.storefronts import directory

    monkeypatch.setattr(directory, "PAGE_SIZE", 5)
    seen: list[str] = []
    first = await client.get("/s/")
    assert "Trang 1/3" in first.text
    for page in (1, 2, 3):
        seen += listed((await client.get("/s/", params={"page": page})).text)
    assert len(seen) == len(set(seen)) == 14
    assert listed((await client.get("/s/", params={"page": 99})).text) == listed(
        (await client.get("/s/", params={"page": 3})).text
    )


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", **options)
    return out.getvalue()


async def test_erasing_the_traders_data_takes_the_page_down_and_leaves_nothing_personal(volunteer) -> None:
    client = volunteer
    merchant_id, slug = await published_storefront(client)
    saved = await submit(
        client,
        editor(merchant_id),
        editor(merchant_id),
        {"headline": "Bún bò của chị Ba", "contact_phone": "0905 123 456", "contact_call": "on"},
    )
    assert saved.status_code == 303, saved.text
    shown = await client.get(f"/s/{slug}")  # cached
    assert shown.status_code == 200 and "Bún bò của chị Ba" in shown.text and "tel:+84905123456" in shown.text
    erased = await client.post(
        f"/api/v1/merchants/{merchant_id}/erasure", json={}, headers=await api_token(client, "demo-commune")
    )
    assert erased.status_code == 200, erased.text
    assert (await client.get(f"/s/{slug}", follow_redirects=False)).status_code == 404
    assert slug not in (await client.get("/s/")).text
    page = await client.get(editor(merchant_id))
    assert "Chưa công khai" in page.text
    for gone in ("chị Ba", "0905 123 456", slug):
        assert gone not in page.text
