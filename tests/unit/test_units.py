from collections import Counter

import pytest

from service.places.units import UnitsDataError, check_units, load_units


def test_reference_file_has_every_province_and_commune_once() -> None:
    provinces, communes = load_units()
    assert len(provinces) == 34
    assert len(communes) == 3321
    assert Counter(c["kind"] for c in communes)["dac_khu"] == 13
    province_codes = {p["code"] for p in provinces}
    assert all(c["province_code"] in province_codes for c in communes)


@pytest.mark.parametrize(
    ("code", "name"),
    [("01", "Hà Nội"), ("79", "Hồ Chí Minh"), ("15", "Lào Cai"), ("24", "Bắc Ninh"), ("46", "Huế")],
)
def test_province_codes_are_the_post_reform_ones(code: str, name: str) -> None:
    provinces, _ = load_units()
    assert {p["code"]: p["name"] for p in provinces}[code] == name


@pytest.mark.parametrize(
    ("code", "full_name", "province"),
    [
        ("00004", "Phường Ba Đình", "01"),
        ("26740", "Phường Sài Gòn", "79"),
        ("26743", "Phường Bến Thành", "79"),
        ("00226", "Phường Văn Miếu - Quốc Tử Giám", "01"),
        ("06970", "Xã Ba Chẽ", "22"),
        ("26732", "Đặc khu Côn Đảo", "79"),
    ],
)
def test_commune_codes_follow_the_official_list(code: str, full_name: str, province: str) -> None:
    _, communes = load_units()
    commune = {c["code"]: c for c in communes}[code]
    assert (commune["full_name"], commune["province_code"]) == (full_name, province)


def test_a_file_with_a_missing_commune_is_refused() -> None:
    provinces, communes = load_units()
    with pytest.raises(UnitsDataError, match="3321"):
        check_units(provinces, communes[:-1])
    with pytest.raises(UnitsDataError, match="duplicate"):
        check_units(provinces, [*communes[:-1], communes[0]])
