import pytest

from service.storefronts.validation import (
    clean_product,
    clean_storefront,
    hhmm,
    https_url,
    price,
    zalo_url,
)


@pytest.mark.parametrize(
    ("typed", "time"),
    [
        ("6:00", "06:00"),
        ("06:00", "06:00"),
        ("6h", "06:00"),
        ("6h30", "06:30"),
        ("17.45", "17:45"),
        ("23:59", "23:59"),
    ],
)
def test_times_of_day_are_read_the_ways_people_type_them(typed, time) -> None:
    assert hhmm(typed) == time


@pytest.mark.parametrize("typed", ["24:00", "7:60", "sáng", "", "6:0", None])
def test_other_times_are_refused(typed) -> None:
    assert hhmm(typed) is None


def test_hours_say_open_closed_or_nothing_per_day() -> None:
    values, errors = clean_storefront(
        {
            "hours_mon_open": "6h",
            "hours_mon_close": "11:30",
            "hours_sat_open": "18:00",
            "hours_sat_close": "01:00",  # a night market, past midnight
            "hours_sun_closed": "on",
            "hours_tue_open": "7:00",  # no closing time
            "hours_wed_open": "8:00",
            "hours_wed_close": "08:00",
        }
    )
    assert values["hours"] == {"mon": ["06:00", "11:30"], "sat": ["18:00", "01:00"], "sun": None}
    assert dict(errors) == {
        "hours_tue": "Cần giờ mở và giờ đóng, ví dụ 06:00 và 11:30.",
        "hours_wed": "Giờ mở và giờ đóng phải khác nhau.",
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://shopee.vn/a", "Liên kết phải bắt đầu bằng https://"),
        ("javascript:alert(1)", "Liên kết phải bắt đầu bằng https://"),
        ("https://user:pw@shopee.vn/a", "Liên kết không hợp lệ."),
        ("https://shopee.vn:8443/a", "Liên kết không hợp lệ."),
        ("https://shopee.vn/a b", "Liên kết không hợp lệ."),
        ("https://localhost/a", "Liên kết không hợp lệ."),
        ("https://shopee.vn.evil.example/a", "Liên kết phải thuộc shopee.vn, shope.ee."),
        ("https://notshopee.vn/a", "Liên kết phải thuộc shopee.vn, shope.ee."),
    ],
)
def test_shop_links_must_be_https_on_the_platforms_own_domain(url, message) -> None:
    errors: list = []
    https_url(url, "link_shopee", errors, domains=("shopee.vn", "shope.ee"))
    assert errors == [("link_shopee", message)]


def test_shop_links_on_the_platform_and_its_subdomains_pass() -> None:
    values, errors = clean_storefront(
        {
            "link_shopee": "https://shopee.vn/bunboba",
            "link_tiktok": "https://vt.tiktok.com/ZS123/",
            "link_facebook": "https://m.facebook.com/bunboba",
            "link_zalo_oa": "https://zalo.me/1234567890",
            "map_url": "https://maps.app.goo.gl/x",
        }
    )
    assert errors == []
    assert set(values["links"]) == {"shopee", "tiktok", "facebook", "zalo_oa"}


def test_contact_buttons_need_a_phone_and_zalo_needs_a_mobile() -> None:
    _, errors = clean_storefront({"contact_call": "on"})
    assert dict(errors) == {"contact_phone": "Cần số điện thoại để khách gọi hoặc nhắn Zalo."}
    values, errors = clean_storefront(
        {"contact_call": "on", "contact_phone": "0234 3822 123"}
    )  # Huế landline
    assert errors == [] and values["contact_phone"] == "+842343822123"
    _, errors = clean_storefront({"contact_zalo": "on", "contact_phone": "0234 3822 123"})
    assert dict(errors) == {"contact_phone": "Cần số di động; số máy bàn không dùng được."}


@pytest.mark.parametrize(
    ("typed", "amount"), [("25000", 25000), ("25.000", 25000), ("25.000 ₫", 25000), ("25,000đ", 25000)]
)
def test_prices_are_whole_dong(typed, amount) -> None:
    errors: list = []
    assert price(typed, errors) == amount and errors == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Bắt buộc."),
        ("25.5", "Giá là số đồng nguyên, ví dụ 25000 hoặc 25.000."),
        ("0", "Giá phải lớn hơn 0."),
        ("500.000.000", "Giá phải lớn hơn 0 và dưới 500.000.000 ₫."),
    ],
)
def test_other_prices_are_refused(typed, message) -> None:
    errors: list = []
    assert price(typed, errors) is None and errors == [("price", message)]


def test_product_text_is_nfc_trimmed_and_limited() -> None:
    import unicodedata

    values, errors = clean_product(
        {"name": unicodedata.normalize("NFD", "  Bún   bò Huế "), "price": "35.000", "unit": "x" * 31}
    )
    assert values["name"] == "Bún bò Huế" and values["available"] is False
    assert errors == [("unit", "Tối đa 30 ký tự.")]


def test_zalo_links_use_the_national_number() -> None:
    assert zalo_url("+84905123456") == "https://zalo.me/0905123456"
