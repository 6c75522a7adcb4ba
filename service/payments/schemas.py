from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.payments import banks
from service.payments.vietqr import VietQR

# Generous: the codec itself refuses more than 512 characters with a reason; this only bounds input.
Payload = Annotated[str, Meta(min_length=1, max_length=2000, description="The QR code's text, as scanned")]


class DecodeIn(Struct, forbid_unknown_fields=True):
    payload: Payload


class DecodedQR(Struct, kw_only=True):
    """A VietQR transfer read from a payload or a photo, with its bank looked up."""

    payload: str
    bank_bin: str
    bank_short_name: str | None  # None: a BIN the directory does not know
    bank_name: str | None
    account: str
    service: Literal["account", "card"]
    amount: int | None  # whole đồng; None: the payer types it
    purpose: str | None  # 62.08, the transfer memo
    static: bool  # True: a reusable stall QR; False: one transaction
    receives_transfers: bool  # the BIN is known and takes VietQR transfers

    @classmethod
    def of(cls, payload: str, qr: VietQR) -> "DecodedQR":
        bank = banks.by_bin(qr.bank_bin)
        return cls(
            payload=payload,
            bank_bin=qr.bank_bin,
            bank_short_name=bank.short_name if bank else None,
            bank_name=bank.full_name if bank else None,
            account=qr.account,
            service=qr.service,
            amount=qr.amount,
            purpose=qr.purpose,
            static=qr.static,
            receives_transfers=bank.receives_transfers if bank else False,
        )


class BankOut(Struct, kw_only=True):
    bin: str
    short_name: str
    name: str
    receives_transfers: bool

    @classmethod
    def of(cls, bank: banks.Bank) -> "BankOut":
        return cls(
            bin=bank.bin,
            short_name=bank.short_name,
            name=bank.full_name,
            receives_transfers=bank.receives_transfers,
        )


class ApiFieldError(Struct):
    field: str
    message: str


class ApiError(Struct):
    """The JSON problem details every /api error carries (see service/errors.py)."""

    status_code: int
    detail: str
    errors: list[ApiFieldError] | None = None
