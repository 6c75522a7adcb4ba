import unicodedata

import pytest

from service.errors import FieldErrors
from service.payments import banks
from service.payments.validation import clean, holder_name, parse_amount, parse_purpose


@pytest.mark.parametrize(
    ("typed", "bank_style"),
    [
        ("Trần Thị Nga", "TRAN THI NGA"),
        ("Đặng Văn Đức", "DANG VAN DUC"),
        ("  nguyễn   ngọc  ánh ", "NGUYEN NGOC ANH"),
        ("Hồ Quốc Việt (chủ hộ) 0912", "HO QUOC VIET CHU HO"),
        ("Lê Thị Xuân\u00a0Hòa", "LE THI XUAN HOA"),
    ],
)
def test_holder_name_is_written_as_banks_show_it(typed, bank_style):
    assert holder_name(typed) == bank_style
    assert holder_name(unicodedata.normalize("NFD", typed)) == bank_style


def test_clean_normalizes_and_defaults_the_holder_to_the_owner():
    values, errors = clean({"bank_bin": "970436", "account": "0011-0012 34567"}, default_holder="Ngô Thị Tư")
    assert errors == []
    assert values == {
        "service": "account",
        "bank_bin": "970436",
        "account": "0011001234567",
        "holder_name": "NGO THI TU",
        "is_primary": False,
    }


def test_clean_reports_every_problem():
    closed = next(b for b in banks.all_banks() if not b.receives_transfers)
    _, errors = clean({"bank_bin": closed.bin, "service": "wallet", "account": "x", "holder_name": "1"})
    assert [field for field, _ in errors] == ["service", "bank_bin", "account", "holder_name"]


def test_wallet_accounts_with_letters_are_accepted():
    values, errors = clean({"bank_bin": "970454", "account": "99mm24011m34875080", "holder_name": "LE MINH"})
    assert errors == [] and values["account"] == "99MM24011M34875080"


def test_cards_must_be_domestic_napas_cards():
    _, errors = clean(
        {"bank_bin": "970436", "service": "card", "account": "4111111111111111", "holder_name": "AN"}
    )
    assert [field for field, _ in errors] == ["account"]
    values, errors = clean(
        {"bank_bin": "970436", "service": "card", "account": "9704 3666 1234 5678", "holder_name": "AN"}
    )
    assert errors == [] and values["account"] == "9704366612345678"


@pytest.mark.parametrize(
    ("raw", "flag"), [("1", True), ("on", True), (True, True), ("", False), (None, False)]
)
def test_primary_flag_reads_forms_and_json(raw, flag):
    values, _ = clean({"is_primary": raw})
    assert values["is_primary"] is flag


@pytest.mark.parametrize(
    ("raw", "amount"), [(None, None), ("  ", None), ("150000", 150_000), ("150.000 ₫", 150_000)]
)
def test_amounts_are_read_as_typed(raw, amount):
    assert parse_amount(raw) == amount


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "12.5", "500.000.000", "499999999,5"])
def test_impossible_amounts_are_field_errors(raw):
    with pytest.raises(FieldErrors) as error:
        parse_amount(raw)
    assert [field for field, _ in error.value.errors] == ["amount"]


def test_purpose_is_transliterated_and_must_fit_25():
    assert parse_purpose("Bàn 4, đơn #12") == "Ban 4 don 12"
    assert parse_purpose("") is None
    for raw in ("₫₫!!", "Thanh toán đơn hàng số 2026 ngày 30"):
        with pytest.raises(FieldErrors):
            parse_purpose(raw)
