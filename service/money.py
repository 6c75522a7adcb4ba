"""Vietnamese đồng: a strict parser for typed amounts and the display format."""

import re
import unicodedata

from babel.numbers import format_currency, format_decimal

MAX_AMOUNT = 10**12

# Longest first, so "vnđ" is not read as a stray "đ" after "vn".
_MARKERS = ("đồng", "vnđ", "vnd", "₫", "đ", "d")
# How traders say a price: "85k", "85 nghìn", "85 ngàn", "1,2 triệu", "1tr5" is not taken.
_SCALED = re.compile(r"([0-9]+)(?:[.,]([0-9]{1,6}))?(k|nghìn|ngàn|ngan|nghin|tr|triệu|trieu)")
_SCALES = {"k": 3, "nghìn": 3, "ngàn": 3, "ngan": 3, "nghin": 3, "tr": 6, "triệu": 6, "trieu": 6}
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:([.,])[0-9]{3})(?:\1[0-9]{3})*")
_PLAIN = re.compile(r"[0-9]+")
_MAX_INPUT = 64


class MoneyError(ValueError):
    """An amount that is not a whole, positive number of đồng.

    `code` is "empty", "format" (fractions, mixed separators, stray text) or "range"
    (zero, negative or above MAX_AMOUNT); the web layer turns it into a message.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_vnd(text: str) -> int:
    """Read an amount typed as `25.000`, `25,000`, `25.000 ₫`, `25000 VND`, `85k`, `85 nghìn`,
    `1,2 triệu` ... into đồng."""
    value = unicodedata.normalize("NFC", text).strip().lower()
    if not value:
        raise MoneyError("empty")
    if len(value) > _MAX_INPUT:
        raise MoneyError("format")
    for marker in _MARKERS:
        if value.endswith(marker):
            value = value[: -len(marker)]
            break
        if value.startswith(marker):
            value = value[len(marker) :]
            break
    value = _SPACES.sub("", value)
    negative = value[:1] in ("-", "\u2212")
    if negative:
        value = value[1:]
    # One separator kind throughout, always in groups of three: "1.5", "12.34",
    # "25.000,50" and "1,234.567" all fail here. Babel would read "25,000" as 25.
    scaled = _SCALED.fullmatch(value)
    if scaled:
        whole, fraction, unit = scaled.groups()
        places = _SCALES[unit]
        fraction = (fraction or "").rstrip("0")
        if len(fraction) > places:
            raise MoneyError("format")  # "1,2345k" is not a whole number of đồng
        digits = whole + fraction.ljust(places, "0")
    elif _PLAIN.fullmatch(value):
        digits = value
    elif _GROUPED.fullmatch(value):
        digits = value.replace(".", "").replace(",", "")
    else:
        raise MoneyError("format")
    amount = int(digits)
    if negative or not 0 < amount <= MAX_AMOUNT:
        raise MoneyError("range")
    return amount


def format_vnd(amount: int) -> str:
    """`25.000 ₫` (with a no-break space), the vi-VN currency format."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        # Babel would round 25000.5 silently; amounts are whole đồng everywhere.
        raise TypeError(f"amount must be an int of đồng, not {type(amount).__name__}")
    return format_currency(amount, "VND", locale="vi_VN")


def format_grouped(amount: int) -> str:
    """`85.000`: the amount as a price field shows it, grouped the Vietnamese way, no currency sign."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of đồng, not {type(amount).__name__}")
    return format_decimal(amount, locale="vi_VN")
