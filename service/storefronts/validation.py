"""Cleaning what a volunteer or a trader types into a storefront: pure rules, no database.

Every field is checked and every problem reported at once, as (field, translated message) pairs.
Text is trimmed and NFC-normalized; prices are whole đồng read strictly (`service.money`).
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from service.i18n import N_, gettext
from service.merchants.identifiers import IdentifierError, normalize_phone
from service.merchants.validation import IDENTIFIER_MESSAGES
from service.money import MoneyError, parse_vnd
from service.payments.vietqr import MAX_AMOUNT
from service.text import nfc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": N_("Thứ Hai"),
    "tue": N_("Thứ Ba"),
    "wed": N_("Thứ Tư"),
    "thu": N_("Thứ Năm"),
    "fri": N_("Thứ Sáu"),
    "sat": N_("Thứ Bảy"),
    "sun": N_("Chủ Nhật"),
}
SCHEMA_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
# The trader's shops elsewhere: each kind accepts https links on its own domains only, so a
# storefront cannot be turned into a phishing page that says "Shopee" and links elsewhere.
LINK_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shopee": ("Shopee", ("shopee.vn", "shope.ee")),
    "tiktok": ("TikTok Shop", ("tiktok.com",)),
    "postmart": ("Postmart", ("postmart.vn",)),
    "voso": ("Voso", ("voso.vn",)),
    "facebook": ("Facebook", ("facebook.com", "fb.com", "fb.me")),
    "zalo_oa": ("Zalo OA", ("zalo.me",)),
}
TEXT_LIMITS = {
    "headline": 120,
    "description": 1000,
    "location_note": 200,
    "name": 120,
    "unit": 30,
}
MAX_URL = 500
MAX_PRICE = MAX_AMOUNT - 1  # a price must fit a "pay this amount" VietQR
_SPACES = re.compile(r"[ \t\u00a0]+")
_TIME = re.compile(r"([01]?[0-9]|2[0-3])\s*[:hH.]\s*([0-5][0-9])?\s*")
_TRUE = {True, "true", "1", "on", "yes"}

STOREFRONT_FIELDS = (
    "headline",
    "description",
    "location_note",
    "map_url",
    "contact_phone",
    "contact_call",
    "contact_zalo",
    "hours",
    "links",
)
PRODUCT_FIELDS = ("name", "price", "unit", "available")

Errors = list[tuple[str, str]]


def flag(value: Any) -> bool:
    return (value.strip().lower() if isinstance(value, str) else value) in _TRUE


def text(value: Any, field: str, errors: Errors, *, required: bool = False) -> str | None:
    """Trimmed NFC text within its limit; runs of spaces collapse except in the description."""
    if value is not None and not isinstance(value, str):
        errors.append((field, gettext("Giá trị không hợp lệ.")))
        return None
    cleaned = nfc(value or "")
    if field != "description":
        cleaned = _SPACES.sub(" ", cleaned)
    if not cleaned:
        if required:
            errors.append((field, gettext("Bắt buộc.")))
        return None
    if len(cleaned) > TEXT_LIMITS[field]:
        errors.append((field, gettext("Tối đa {n} ký tự.", n=TEXT_LIMITS[field])))
    return cleaned


def https_url(value: Any, field: str, errors: Errors, *, domains: tuple[str, ...] = ()) -> str | None:
    """An https link (no credentials, a real host), on one of `domains` when given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        errors.append((field, gettext("Giá trị không hợp lệ.")))
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        errors.append((field, gettext("Liên kết không hợp lệ.")))
        return None
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        errors.append((field, gettext("Liên kết không hợp lệ.")))
    elif parts.scheme.lower() != "https":
        errors.append((field, gettext("Liên kết phải bắt đầu bằng https://")))
    elif parts.username or parts.password or port not in (None, 443) or "." not in host:
        errors.append((field, gettext("Liên kết không hợp lệ.")))
    elif domains and not any(host == d or host.endswith("." + d) for d in domains):
        errors.append((field, gettext("Liên kết phải thuộc {domains}.", domains=", ".join(domains))))
    return url


