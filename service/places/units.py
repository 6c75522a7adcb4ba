"""The national administrative-unit file shipped with the package: loaded, checked, turned into rows."""

import json
from functools import cache
from importlib import resources

from service.text import fold

UNITS_FILE = "vn_units_2026-07-25.json"
PROVINCE_COUNT = 34
COMMUNE_COUNT = 3321


class UnitsDataError(ValueError):
    pass


@cache
def load_units(filename: str = UNITS_FILE) -> tuple[list[dict], list[dict]]:
    """Province and commune rows (dicts ready for insert), after checking counts and unique codes."""
    raw = json.loads(resources.files("service.places.data").joinpath(filename).read_text("utf-8"))
    version = raw["version"]
    provinces, communes = [], []
    for p in raw["provinces"]:
        provinces.append(
            {
                "code": p["code"],
                "name": p["name"],
                "name_en": p["name_en"],
                "full_name": p["full_name"],
                "kind": p["kind"],
                "name_fold": fold(p["name"]),
                "data_version": version,
            }
        )
        for c in p["communes"]:
            communes.append(
                {
                    "code": c["code"],
                    "province_code": p["code"],
                    "name": c["name"],
                    "name_en": c["name_en"],
                    "full_name": c["full_name"],
                    "kind": c["kind"],
                    "name_fold": fold(c["name"]),
                    "data_version": version,
                }
            )
    check_units(provinces, communes)
    return provinces, communes


def check_units(provinces: list[dict], communes: list[dict]) -> None:
    if len(provinces) != PROVINCE_COUNT:
        raise UnitsDataError(f"expected {PROVINCE_COUNT} provinces, found {len(provinces)}")
    if len(communes) != COMMUNE_COUNT:
        raise UnitsDataError(f"expected {COMMUNE_COUNT} communes, found {len(communes)}")
    if len({p["code"] for p in provinces}) != len(provinces):
        raise UnitsDataError("duplicate province codes")
    if len({c["code"] for c in communes}) != len(communes):
        raise UnitsDataError("duplicate commune codes")
    bad = [c["code"] for c in communes if not (len(c["code"]) == 5 and c["code"].isdigit())]
    if bad or any(not (len(p["code"]) == 2 and p["code"].isdigit()) for p in provinces):
        raise UnitsDataError(f"malformed codes: {bad[:5]}")
