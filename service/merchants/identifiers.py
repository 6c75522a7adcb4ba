"""A trader's identifiers: mobile phone, personal ID number (CCCD) and tax code (MST).

Each `normalize_*` returns the stored form or raises `IdentifierError` with a machine code
that the web layer turns into a message. Only ASCII digits are accepted: full-width digits
and letters are refused rather than converted.
"""

import re
from typing import Literal

import msgspec
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.vn import mst

MASK = "••••"


class IdentifierError(ValueError):
    """`code` names the problem: phone_invalid, phone_not_vietnamese, phone_not_mobile,
    id_number_invalid, id_number_cmnd, tax_code_invalid or tax_code_checksum."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _mask(value: str) -> str:
    digits = re.sub(r"[^0-9]", "", value)
    return f"{MASK} {digits[-4:]}" if len(digits) >= 4 else MASK


# --- Mobile phone -------------------------------------------------------------------------

# Letters are refused up front: phonenumbers reads them as keypad digits ("0912abc678"
# becomes a valid 0912 222 678), and "ext." is not something a trader's mobile has.
_PHONE_CHARS = re.compile(r"[0-9+().\-\s]{1,32}")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_phone(text: str, *, mobile_only: bool = True) -> str:
    """E.164 (`+84912345678`) from `0912 345 678`, `+84 912 345 678`, `84912345678`, `0084 ...`."""
    value = text.strip()
    if not _PHONE_CHARS.fullmatch(value):
        raise IdentifierError("phone_invalid")
    digits = re.sub(r"[^0-9]", "", value)
    # 84 followed by a 9-digit mobile or 10-digit landline number is the country code
    # written without "+": no national number is 11 or 12 digits long without its trunk 0.
    # phonenumbers gets this right today; being explicit keeps it from depending on metadata.
    if "+" not in value and digits.startswith("84") and len(digits) in (11, 12):
        value = "+" + digits
    national = _plain_vietnamese(value, digits)
    if national is not None:
        number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    else:
        try:
            number = phonenumbers.parse(value, "VN")
        except NumberParseException as exc:
            raise IdentifierError("phone_invalid") from exc
    if phonenumbers.region_code_for_number(number) != "VN":
        if not phonenumbers.is_valid_number(number):
            raise IdentifierError("phone_invalid")
        raise IdentifierError("phone_not_vietnamese")
    # For a Vietnamese number, valid means "has a type": is_valid_number would match the same
    # patterns once more (a bulk import checks 100,000 phones).
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        raise IdentifierError("phone_invalid")
    if mobile_only and kind not in _MOBILE_TYPES:
        raise IdentifierError("phone_not_mobile")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _plain_vietnamese(value: str, digits: str) -> str | None:
    """The national significant number of a plainly written Vietnamese number (`0912 345 678`,
    `0912.345.678`, `+84 912 345 678`), else None. For these, phonenumbers.parse only strips the
    separators and the trunk 0 or +84, at half the cost of checking the number; anything less
    plain (brackets, 00 prefixes, other countries) goes through parse. A unit test compares the
    two paths on many numbers."""
    if "(" in value or ")" in value:
        return None
    if value.startswith("+"):
        national = digits[2:] if digits.startswith("84") and value[1:3] == "84" else None
    elif digits.startswith("0") and not digits.startswith("00"):
        national = digits[1:]
    else:
        national = None
    if national is None or not 8 <= len(national) <= 10 or national[0] == "0":
        return None
    return national


def format_phone(e164: str) -> str:
    """National display (`0912 345 678`); anything unparsable is shown as stored."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == "VN":
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """`•••• 5678`: enough for a trader to recognise their own number."""
    return _mask(e164)


# --- Personal identification number (CCCD / Căn cước) ---------------------------------------

_CCCD = re.compile(r"[0-9]{12}")
_CMND = re.compile(r"[0-9]{9}")


class CccdInfo(msgspec.Struct, frozen=True):
    sex: Literal["male", "female"]
    birth_year: int


def normalize_cccd(text: str) -> str:
    """Exactly 12 ASCII digits after trimming; there is no check digit.

    Inner spaces, dots and hyphens are refused, not stripped: the card prints the number
    unbroken, so a separator inside usually means two numbers or a typo.
    """
    value = text.strip()
    if _CCCD.fullmatch(value):
        return value
    if _CMND.fullmatch(value):
        raise IdentifierError("id_number_cmnd")  # old 9-digit card: ask for the 12-digit number
    raise IdentifierError("id_number_invalid")


def describe_cccd(number: str) -> CccdInfo | None:
    """Sex and birth year from digits 4–6, for display and plausibility hints only.

    Never reject a number on this, and never read the first three digits as the trader's
    province: they are the old birth-registration province list.
    """
    if not _CCCD.fullmatch(number):
        return None
    century_sex = int(number[3])  # 0/1 → 1900s male/female, 2/3 → 2000s, ... up to 8/9 → 2300s
    return CccdInfo(
        sex="female" if century_sex % 2 else "male",
        birth_year=1900 + (century_sex // 2) * 100 + int(number[4:6]),
    )


def mask_cccd(number: str) -> str:
    """`•••• 2345`."""
    return _mask(number)


# --- Tax code (mã số thuế) -------------------------------------------------------------------

# Spaces, dots and hyphens are what stdnum strips; tax codes are commonly printed with them.
_TAX_CHARS = re.compile(r"[0-9 .\-]{1,32}")


def normalize_tax_code(text: str) -> str:
    """Compact tax code: 10 digits, 13 digits (branch) or a 12-digit personal ID number.

    Since 1 July 2025 the personal ID number is the tax code of individuals and household
    businesses; it has no check digit, so only its format is checked.
    """
    value = text.strip()
    if not _TAX_CHARS.fullmatch(value):
        raise IdentifierError("tax_code_invalid")
    compact = mst.compact(value)
    if _CCCD.fullmatch(compact):
        return compact
    try:
        # Checks length, serial ≠ 0000000, branch ≠ 000 and the check digit; a prefix whose
        # remainder is 0 (e.g. 987654321) has no valid check digit and always fails.
        return mst.validate(compact)
    except InvalidChecksum as exc:
        raise IdentifierError("tax_code_checksum") from exc
    except ValidationError as exc:
        raise IdentifierError("tax_code_invalid") from exc


def format_tax_code(code: str) -> str:
    """`0101234565-001` for a branch; 10-digit codes and personal ID numbers as they are."""
    # Not mst.format(): it would hyphenate a 12-digit personal ID number after 10 digits.
    return f"{code[:10]}-{code[10:]}" if len(code) == 13 else code
