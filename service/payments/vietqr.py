"""VietQR (NAPAS247 interbank transfer on EMVCo merchant-presented QR): encode and decode.

Rules and sources: shared/domain/vietqr.md. Scope is the transfer QR a trader's poster carries,
to an account (QRIBFTTA) or a domestic card (QRIBFTTC); merchant-acquiring (QRPUSH), ATM cash-out
(QRCASH) and other networks' QRs are refused with a clear message, never half-decoded.
"""

import re
import unicodedata
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.payments import banks

NAPAS_GUID = "A000000727"
MAX_PAYLOAD = 512  # EMVCo limit, in characters
MAX_AMOUNT = 500_000_000  # NAPAS247 takes "dưới 500 triệu đồng" per transfer: exclusive
MAX_PURPOSE = 25  # 62.08 is ANS ≤25 in the spec; the only length every payer app is known to accept
_SERVICES = {"account": "QRIBFTTA", "card": "QRIBFTTC"}
_SERVICE_NAMES = {code: name for name, code in _SERVICES.items()}
_OUT_OF_SCOPE = {
    "QRPUSH": "a merchant purchase QR (QRPUSH), not a transfer",
    "QRCASH": "an ATM cash-withdrawal QR (QRCASH), not a transfer",
}

_TWO_DIGITS = re.compile(r"[0-9]{2}")  # not \d: that matches every Unicode digit
_CRC_HEX = re.compile(r"[0-9A-Fa-f]{4}")
_BIN = re.compile(r"[0-9]{6}")
_DECODED_ACCOUNT = re.compile(r"[!-~]{1,19}")  # ANS ≤19: wallets use letters (99MM24011M34875080)
_ACCOUNT = re.compile(r"[0-9A-Z]{6,19}")
_CARD = re.compile(r"9704(?:[0-9]{12}|[0-9]{15})")
_AMOUNT = re.compile(r"[0-9]+\.?")  # the spec's own examples: "50000" and "50000." are valid
_PURPOSE_DROP = re.compile(r"[^A-Za-z0-9 .\-_]")
_SPACES = re.compile(r"\s+")
_D_STROKE = str.maketrans({"đ": "d", "Đ": "D"})  # no Unicode decomposition, so NFKD leaves them


class VietQRError(ValueError):
    """A payload or input that payer apps would refuse; the message names the tag and the problem."""

    def __init__(self, tag: str | None, problem: str) -> None:
        self.tag = tag
        self.problem = problem
        super().__init__(f"tag {tag}: {problem}" if tag else f"payload: {problem}")


class VietQR(msgspec.Struct, frozen=True, kw_only=True):
    """One transfer QR. The constraints are decode's (lenient); `encode` is stricter, see there."""

    bank_bin: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]
    account: Annotated[str, Meta(pattern=r"^[!-~]{1,19}$")]
    service: Literal["account", "card"] = "account"
    amount: Annotated[int, Meta(gt=0)] | None = None  # whole đồng
    purpose: Annotated[str, Meta(min_length=1, max_length=99)] | None = None
    static: bool = True  # tag 01: "11" reusable (stall poster) or "12" one transaction


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (ISO/IEC 13239): poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def normalize_account(raw: str, *, service: Literal["account", "card"] = "account") -> str:
    """Onboarding input to the form `encode` accepts: upper case, no spaces or dashes.

    `encode` refuses rather than normalizes, so a stored VietQR always round-trips unchanged;
    call this at the form edge.
    """
    value = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw)).upper()  # NFKC: full-width digits
    _check_account(value, service)
    return value


