import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.i18n import N_
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


# --- payment accounts, QR, posters --------------------------------------------------------------

_doc = Meta  # field documentation for the OpenAPI schema


class PaymentAccountIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """A receiving account. Fields are loosely typed on purpose: the service checks each one and
    reports every problem at once. The first account of a merchant is always primary."""

    id: Annotated[uuid.UUID | None, _doc(description="Client-generated id; a retry with it replays")] = None
    bank_bin: Annotated[str | None, _doc(description="VietQR BIN of a bank that receives transfers")] = None
    service: Annotated[str | None, _doc(description="`account` (default) or `card`")] = None
    account: Annotated[
        str | None, _doc(description="Account or card number; spaces and dashes are removed")
    ] = None
    holder_name: Annotated[
        str | None,
        _doc(description="As the bank shows it; upper-cased without diacritics. Default: the owner's name"),
    ] = None
    is_primary: bool = False


class PaymentAccountPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    is_primary: Annotated[bool, _doc(description="Only `true`: make this the merchant's primary account")]


class PaymentAccountOut(Struct, kw_only=True):
    id: uuid.UUID
    merchant_id: uuid.UUID
    bank_bin: str
    bank_short_name: str | None
    bank_name: str | None
    service: Literal["account", "card"]
    account: Annotated[str, _doc(description="In full for the merchant's team and admins, else •••• 5678")]
    account_masked: bool
    holder_name: str
    is_primary: bool
    created_at: datetime
    created_by_id: uuid.UUID


class PaymentQrOut(Struct, kw_only=True):
    payload: str
    bank_bin: str
    account: str
    amount: int | None
    purpose: Annotated[str | None, _doc(description="As encoded in 62.08: transliterated, at most 25")]


class PosterOut(Struct, kw_only=True):
    code: Annotated[str, _doc(description="The verification code as printed, e.g. 7K3M-Q9TX")]
    verify_url: str
    merchant_id: uuid.UUID
    payment_account_id: uuid.UUID
    printed_at: datetime
    png_url: str
    pdf_url: str


CheckinAnswer = Literal["0", "1-5", "6-20", "20+"]


class PaymentCheckinIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """A volunteer's record of the weekly question "how many customers paid by QR this week?"."""

    answer: Annotated[
        CheckinAnswer, _doc(description="Customers who paid by QR in the week: `0`, `1-5`, `6-20` or `20+`")
    ]
    day: Annotated[
        date | None,
        _doc(
            description="The day asked about, e.g. the visit's (default: today in Vietnam); the answer "
            "is kept for its ISO week, and a second answer for that week replaces the first"
        ),
    ] = None


class PaymentCheckinOut(Struct, kw_only=True):
    id: uuid.UUID
    merchant_id: uuid.UUID
    iso_week: Annotated[str, _doc(description="ISO week in Vietnam's calendar, e.g. 2026-W49")]
    day: date
    answer: CheckinAnswer
    paid: Annotated[bool, _doc(description="Some customer paid by QR that week (answer other than 0)")]
    source: Literal["trader", "volunteer"]
    recorded_at: datetime
    recorded_by_id: Annotated[uuid.UUID | None, _doc(description="None: the trader, on their edit link")]


PAYMENT_ACTIONS = {
    "create": N_("Thêm tài khoản"),
    "primary": N_("Đặt làm tài khoản chính"),
    "not_primary": N_("Thôi là tài khoản chính"),
    "delete": N_("Gỡ tài khoản"),
    "print_poster": N_("In biển QR"),
}


# --- views for templates ------------------------------------------------------------------------


class PaymentSection(Struct, kw_only=True):
    """The payment part of the merchant page."""

    merchant_id: uuid.UUID
    accounts: list[PaymentAccountOut]
    qr_version: str | None  # the primary account's payload version, for the cacheable image URL
    can_change: bool
    poster_code: str | None  # the live poster of the primary account, if one was printed
    history: list["PaymentEvent"] | None  # for team leaders and officers, as the merchant audit
    erased: bool = False  # the trader's data was erased: banks only, no QR, nothing to change


class PaymentEvent(Struct, kw_only=True):
    """One audit entry of a payment account, told for people."""

    at: datetime
    actor_name: str | None
    action: str  # a msgid, see PAYMENT_ACTIONS
    account: str  # "Vietcombank · 0011001234567" (masked per privacy.py)
    poster_code: str | None


class PosterView(Struct, kw_only=True):
    code: str
    verify_url: str
    merchant_id: uuid.UUID
    business_name: str
    bank_short_name: str
    account_masked: str
    holder_name: str
    printed_at: datetime
    printed_by_name: str | None
    current: bool


class VerifyView(Struct, kw_only=True):
    """What the public `/v/{code}` page shows: only what the poster itself prints, plus where."""

    code: str
    current: bool
    business_name: str
    market: str | None
    stall: str | None
    commune_name: str
    province_name: str
    bank_short_name: str
    bank_name: str
    account_masked: str
    holder_name: str
    printed_at: datetime


class SheetRow(Struct, kw_only=True):
    merchant_id: uuid.UUID
    business_name: str
    stall: str | None
    bank_short_name: str | None
    account_masked: str | None


class MarketSheet(Struct, kw_only=True):
    market: str
    printable: list[SheetRow]
    skipped: list[SheetRow]  # no primary account: nothing to print
