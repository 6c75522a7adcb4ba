"""What a device keeps: the reference lists and the team's traders (no ID numbers; phones only where
the role sees them)."""

import uuid

from msgspec import Struct


class DeviceTrader(Struct, kw_only=True):
    id: uuid.UUID
    version: int
    business_name: str
    owner_name: str
    owner_phone: str | None  # formatted, only for readers who see phones
    kind: str
    category: str
    commune_code: str
    village_id: uuid.UUID | None
    market: str | None
    stall: str | None
    current_stage: str
    next_follow_up: str | None


class DeviceVillage(Struct):
    id: uuid.UUID
    name: str
    commune_code: str


class DeviceCommune(Struct):
    code: str
    name: str


class DeviceBank(Struct):
    bin: str
    short_name: str
    name: str


class DeviceData(Struct, kw_only=True):
    user_id: uuid.UUID
    fetched_at: str
    communes: list[DeviceCommune]
    villages: list[DeviceVillage]
    markets: list[str]
    kinds: dict[str, str]
    categories: dict[str, str]
    stages: dict[str, str]
    banks: list[DeviceBank]
    traders: list[DeviceTrader]
    truncated: bool


class DeviceToken(Struct):
    token: str
    expires_at: str
    user_id: uuid.UUID
