import uuid
from typing import Annotated, Literal

from msgspec import Meta, Struct


class ProvinceOut(Struct):
    code: str
    name: str
    full_name: str
    kind: str


class CommuneOut(Struct):
    code: str
    name: str
    full_name: str
    kind: str
    province_code: str


class VillageOut(Struct):
    id: uuid.UUID
    name: str
    kind: str
    commune_code: str


class AreaNames(Struct):
    province_code: str | None = None
    province_name: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None


class VillageForm(Struct):
    name: Annotated[str, Meta(min_length=2, max_length=100)]
    kind: Literal["thon", "to_dan_pho", "ap", "ban", "other"] = "thon"