def ascii_purpose(text: str) -> str:
    """The transfer memo as 62.08 carries it: Vietnamese transliterated, only [A-Za-z0-9 .-_] kept.

    May return "" (no memo) or more than 25 characters; `encode` refuses the latter rather than
    truncating it, because the memo is the payer's reconciliation reference.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_D_STROKE))
    latin = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _PURPOSE_DROP.sub("", _SPACES.sub(" ", latin))).strip()


def _tlv(tag: str, value: str) -> str:
    if not 0 < len(value) <= 99:
        raise VietQRError(tag, f"value must be 1 to 99 characters, got {len(value)}")
    return f"{tag}{len(value):02d}{value}"


def _check_account(account: str, service: str) -> None:
    if service == "card":
        if not _CARD.fullmatch(account):
            raise VietQRError("38.01.01", "a card number must be 16 or 19 digits starting 9704")
    elif not _ACCOUNT.fullmatch(account):
        raise VietQRError(
            "38.01.01", "an account number must be 6 to 19 digits or capital letters, without spaces"
        )


def encode(qr: VietQR) -> str:
    """The canonical payload: ascending tags 00 01 38 53 [54] 58 [62] 63, upper-case CRC.

    Refuses what payer apps refuse: a BIN that is unknown or cannot receive VietQR transfers,
    an impossible account or card number, an amount outside 1..499 999 999 đồng, a memo longer
    than 25 characters after transliteration.
    """
    if not isinstance(qr.bank_bin, str) or not _BIN.fullmatch(qr.bank_bin):
        raise VietQRError("38.01.00", "bank BIN must be 6 digits")
    bank = banks.by_bin(qr.bank_bin)
    if bank is None:
        raise VietQRError("38.01.00", f"BIN {qr.bank_bin} is not in the bank directory")
    if not bank.receives_transfers:
        raise VietQRError(
            "38.01.00", f"BIN {qr.bank_bin} ({bank.short_name}) cannot receive VietQR transfers"
        )
    if qr.service not in _SERVICES:
        raise VietQRError("38.02", f"service must be 'account' or 'card', got {qr.service!r}")
    if not isinstance(qr.account, str):
        raise VietQRError("38.01.01", "account must be text")
    _check_account(qr.account, qr.service)
    if type(qr.static) is not bool:
        raise VietQRError("01", "static must be True or False")
    # type() rather than isinstance(): True is an int, and "5401" would be a 1 đồng transfer.
    if qr.amount is not None and (type(qr.amount) is not int or not 0 < qr.amount < MAX_AMOUNT):
        raise VietQRError("54", "amount must be a positive whole number of dong below 500,000,000")
    if qr.purpose is not None and not isinstance(qr.purpose, str):
        raise VietQRError("62.08", "purpose must be text")
    purpose = ascii_purpose(qr.purpose) if qr.purpose else ""
    if len(purpose) > MAX_PURPOSE:
        raise VietQRError(
            "62.08", f"purpose is {len(purpose)} characters after transliteration, at most {MAX_PURPOSE}"
        )

    beneficiary = _tlv("00", qr.bank_bin) + _tlv("01", qr.account)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", _SERVICES[qr.service])
    body = (
        _tlv("00", "01")
        + _tlv("01", "11" if qr.static else "12")
        + _tlv("38", merchant)
        + _tlv("53", "704")
        + (_tlv("54", str(qr.amount)) if qr.amount is not None else "")
        + _tlv("58", "VN")
        + (_tlv("62", _tlv("08", purpose)) if purpose else "")
        + "6304"
    )
    return f"{body}{crc16(body.encode()):04X}"


def _parse(text: str, parent: str | None) -> dict[str, str]:
    """One level of ID-length-value objects, in payload order; lengths count characters."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag = text[pos : pos + 2]
        path = f"{parent}.{tag}" if parent else tag
        if not _TWO_DIGITS.fullmatch(tag):
            raise VietQRError(parent, f"expected a two-digit tag id at character {pos}, found {tag!r}")
        length = text[pos + 2 : pos + 4]
        if not _TWO_DIGITS.fullmatch(length):
            raise VietQRError(path, f"expected a two-digit length, found {length!r}")
        size = int(length)
        if size == 0:
            raise VietQRError(path, "length 00 is not allowed (empty fields are omitted)")
        value = text[pos + 4 : pos + 4 + size]
        if len(value) < size:
            raise VietQRError(path, f"truncated: declares {size} characters, {len(value)} remain")
        if tag in fields:
            raise VietQRError(path, "appears twice")
        fields[tag] = value
        pos += 4 + size
    return fields


def _required(fields: dict[str, str], tag: str, path: str, what: str) -> str:
    if tag not in fields:
        raise VietQRError(path, f"missing {what}")
    return fields[tag]


