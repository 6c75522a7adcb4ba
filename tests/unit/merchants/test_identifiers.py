import random
import re
import unicodedata

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from service.merchants.identifiers import (
    CccdInfo,
    IdentifierError,
    describe_cccd,
    format_phone,
    format_tax_code,
    mask_cccd,
    mask_phone,
    normalize_cccd,
    normalize_phone,
    normalize_tax_code,
)


def _code(call, *args, **kwargs) -> str:
    with pytest.raises(IdentifierError) as caught:
        call(*args, **kwargs)
    return caught.value.code


# --- Phones: the table of domain/vietnam.md §2a ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("0987654321", "+84987654321"),
        ("0321234567", "+84321234567"),
        ("0701234567", "+84701234567"),
        ("0812345678", "+84812345678"),
        ("0561234567", "+84561234567"),
        ("0591234567", "+84591234567"),
        ("0861234567", "+84861234567"),
        ("+84 91 234 56 78", "+84912345678"),
        ("0084 98 765 4321", "+84987654321"),
        ("84912345678", "+84912345678"),
        ("(+84) 912-345-678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0912\u00a0345\u00a0678", "+84912345678"),
        ("  0912 345 678 ", "+84912345678"),
        ("0559123456", "+84559123456"),
        ("0522123456", "+84522123456"),
    ],
)
def test_valid_mobile_numbers_normalize_to_e164(text, e164):
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    "text",
    ["0843456789", "+84843456789", "84843456789", "843456789", "+84 (0) 843 456 789"],
)
def test_084_prefix_is_never_mistaken_for_a_country_code(text):
    # vn-phone-number strips "084" as if it were +84 and corrupts this VinaPhone number.
    assert normalize_phone(text) == "+84843456789"


@pytest.mark.parametrize("text", ["84912345678", "84 912 345 678", "84.912.345.678", "840912345678"])
def test_84_prefixed_digits_without_plus_read_as_the_country_code(text):
    assert normalize_phone(text) == "+84912345678"


def test_nine_digit_mobile_that_lost_its_trunk_zero_is_accepted():
    assert normalize_phone("912345678") == "+84912345678"


@pytest.mark.parametrize(
    "text",
    [
        "01662345678",  # old 11-digit Viettel, now 0362345678
        "0123456789",  # 012x retired in 2018
        "091234567",  # 9 digits with the trunk 0
        "09123456789",  # 11 digits
        "0201234567",  # 02x is landline space, wrong length
        "0401234567",
        "0501234567",
        "0801234567",
        "0551234567",  # only 0559 of 055 is allocated
        "0992123456",
    ],
)
def test_invalid_or_unallocated_numbers_are_rejected(text):
    assert _code(normalize_phone, text) == "phone_invalid"


def test_landline_is_valid_but_not_a_mobile():
    assert _code(normalize_phone, "02838123456") == "phone_not_mobile"
    assert _code(normalize_phone, "842838123456") == "phone_not_mobile"
    assert normalize_phone("028 3812 3456", mobile_only=False) == "+842838123456"


def test_foreign_numbers_are_rejected_even_when_valid():
    assert _code(normalize_phone, "+1 650 253 0000", mobile_only=False) == "phone_not_vietnamese"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0912abc678",  # phonenumbers would read letters as keypad digits
        "0912-ABC-678",
        "+84912345678 ext 12",
        "０９１２３４５６７８",  # full-width digits
        "+84 ９１２３４５６７８",
        "0912 345 678 / 0987 654 321",
        "0" * 40,
    ],
)
def test_letters_full_width_digits_and_junk_are_rejected(text):
    assert _code(normalize_phone, text) == "phone_invalid"


def test_identifier_error_is_a_value_error():
    with pytest.raises(ValueError):
        normalize_phone("0123456789")


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+84912345678", "0912 345 678"),
        ("+84843456789", "0843 456 789"),
        ("+842838123456", "028 3812 3456"),
        ("not a phone", "not a phone"),
    ],
)
def test_format_phone_shows_the_national_form(e164, shown):
    assert format_phone(e164) == shown


def test_mask_phone_keeps_the_last_four_digits():
    assert mask_phone("+84912345678") == "•••• 5678"
    assert mask_phone("12") == "••••"


# --- Tax codes: the table of domain/vietnam.md §2b ------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0101234565", "0101234565"),
        ("0309876547", "0309876547"),
        ("7900000012", "7900000012"),
        ("0101234565-001", "0101234565001"),
        ("0101234565001", "0101234565001"),
        ("0100109106", "0100109106"),
        ("001085012345", "001085012345"),  # personal ID number, the tax code since 1 July 2025
        ("0101 234 565", "0101234565"),  # stdnum strips spaces, dots and hyphens on purpose
        ("01.00.112.437", "0100112437"),
        ("0312 68 78 78 - 001", "0312687878001"),
        (" 0101234565 ", "0101234565"),
    ],
)
def test_valid_tax_codes_are_stored_compact(text, stored):
    assert normalize_tax_code(text) == stored