def hhmm(value: Any) -> str | None:
    """ "06:00" from "6:00", "06:00", "6h", "6h30" or "6.30"; None when it is not a time of day."""
    if not isinstance(value, str):
        return None
    match = _TIME.fullmatch(value.strip())
    if not match:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2) or '00'}"


def hours(values: Mapping[str, Any], errors: Errors) -> dict[str, list[str] | None]:
    """Opening hours from the form fields `hours_<day>_open`, `_close` and `_closed`.

    A day left empty is "not said" and is not shown; a closing time before the opening time is a
    night market open past midnight.
    """
    out: dict[str, list[str] | None] = {}
    for day in DAYS:
        if flag(values.get(f"hours_{day}_closed")):
            out[day] = None
            continue
        raw_open, raw_close = values.get(f"hours_{day}_open"), values.get(f"hours_{day}_close")
        if not (raw_open or "").strip() and not (raw_close or "").strip():
            continue
        opens, closes = hhmm(raw_open), hhmm(raw_close)
        if opens is None or closes is None:
            errors.append((f"hours_{day}", gettext("Cần giờ mở và giờ đóng, ví dụ 06:00 và 11:30.")))
        elif opens == closes:
            errors.append((f"hours_{day}", gettext("Giờ mở và giờ đóng phải khác nhau.")))
        else:
            out[day] = [opens, closes]
    return out


def clean_storefront(values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """The storefront's own fields from a form (flat names: `link_shopee`, `hours_mon_open`, …)."""
    errors: Errors = []
    out: dict[str, Any] = {
        field: text(values.get(field), field, errors)
        for field in ("headline", "description", "location_note")
    }
    out["map_url"] = https_url(values.get("map_url"), "map_url", errors)
    out["contact_call"] = flag(values.get("contact_call"))
    out["contact_zalo"] = flag(values.get("contact_zalo"))
    out["contact_phone"] = None
    phone = values.get("contact_phone")
    if isinstance(phone, str) and phone.strip():
        try:
            # Zalo accounts belong to mobile numbers; a landline can only be called.
            out["contact_phone"] = normalize_phone(nfc(phone), mobile_only=out["contact_zalo"])
        except IdentifierError as exc:
            errors.append(("contact_phone", gettext(IDENTIFIER_MESSAGES[exc.code])))
    elif out["contact_call"] or out["contact_zalo"]:
        errors.append(("contact_phone", gettext("Cần số điện thoại để khách gọi hoặc nhắn Zalo.")))
    out["hours"] = hours(values, errors)
    out["links"] = {}
    for kind, (_, domains) in LINK_KINDS.items():
        url = https_url(values.get(f"link_{kind}"), f"link_{kind}", errors, domains=domains)
        if url:
            out["links"][kind] = url
    return out, errors


def price(value: Any, errors: Errors, field: str = "price") -> int | None:
    """A price typed as `25000`, `25.000` or `25.000 ₫`: whole đồng, above 0, below 500 million."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif isinstance(value, str):
        try:
            amount = parse_vnd(value)
        except MoneyError as exc:
            if exc.code == "empty":
                errors.append((field, gettext("Bắt buộc.")))
            elif exc.code == "range":
                errors.append((field, gettext("Giá phải lớn hơn 0.")))
            else:
                errors.append((field, gettext("Giá là số đồng nguyên, ví dụ 25000 hoặc 25.000.")))
            return None
    else:
        errors.append((field, gettext("Bắt buộc.")))
        return None
    if not 0 < amount <= MAX_PRICE:
        errors.append((field, gettext("Giá phải lớn hơn 0 và dưới 500.000.000 ₫.")))
        return None
    return amount


def clean_product(values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = []
    out = {
        "name": text(values.get("name"), "name", errors, required=True),
        "price": price(values.get("price"), errors),
        "unit": text(values.get("unit"), "unit", errors),
        "available": flag(values.get("available")),
    }
    return out, errors


def zalo_url(e164: str) -> str:
    """`https://zalo.me/0912345678`: Zalo links take the national number."""
    return (
        f"https://zalo.me/0{e164.removeprefix('+84')}"
        if e164.startswith("+84")
        else f"https://zalo.me/{e164}"
    )