def decode(payload: str) -> VietQR:
    """Parse and verify a VietQR transfer payload; raises VietQRError, never returns partial data.

    Accepts what real payer apps accept: any tag order between 00 (first) and 63 (last), lower-case
    CRC, other networks' tags (26 VNPAY, 52, 59, 60, 64, 80-99) alongside 38, which are skipped
    without parsing their insides. An unknown BIN is structurally valid and is returned as is.
    """
    if not isinstance(payload, str):
        raise VietQRError(None, "must be text")
    if not payload:
        raise VietQRError(None, "is empty")
    if len(payload) > MAX_PAYLOAD:
        raise VietQRError(None, f"is {len(payload)} characters, at most {MAX_PAYLOAD}")
    root = _parse(payload, None)
    order = list(root)
    if order[0] != "00":
        raise VietQRError("00", "payload format indicator must be the first field")
    if order[-1] != "63":
        raise VietQRError("63", "CRC must be the last field")
    if root["00"] != "01":
        raise VietQRError("00", f"payload format indicator must be 01, got {root['00']!r}")
    crc = root["63"]
    if len(crc) != 4 or not _CRC_HEX.fullmatch(crc):
        raise VietQRError("63", f"CRC must be 4 hex digits, got {crc!r}")
    try:
        expected = crc16(payload[:-4].encode())
    except UnicodeEncodeError as exc:
        raise VietQRError(None, "contains characters that are not valid Unicode") from exc
    if int(crc, 16) != expected:
        raise VietQRError("63", f"CRC mismatch: payload says {crc.upper()}, content gives {expected:04X}")

    initiation = _required(root, "01", "01", "point of initiation method (11 static, 12 dynamic)")
    if initiation not in ("11", "12"):
        raise VietQRError("01", f"point of initiation must be 11 or 12, got {initiation!r}")

    merchant = _parse(_required(root, "38", "38", "NAPAS account information: not a VietQR transfer"), "38")
    guid = _required(merchant, "00", "38.00", "GUID")
    if guid != NAPAS_GUID:
        raise VietQRError("38.00", f"GUID {guid!r} is not NAPAS ({NAPAS_GUID})")
    service_code = _required(merchant, "02", "38.02", "service code: a merchant (QRPUSH) QR, not a transfer")
    if service_code in _OUT_OF_SCOPE:
        raise VietQRError("38.02", f"{_OUT_OF_SCOPE[service_code]}; out of scope")
    if service_code not in _SERVICE_NAMES:
        raise VietQRError("38.02", f"unknown service code {service_code!r}")
    beneficiary = _parse(_required(merchant, "01", "38.01", "beneficiary template"), "38.01")
    bank_bin = _required(beneficiary, "00", "38.01.00", "bank BIN")
    if not _BIN.fullmatch(bank_bin):
        raise VietQRError("38.01.00", f"bank BIN must be 6 digits, got {bank_bin!r}")
    account = _required(beneficiary, "01", "38.01.01", "account or card number")
    if not _DECODED_ACCOUNT.fullmatch(account):
        raise VietQRError("38.01.01", "account must be 1 to 19 printable ASCII characters without spaces")

    currency = _required(root, "53", "53", "currency")
    if currency != "704":
        raise VietQRError("53", f"currency must be 704 (VND), got {currency!r}")
    country = _required(root, "58", "58", "country code")
    if country != "VN":
        raise VietQRError("58", f"country must be VN, got {country!r}")

    amount = None
    if "54" in root:
        raw_amount = root["54"]
        # VND has no minor unit: "50000." is the spec's own valid example, "50000.0" is a decimal.
        if len(raw_amount) > 13 or not _AMOUNT.fullmatch(raw_amount):
            raise VietQRError("54", f"amount must be a positive whole number of dong, got {raw_amount!r}")
        amount = int(raw_amount.rstrip("."))
        if amount == 0:
            raise VietQRError("54", "amount must be a positive whole number of dong, got 0")

    purpose = None
    if "62" in root:
        additional = _parse(root["62"], "62")
        purpose = additional.get("08")
        if purpose is not None and not purpose.isprintable():
            raise VietQRError("62.08", "purpose contains control characters")
        if purpose == "***":  # "the payer's app must prompt for it" [S1 p.11]: no memo given
            purpose = None

    return VietQR(
        bank_bin=bank_bin,
        account=account,
        service=_SERVICE_NAMES[service_code],
        amount=amount,
        purpose=purpose,
        static=initiation == "11",
    )
