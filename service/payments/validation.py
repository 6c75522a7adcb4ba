"""A payment account as entered on a tablet (every field checked, every problem reported at once),
and the amount and memo asked of a one-payment QR.

Pure rules (no database): the service adds what needs one (the merchant, duplicates).
"""

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from service.errors import FieldErrors
from service.i18n import N_, gettext
from service.money import MoneyError, parse_vnd
from service.payments import banks
from service.payments.vietqr import MAX_AMOUNT, MAX_PURPOSE, VietQRError, ascii_purpose, normalize_account
from service.text import nfc

FIELDS = ("bank_bin", "service", "account", "holder_name", "is_primary")
MAX_HOLDER = 70
SERVICES = ("account", "card")
_D_STROKE = str.maketrans({"đ": "d", "Đ": "D"})  # no Unicode decomposition
_NOT_LETTER = re.compile(r"[^A-Z ]")
_SPACES = re.compile(r"\s+")
_TRUE = {True, "true", "1", "on", "yes"}


def holder_name(text: str) -> str:
    """The account holder as Vietnamese banks show it: upper case, no diacritics, letters and spaces.

    "Trần Thị Nga" → "TRAN THI NGA". Digits and punctuation are dropped rather than refused: they
    come from copying a name out of a message, never from the bank's own spelling.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_D_STROKE))
    latin = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return _SPACES.sub(" ", _NOT_LETTER.sub(" ", _SPACES.sub(" ", latin))).strip()


def _flag(value: Any) -> bool:
    return (value.strip().lower() if isinstance(value, str) else value) in _TRUE


def clean(
    values: Mapping[str, Any], *, default_holder: str = ""
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalized values and (field, translated message) errors.

    The holder name defaults to `default_holder` (the trader's own name) when left empty.
    """
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}

    service = values.get("service") or "account"
    if service not in SERVICES:
        errors.append(("service", gettext("Giá trị không hợp lệ.")))
        service = "account"
    out["service"] = service

    bin_ = values.get("bank_bin")
    bin_ = bin_.strip() if isinstance(bin_, str) else ""
    bank = banks.by_bin(bin_) if bin_ else None
    if not bin_:
        errors.append(("bank_bin", gettext("Hãy chọn ngân hàng.")))
    elif bank is None:
        errors.append(("bank_bin", gettext("Ngân hàng này không có trong danh mục.")))
    elif not bank.receives_transfers:
        errors.append(("bank_bin", gettext("Ngân hàng này không nhận chuyển khoản VietQR.")))
    out["bank_bin"] = bin_

    account = values.get("account")
    account = account if isinstance(account, str) else ""
    try:
        out["account"] = normalize_account(account, service=service)
    except VietQRError:
        if not account.strip():
            errors.append(("account", gettext("Bắt buộc.")))
        elif service == "card":
            errors.append(("account", gettext(CARD_RULE)))
        else:
            errors.append(("account", gettext(ACCOUNT_RULE)))
        out["account"] = account.strip()

    typed = values.get("holder_name")
    typed = typed if isinstance(typed, str) else ""
    holder = holder_name(typed or default_holder)
    if len(holder) < 2:
        errors.append(("holder_name", gettext("Bắt buộc.")))
    elif len(holder) > MAX_HOLDER:
        errors.append(("holder_name", gettext("Tối đa {n} ký tự.", n=MAX_HOLDER)))
    out["holder_name"] = holder

    out["is_primary"] = _flag(values.get("is_primary"))
    return out, errors


def parse_amount(raw: str | None) -> int | None:
    """A typed amount in whole đồng (`150000`, `150.000`, `150.000 ₫`), or FieldErrors on `amount`."""
    if raw is None or not raw.strip():
        return None
    try:
        amount = parse_vnd(raw)
    except MoneyError as exc:
        message = N_("Số tiền phải lớn hơn 0.") if exc.code == "range" else AMOUNT_FORMAT
        raise FieldErrors([("amount", gettext(message))]) from None
    if amount >= MAX_AMOUNT:
        raise FieldErrors([("amount", gettext("Số tiền phải dưới 500.000.000 ₫ (hạn mức NAPAS247)."))])
    return amount


def parse_purpose(raw: str | None) -> str | None:
    """The transfer memo as the QR will carry it (no diacritics, at most 25), or FieldErrors."""
    if raw is None or not raw.strip():
        return None
    purpose = ascii_purpose(nfc(raw))
    if not purpose:
        raise FieldErrors([("purpose", gettext("Nội dung chuyển khoản cần có chữ hoặc số."))])
    if len(purpose) > MAX_PURPOSE:
        raise FieldErrors(
            [("purpose", gettext("Nội dung chuyển khoản tối đa {n} ký tự (không dấu).", n=MAX_PURPOSE))]
        )
    return purpose


AMOUNT_FORMAT = N_("Số tiền phải là số đồng nguyên, ví dụ 150000 hoặc 150.000.")
ACCOUNT_RULE = N_("Số tài khoản gồm 6 đến 19 chữ số hoặc chữ cái, không có dấu cách.")
CARD_RULE = N_("Số thẻ gồm 16 hoặc 19 chữ số, bắt đầu bằng 9704.")