@pytest.mark.parametrize(
    "code",
    ["0100112437", "0100109106", "0300588569", "0101248141", "0100684378", "0100107370", "0303576603"],
)
def test_published_company_tax_codes_validate(code):
    assert normalize_tax_code(code) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0101234560", "tax_code_checksum"),  # should end in 5
        ("9876543210", "tax_code_checksum"),  # r == 0: no valid check digit exists for 987654321
        ("0101234565-000", "tax_code_invalid"),  # branch 000 does not exist
        ("0100000003", "tax_code_invalid"),  # serial 0000000
        ("010123456", "tax_code_invalid"),
        ("01012345651", "tax_code_invalid"),
        ("", "tax_code_invalid"),
        ("０１０１２３４５６５", "tax_code_invalid"),  # full-width digits: stdnum would convert them
        ("0101234565/001", "tax_code_invalid"),
        ("MST0101234565", "tax_code_invalid"),
        ("00108501234A", "tax_code_invalid"),
    ],
)
def test_invalid_tax_codes_are_rejected_with_a_reason(text, code):
    assert _code(normalize_tax_code, text) == code


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("0101234565001", "0101234565-001"),
        ("0101234565", "0101234565"),
        ("001085012345", "001085012345"),  # a personal ID is not split like a branch code
    ],
)
def test_format_tax_code_hyphenates_only_branch_codes(stored, shown):
    assert format_tax_code(stored) == shown


# --- Personal ID numbers: domain/vietnam.md §2c ---------------------------------------------


@pytest.mark.parametrize("text", ["001085012345", "079185123456", "001205000001", " 001085012345\n"])
def test_valid_personal_id_numbers_are_twelve_ascii_digits(text):
    assert normalize_cccd(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "00108501234",  # 11 digits
        "0010850123456",  # 13 digits
        "00108501234A",
        "０01085012345",  # full-width first digit
        "001 085 012 345",  # inner spaces: the card prints the number unbroken
        "001.085.012.345",
        "001085-012345",
        "",
    ],
)
def test_invalid_personal_id_numbers_are_rejected(text):
    assert _code(normalize_cccd, text) == "id_number_invalid"


def test_old_nine_digit_cmnd_is_rejected_with_its_own_reason():
    assert _code(normalize_cccd, "123456789") == "id_number_cmnd"


def test_normalization_form_does_not_matter_for_digits():
    assert normalize_cccd(unicodedata.normalize("NFD", "001085012345")) == "001085012345"


@pytest.mark.parametrize(
    ("number", "info"),
    [
        ("079185123456", CccdInfo(sex="female", birth_year=1985)),
        ("001205000001", CccdInfo(sex="male", birth_year=2005)),
        ("001085012345", CccdInfo(sex="male", birth_year=1985)),
        ("001399000001", CccdInfo(sex="female", birth_year=2099)),
        ("001800000001", CccdInfo(sex="male", birth_year=2300)),
        ("001999000001", CccdInfo(sex="female", birth_year=2399)),
        ("999085012345", CccdInfo(sex="male", birth_year=1985)),  # unknown prefix: still decoded
    ],
)
def test_describe_cccd_decodes_sex_and_birth_year(number, info):
    assert describe_cccd(number) == info


@pytest.mark.parametrize("number", ["123456789", "00108501234A", "０01085012345"])
def test_describe_cccd_returns_none_for_non_numbers(number):
    assert describe_cccd(number) is None


def test_mask_cccd_keeps_the_last_four_digits():
    assert mask_cccd("079185122345") == "•••• 2345"


def _through_the_library(text: str, mobile_only: bool = True) -> str:
    """normalize_phone as it reads every number with phonenumbers.parse (no shortcut)."""
    value = text.strip()
    digits = re.sub(r"[^0-9]", "", value)
    if "+" not in value and digits.startswith("84") and len(digits) in (11, 12):
        value = "+" + digits
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return "phone_invalid"
    if not phonenumbers.is_valid_number(number):
        return "phone_invalid"
    if phonenumbers.region_code_for_number(number) != "VN":
        return "phone_not_vietnamese"
    kind = phonenumbers.number_type(number)
    if mobile_only and kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return "phone_not_mobile"
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _ours(text: str, mobile_only: bool = True) -> str:
    try:
        return normalize_phone(text, mobile_only=mobile_only)
    except IdentifierError as exc:
        return exc.code


def test_the_plain_number_shortcut_reads_numbers_exactly_as_phonenumbers_does() -> None:
    rng = random.Random(84)
    samples = []
    for _ in range(6000):
        national = str(rng.randint(1, 9)) + "".join(
            str(rng.randint(0, 9)) for _ in range(rng.choice((7, 8, 9, 10)))
        )
        for text in (
            "0" + national,
            f"0{national[:3]} {national[3:6]} {national[6:]}",
            f"0{national[:3]}.{national[3:6]}.{national[6:]}",
            f"0{national[:2]}-{national[2:]}",
            f"+84 {national}",
            f"+84{national}",
            f"84{national}",
            f" 0{national} ",
        ):
            samples.append(text)
    for text in samples:
        for mobile_only in (True, False):
            assert _ours(text, mobile_only) == _through_the_library(text, mobile_only), text
