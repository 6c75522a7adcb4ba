"""Cleaning a merchant's fields: the same rules for the tablet form and the JSON API.

Every field is checked and every problem reported, so a volunteer fixes all of them in one pass.
Text is trimmed and NFC-normalized (tablets send NFC or NFD); runs of spaces in names collapse.
Checks that need the database (commune exists and is in jurisdiction, village in commune, team in
scope) are in `MerchantService`.
"""

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from service.i18n import N_, gettext
from service.merchants.identifiers import (
    IdentifierError,
    normalize_cccd,
    normalize_phone,
    normalize_tax_code,
)
from service.merchants.spreadsheet import CATEGORIES, CONSENT_PURPOSES, KINDS
from service.text import nfc

# Vietnam's territory with its island communes: đặc khu Trường Sa lies at about 6.5–11.5°N,
# 111.5–117.5°E, đặc khu Hoàng Sa at 15.7–17.1°N, 111–113°E; Lũng Cú (23.39°N) is the northern
# tip and A Pa Chải (102.14°E) the western. A box, not a border: it catches swapped or garbage
# coordinates (0,0; lat/lon reversed; another country), not a point just across a border.
LAT_RANGE = (6.0, 23.5)
LON_RANGE = (102.0, 118.0)

FIELDS = (
    "kind",
    "business_name",
    "category",
    "owner_name",
    "owner_phone",
    "owner_id_number",
    "tax_code",
    "commune_code",
    "village_id",
    "market",
    "stall",
    "lat",
    "lon",
    "team_id",
    "notes",
    "consent_purposes",
)
REQUIRED = frozenset(
    {"kind", "business_name", "category", "owner_name", "owner_phone", "commune_code", "consent_purposes"}
)
TEXT_LIMITS = {
    "business_name": (2, 150),
    "owner_name": (2, 120),
    "market": (0, 120),
    "stall": (0, 40),
    "notes": (0, 2000),
}

IDENTIFIER_MESSAGES = {
    "phone_invalid": N_("Số điện thoại không hợp lệ."),
    "phone_not_vietnamese": N_("Cần số điện thoại Việt Nam."),
    "phone_not_mobile": N_("Cần số di động; số máy bàn không dùng được."),
    "id_number_invalid": N_("Số CCCD gồm đúng 12 chữ số."),
    "id_number_cmnd": N_("Đây là số CMND cũ 9 số; hãy nhập số định danh cá nhân 12 số."),
    "tax_code_invalid": N_("Mã số thuế gồm 10 hoặc 13 chữ số, hoặc số định danh cá nhân 12 số."),
    "tax_code_checksum": N_("Mã số thuế sai chữ số kiểm tra; hãy đối chiếu lại."),
}
_SPACES = re.compile(r"\s+")
_COMMUNE = re.compile(r"[0-9]{5}")


class Invalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(gettext("Giá trị không hợp lệ."))
    text = nfc(value)
    if field != "notes":
        text = _SPACES.sub(" ", text)
    if not text:
        return None
    low, high = TEXT_LIMITS[field]
    if len(text) < low:
        raise Invalid(gettext("Cần ít nhất {n} ký tự.", n=low))
    if len(text) > high:
        raise Invalid(gettext("Tối đa {n} ký tự.", n=high))
    return text


def _choice(value: Any, choices: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value.strip() not in choices:
        raise Invalid(gettext("Giá trị không hợp lệ."))
    return value.strip()


def _identifier(value: Any, normalize) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid(gettext("Giá trị không hợp lệ."))
    try:
        return normalize(nfc(value))
    except IdentifierError as exc:
        raise Invalid(gettext(IDENTIFIER_MESSAGES[exc.code])) from exc


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError as exc:
        raise Invalid(gettext("Giá trị không hợp lệ.")) from exc


def _coordinate(value: Any, bounds: tuple[float, float], message: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError) as exc:
        raise Invalid(gettext("Phải là một số.")) from exc
    if isinstance(value, bool) or not math.isfinite(number) or not bounds[0] <= number <= bounds[1]:
        raise Invalid(gettext(message, low=bounds[0], high=bounds[1]))
    return round(number, 6)


def _commune(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _COMMUNE.fullmatch(value.strip()):
        raise Invalid(gettext("Mã xã/phường gồm 5 chữ số."))
    return value.strip()


def _purposes(value: Any) -> list[str] | None:
    if value in (None, "", []):
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise Invalid(gettext("Giá trị không hợp lệ."))
    chosen = {i.strip() for i in items if i.strip()}
    if not chosen:
        return None
    if chosen - set(CONSENT_PURPOSES):
        raise Invalid(gettext("Giá trị không hợp lệ."))
    return [p for p in CONSENT_PURPOSES if p in chosen]  # canonical order


_CLEANERS = {
    "kind": lambda v: _choice(v, KINDS),
    "business_name": lambda v: _text(v, "business_name"),
    "category": lambda v: _choice(v, CATEGORIES),
    "owner_name": lambda v: _text(v, "owner_name"),
    "owner_phone": lambda v: _identifier(v, normalize_phone),
    "owner_id_number": lambda v: _identifier(v, normalize_cccd),
    "tax_code": lambda v: _identifier(v, normalize_tax_code),
    "commune_code": _commune,
    "village_id": _uuid,
    "market": lambda v: _text(v, "market"),
    "stall": lambda v: _text(v, "stall"),
    "lat": lambda v: _coordinate(v, LAT_RANGE, N_("Vĩ độ phải từ {low} đến {high} (lãnh thổ Việt Nam).")),
    "lon": lambda v: _coordinate(v, LON_RANGE, N_("Kinh độ phải từ {low} đến {high} (lãnh thổ Việt Nam).")),
    "team_id": _uuid,
    "notes": lambda v: _text(v, "notes"),
    "consent_purposes": _purposes,
}


def clean(
    values: Mapping[str, Any], *, fields: Iterable[str] = FIELDS, required: Iterable[str] = REQUIRED
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean the named fields of `values`; returns (clean values, [(field, message), ...])."""
    out: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    required = set(required)
    for field in fields:
        try:
            value = _CLEANERS[field](values.get(field))
        except Invalid as exc:
            errors.append((field, exc.message))
            continue
        if value is None and field in required:
            message = (
                gettext("Cần chọn ít nhất một mục người bán đồng ý.")
                if field == "consent_purposes"
                else gettext("Bắt buộc.")
            )
            errors.append((field, message))
            continue
        out[field] = value
    failed = {f for f, _ in errors}
    if "lat" in out and "lon" in out and (out["lat"] is None) != (out["lon"] is None):
        missing = "lat" if out["lat"] is None else "lon"
        if missing not in failed:
            errors.append((missing, gettext("Cần cả vĩ độ và kinh độ, hoặc để trống cả hai.")))
    return out, errors


CLOCK_SKEW = timedelta(minutes=10)  # a tablet's clock may run a little ahead
REGISTERED_WITHIN = timedelta(days=60)  # an offline tablet syncs within weeks, not months


def registration_time(registered_at: datetime | None, *, now: datetime) -> list[tuple[str, str]]:
    """Errors for the time a tablet says it registered the trader (None: now, always fine)."""
    if registered_at is None:
        return []
    if registered_at.tzinfo is None:
        return [("registered_at", gettext("Cần ghi rõ múi giờ (ví dụ +07:00)."))]
    if registered_at > now + CLOCK_SKEW:
        return [("registered_at", gettext("Thời điểm này còn ở tương lai."))]
    if registered_at < now - REGISTERED_WITHIN:
        return [("registered_at", gettext("Chỉ ghi được đăng ký trong 60 ngày qua."))]
    return []
