import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.money import MAX_AMOUNT, MoneyError, format_grouped, format_vnd, parse_vnd


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        # The table in domain/vietnam.md §4.
        ("25.000", 25000),
        ("25.000đ", 25000),
        ("25.000 ₫", 25000),
        ("25,000", 25000),
        ("25000 VND", 25000),
        ("1.234.567", 1234567),
        # Markers, case and spacing seen in everyday writing.
        ("25.000\u00a0₫", 25000),
        ("₫25.000", 25000),
        ("25.000 VNĐ", 25000),
        ("25.000vnd", 25000),
        ("25000d", 25000),
        ("  25.000 đ  ", 25000),
        ("25 000", 25000),
        ("500", 500),
        ("1.000.000.000.000", MAX_AMOUNT),
        # Prices as traders say them.
        ("85k", 85000),
        ("85K", 85000),
        ("85 k", 85000),
        ("85 nghìn", 85000),
        ("85 ngàn", 85000),
        ("85 nghin", 85000),
        ("85.000", 85000),
        ("85000", 85000),
        ("85.000 đồng", 85000),
        ("85 nghìn đồng", 85000),
        ("1,5k", 1500),
        ("2.5k", 2500),
        ("1,2 triệu", 1200000),
        ("3tr", 3000000),
        ("nghi\u0300n".join(["85 ", ""]), 85000),  # decomposed accents, as some keyboards send
    ],
)
def test_parse_vnd_reads_whole_dong(text, amount):
    assert parse_vnd(text) == amount


@pytest.mark.parametrize(
    "text",
    [
        "1.5",
        "12.34",
        "25.000,50",
        "1,234.567",
        "1.234,567",
        "25.00",
        "25.0000",
        ".000",
        "25.000.",
        "1,2345k",
        "k",
        "85kk",
        "85 nghìn 500",
        "25.000 ₫ ₫",
        "vnd 25.000 đ",
        "２５.０００",
        "abc",
        "₫",
        "1e6",
    ],
)
def test_parse_vnd_rejects_fractions_mixed_separators_and_stray_text(text):
    with pytest.raises(MoneyError) as caught:
        parse_vnd(text)
    assert caught.value.code == "format"


@pytest.mark.parametrize("text", ["-5.000", "−5.000 ₫", "0", "0 ₫", "000", "1.000.000.000.001"])
def test_parse_vnd_rejects_negative_zero_and_too_large_amounts(text):
    with pytest.raises(MoneyError) as caught:
        parse_vnd(text)
    assert caught.value.code == "range"


@pytest.mark.parametrize("text", ["", "   ", "\u00a0"])
def test_parse_vnd_reports_empty_input(text):
    with pytest.raises(MoneyError) as caught:
        parse_vnd(text)
    assert caught.value.code == "empty"


def test_money_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_vnd("1.5")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (25000, "25.000\u00a0₫"),
        (1234567, "1.234.567\u00a0₫"),
        (500, "500\u00a0₫"),
        (MAX_AMOUNT, "1.000.000.000.000\u00a0₫"),
    ],
)
def test_format_vnd_groups_with_dots_and_keeps_the_no_break_space(amount, text):
    assert format_vnd(amount) == text


@pytest.mark.parametrize("amount", [25000.5, 25000.0, True, "25000"])
def test_format_vnd_refuses_anything_but_int(amount):
    with pytest.raises(TypeError):
        format_vnd(amount)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT))
def test_formatted_amount_parses_back(amount):
    assert parse_vnd(format_vnd(amount)) == amount


@pytest.mark.parametrize(("amount", "text"), [(85000, "85.000"), (500, "500"), (1234567, "1.234.567")])
def test_format_grouped_writes_a_price_as_a_price_field_shows_it(amount, text):
    assert format_grouped(amount) == text
    assert parse_vnd(text) == amount
