"""Pure merchant rules: field cleaning, the masking rule, query parsing, cursors, similar names."""

import uuid
from datetime import UTC, datetime

import pytest

from service.accounts.schemas import CurrentUser
from service.merchants.privacy import Visibility, display_phone, shown, visibility
from service.merchants.search import (
    CursorError,
    decode_cursor,
    encode_cursor,
    length_window,
    parse_query,
    similar_names,
)
from service.merchants.validation import clean

TEAM = uuid.uuid4()


def user(role: str, team: uuid.UUID | None = TEAM) -> CurrentUser:
    return CurrentUser(id=uuid.uuid4(), username="u", full_name="U", role=role, locale="vi", team_id=team)


def test_clean_reports_every_problem_and_normalizes_the_rest() -> None:
    values, errors = clean(
        {
            "kind": "market_stall",
            "business_name": "  Phở \u0301  Hà  Nội ",
            "owner_phone": "+84 912 345 678",
            "consent_purposes": "statistics,storefront",
            "lat": "16,47",
            "lon": "",
            "tax_code": "0101 234 565",
        }
    )
    assert values["owner_phone"] == "+84912345678"
    assert values["consent_purposes"] == ["storefront", "statistics"]
    assert values["tax_code"] == "0101234565"
    assert values["lat"] == 16.47
    assert {f for f, _ in errors} == {"category", "owner_name", "commune_code", "lon"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 5.9),
        ("lat", 24),
        ("lon", 101.9),
        ("lon", 118.5),
        ("lat", "nan"),
        ("owner_id_number", "０01085012345"),
        ("owner_phone", "0912abc678"),
        ("consent_purposes", ["storefront", "marketing"]),
        ("commune_code", "1975"),
    ],
)
def test_clean_refuses(field: str, value: object) -> None:
    _, errors = clean({field: value}, fields=[field], required=())
    assert [f for f, _ in errors] == [field]


def test_islands_are_inside_the_coordinate_box() -> None:
    values, errors = clean({"lat": 8.65, "lon": 111.92}, fields=["lat", "lon"], required=())  # Trường Sa
    assert errors == [] and values == {"lat": 8.65, "lon": 111.92}


def test_masking_rule_per_role() -> None:
    assert visibility(user("admin", None), team_id=TEAM) == Visibility(phone=True, id_number=True)
    assert visibility(user("team_leader"), team_id=TEAM) == Visibility(phone=True, id_number=True)
    assert visibility(user("volunteer"), team_id=TEAM) == Visibility(phone=True, id_number=False)
    assert visibility(user("volunteer"), team_id=uuid.uuid4()) == Visibility(phone=False, id_number=False)
    assert visibility(user("team_leader"), team_id=uuid.uuid4()) == Visibility(phone=False, id_number=False)
    for role in ("commune_officer", "province_officer"):
        assert visibility(user(role, None), team_id=TEAM) == Visibility(phone=False, id_number=False)


def test_shown_masks_phones_ids_and_personal_tax_codes_only() -> None:
    hidden = Visibility(phone=False, id_number=False)
    assert shown("owner_phone", "+84912345678", hidden) == "•••• 5678"
    assert shown("owner_id_number", "079185123456", hidden) == "•••• 3456"
    assert shown("tax_code", "001085012345", hidden) == "•••• 2345"
    assert shown("tax_code", "0101234565", hidden) == "0101234565"
    assert shown("owner_name", "Trần Thị Kéo", hidden) == "Trần Thị Kéo"
    assert shown("owner_id_number", None, hidden) is None
    assert display_phone("+84912345678", Visibility(phone=True, id_number=False)) == "0912 345 678"


def test_queries_are_folded_and_phones_read_in_any_format() -> None:
    assert parse_query("Bún BÒ huế", partial_phone=True).text == "bun bo hue"
    q = parse_query("0912 345 678", partial_phone=True)
    assert (q.phone, q.digits) == ("+84912345678", "912345678")
    assert parse_query("+84 912 345 678", partial_phone=False).digits is None
    assert parse_query("345 678", partial_phone=True).digits == "345678"
    assert parse_query("12", partial_phone=True).digits is None
    assert parse_query("phở 24", partial_phone=True).phone is None


def test_cursor_round_trips_and_refuses_tampering() -> None:
    key = (datetime(2026, 1, 5, 8, 0, 0, 123456, tzinfo=UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor("recent", key), "recent") == key
    assert decode_cursor(encode_cursor("name", ("bun bo", key[1])), "name") == ("bun bo", key[1])
    for bad in ("", "!!!", encode_cursor("name", ("x", key[1]))):
        with pytest.raises(CursorError):
            decode_cursor(bad, "recent")


def test_similar_names_and_the_length_prefilter_never_disagree() -> None:
    assert similar_names("bun bo hue me keo", "bun bo hue me keo")
    assert similar_names("bun bo hue me keo", "bun bo hue me kep")
    assert not similar_names("bun bo hue me keo", "banh beo me keo")
    name = "com hen ba mai"
    low, high = length_window(name)
    for other in ("com hen ba mai", "com hen ba mai 2", "com hen b mai"):
        if similar_names(name, other):
            assert low <= len(other) <= high
