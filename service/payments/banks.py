"""Directory of Vietnamese banks by VietQR BIN, read from `data/napas_banks.json`.

The file is data with an update path (see `data/README.md`), not code: banks merge and re-brand.
"""

import functools
from importlib import resources
from typing import Literal

import msgspec

from service.text import fold

VietQRStatus = Literal["transfer_supported", "receive_only", "not_in_vietqr_list"]


class Bank(msgspec.Struct, frozen=True, kw_only=True):
    bin: str
    short_name: str
    full_name: str
    code: str | None  # VietQR participant code, e.g. "VCB"
    napas_code: str | None  # NAPAS short code; can differ from `code` (BVB = BaoViet here, BVBank there)
    swift: str | None
    vietqr_status: VietQRStatus
    # Beneficiary side: a VietQR transfer to this BIN is routed ("transfer_supported" or "receive_only").
    receives_transfers: bool
    # Payer side: the bank's own app can scan and pay a VietQR ("transfer_supported" only).
    app_pays_vietqr: bool
    former_names: tuple[str, ...] = ()
    in_sbv_bin_list_2023: bool = False
    note: str | None = None


class _RawBank(msgspec.Struct):
    bin: str
    short_name: str
    name: str
    code: str | None
    napas_code: str | None
    swift: str | None
    vietqr_status: VietQRStatus
    in_sbv_bin_list_2023: bool
    sbv_name: str | None = None
    former_names: tuple[str, ...] = ()
    note: str | None = None


class _RawFile(msgspec.Struct):
    source: str
    count: int
    banks: list[_RawBank]


class _Directory(msgspec.Struct, frozen=True):
    banks: tuple[Bank, ...]
    by_bin: dict[str, Bank]
    by_key: dict[str, Bank]


def _key(name: str) -> str:
    # "MB Bank", "MBBank" and "mbbank" are the same search.
    return fold(name).replace(" ", "")


def _former_name_keys(former: str) -> list[str]:
    # Stored as "DongA Bank (Ngân hàng TMCP Đông Á)": both halves are names people use.
    short, _, rest = former.partition(" (")
    return [short, rest.removesuffix(")")] if rest else [short]


@functools.cache
def _directory() -> _Directory:
    raw = msgspec.json.decode(
        resources.files("service.payments").joinpath("data/napas_banks.json").read_bytes(), type=_RawFile
    )
    if raw.count != len(raw.banks):
        raise ValueError(f"napas_banks.json: count says {raw.count}, file holds {len(raw.banks)} banks")
    banks = tuple(
        Bank(
            bin=b.bin,
            short_name=b.short_name,
            full_name=b.name,
            code=b.code,
            napas_code=b.napas_code,
            swift=b.swift,
            vietqr_status=b.vietqr_status,
            receives_transfers=b.vietqr_status != "not_in_vietqr_list",
            app_pays_vietqr=b.vietqr_status == "transfer_supported",
            former_names=b.former_names,
            in_sbv_bin_list_2023=b.in_sbv_bin_list_2023,
            note=b.note,
        )
        for b in raw.banks
    )
    by_bin = {bank.bin: bank for bank in banks}
    if len(by_bin) != len(banks):
        raise ValueError("napas_banks.json: duplicate BIN")

    # Names collide across banks ("BVB", "CIMB Bank"/"CIMBBank"): earlier tiers win, and within a
    # tier a bank that can receive VietQR transfers wins over one that cannot.
    ranked = sorted(banks, key=lambda bank: not bank.receives_transfers)
    sbv_names = {b.bin: b.sbv_name for b in raw.banks}
    tiers = [
        lambda bank: [bank.short_name],
        lambda bank: [bank.code],
        lambda bank: [n for former in bank.former_names for n in _former_name_keys(former)],
        lambda bank: [bank.napas_code],
        lambda bank: [bank.full_name, sbv_names[bank.bin]],
    ]
    by_key: dict[str, Bank] = {}
    for names_of in tiers:
        for bank in ranked:
            for name in names_of(bank):
                if name:
                    by_key.setdefault(_key(name), bank)
    return _Directory(banks=banks, by_bin=by_bin, by_key=by_key)


def all_banks() -> tuple[Bank, ...]:
    """Every bank in file order (ascending BIN)."""
    return _directory().banks


def by_bin(bin: str) -> Bank | None:
    return _directory().by_bin.get(bin)


def by_short_name(name: str) -> Bank | None:
    """Case- and accent-insensitive lookup by short name, code, former name, NAPAS code or full name."""
    key = _key(name)
    return _directory().by_key.get(key) if key else None


def find_banks(query: str) -> list[Bank]:
    """Banks whose names contain the query, accent- and case-insensitively; an exact name first."""
    everything = all_banks()
    key = fold(query)
    if not key:
        return list(everything)
    compact = key.replace(" ", "")  # "mbbank" finds "MB Bank"

    def matches(bank: Bank) -> bool:
        names = (bank.short_name, bank.code, bank.napas_code, bank.full_name, *bank.former_names)
        folded = [fold(name) for name in names if name]
        return any(key in name or compact in name.replace(" ", "") for name in folded)

    exact = by_short_name(query)
    found = [bank for bank in everything if matches(bank) and bank is not exact]
    return [exact, *found] if exact else found
