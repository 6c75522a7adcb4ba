import json
import uuid

from service.storefronts.schemas import HoursView, ImageView, ProductView, PublicStorefront
from service.storefronts.services import same_base
from service.storefronts.view import json_ld, pay_purpose


def storefront(**overrides) -> PublicStorefront:
    values = {
        "storefront_id": uuid.uuid4(),
        "merchant_id": uuid.uuid4(),
        "slug": "bun-bo-co-ba-cho-dong-ba",
        "business_name": "Bún bò Cô Ba",
        "category": "food_drink",
        "headline": None,
        "description": None,
        "market": "Chợ Đông Ba",
        "stall": "C-21",
        "location_note": None,
        "commune_name": "Phường Phú Xuân",
        "province_name": "Thành phố Huế",
        "map_url": None,
        "phone_display": None,
        "tel": None,
        "zalo": None,
        "hours": [HoursView("mon", "06:00", "11:00"), HoursView("sun", None, None)],
        "links": [],
        "products": [],
        "account": None,
        "cover": ImageView(
            webp="/media/ab/x-display.webp", jpg="/media/ab/x-display.jpg", width=1200, height=630
        ),
        **overrides,
    }
    return PublicStorefront(**values)


def product(name: str, price: int = 25000, available: bool = True) -> ProductView:
    return ProductView(
        id=uuid.uuid4(), name=name, price=price, price_text="", unit=None, available=available, position=1
    )


def test_json_ld_escapes_what_could_end_the_script_element() -> None:
    hostile = "</script><script>alert(1)</script> & <!--"
    text = str(
        json_ld(storefront(business_name=hostile, products=[product(hostile)]), public_url="https://x.vn")
    )
    assert "<" not in text and ">" not in text and "&" not in text
    data = json.loads(text)
    assert data["name"] == hostile and data["makesOffer"][0]["itemOffered"]["name"] == hostile


def test_json_ld_offers_are_in_vnd_with_availability_and_absolute_urls() -> None:
    data = json.loads(
        str(
            json_ld(
                storefront(products=[product("Bún bò", 35000), product("Chả", 10000, available=False)]),
                public_url="https://onboard.example.vn",
            )
        )
    )
    assert data["url"] == "https://onboard.example.vn/s/bun-bo-co-ba-cho-dong-ba"
    assert data["image"] == "https://onboard.example.vn/media/ab/x-display.jpg"
    assert [
        (o["price"], o["priceCurrency"], o["availability"].rsplit("/", 1)[1]) for o in data["makesOffer"]
    ] == [
        ("35000", "VND", "InStock"),
        ("10000", "VND", "SoldOut"),
    ]
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "Chợ Đông Ba, C-21",
        "addressLocality": "Phường Phú Xuân",
        "addressRegion": "Thành phố Huế",
        "addressCountry": "VN",
    }
    assert [h["dayOfWeek"] for h in data["openingHoursSpecification"]] == ["https://schema.org/Monday"]
    assert "telephone" not in data


def test_pay_memo_is_the_name_without_diacritics_within_25_characters() -> None:
    assert pay_purpose("Bún bò giò heo") == "Bun bo gio heo"
    assert pay_purpose("Đặc sản " * 10) == "Dac san Dac san Dac san D"
    assert pay_purpose("🍜") is None


def test_an_address_keeps_its_number_while_name_and_place_are_the_same() -> None:
    assert same_base("bun-bo-cho-dong-ba-2", "bun-bo-cho-dong-ba")
    assert same_base("bun-bo-cho-dong-ba", "bun-bo-cho-dong-ba")
    assert not same_base("bun-bo-cho-dong-ba-ngon", "bun-bo-cho-dong-ba")
    assert not same_base("bun-bo-cho-dong-ba", "bun-bo-me-ba-cho-dong-ba")
