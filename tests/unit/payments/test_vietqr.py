import contextlib
import unicodedata

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.payments.banks import all_banks
from service.payments.vietqr import (
    VietQR,
    VietQRError,
    ascii_purpose,
    crc16,
    decode,
    encode,
    normalize_account,
)

# NAPAS spec S1 §6.1 worked examples (shared/domain/vietqr.md §6), verbatim.
SPEC_DYNAMIC_ACCOUNT = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E"
)
SPEC_STATIC_CARD = (
    "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC53037045802VN63044F52"
)
# §6.1.1 as printed: declares 12 characters for a 13-character account; its CRC matches the typo.
SPEC_ERRATA_F4E5 = (
    "00020101021138570010A00000072701270006970403011200110123456780208QRIBFTTA53037045802VN6304F4E5"
)
# §6.1.1 with the length its own field table gives (0113): the consistent payload the brief cites.
SPEC_STATIC_ACCOUNT = (
    "00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN63049E6F"
)
# §5.2.3.2.4: the tag 38 example on its own (BIN 970468, account 0011009950446).
SPEC_TEMPLATE_38 = "38570010A00000072701270006970468011300110099504460208QRIBFTTA"

# No full payload is published for these quirks, so these vectors were constructed here: the
# account number was searched until the correct CRC came out as the quoted one.
# Techcombank "CRC with three-byte" (...63040283): the CRC has a leading zero and stays 4 digits.
ZERO_PADDED_CRC = (
    "00020101021138540010A00000072701240006970407011019000717980208QRIBFTTA53037045802VN63040283"
)
# MB Bank emits lower-case CRC (...630479db).
LOWERCASE_CRC = (
    "00020101021238530010A0000007270123000697042201090000644610208QRIBFTTA53037045405500005802VN630479db"
)


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def signed(body: str) -> str:
    """Append tag 63 with the correct CRC, so a malformed vector fails for its own reason."""
    body += "6304"
    return f"{body}{crc16(body.encode()):04X}"


def napas(bank_bin: str = "970436", account: str = "0123456789", service: str | None = "QRIBFTTA") -> str:
    inner = tlv("00", "A000000727") + tlv("01", tlv("00", bank_bin) + tlv("01", account))
    return tlv("38", inner + (tlv("02", service) if service else ""))


HEAD = "000201" + "010211"
VND_VN = "5303704" + "5802VN"


def test_crc_check_value_for_123456789_is_29b1():
    assert crc16(b"123456789") == 0x29B1


def test_crc_must_cover_the_utf8_bytes_including_6304():
    body = HEAD + napas() + VND_VN + tlv("59", "Bà Ba") + "6304"
    assert decode(f"{body}{crc16(body.encode('utf-8')):04X}").bank_bin == "970436"
    for wrong in (crc16(body[:-4].encode()), crc16(body.encode("latin-1"))):
        with pytest.raises(VietQRError, match=r"^tag 63: CRC mismatch"):
            decode(f"{body}{wrong:04X}")


def test_spec_dynamic_account_example_decodes():
    assert decode(SPEC_DYNAMIC_ACCOUNT) == VietQR(
        bank_bin="970403",
        account="0011012345678",
        amount=180_000,
        purpose="thanh toan don hang",
        static=False,
    )


def test_spec_dynamic_account_example_encodes_except_bill_number():
    # encode never emits 62.01 (bill number), so the spec vector differs only inside tag 62.
    qr = decode(SPEC_DYNAMIC_ACCOUNT)
    assert encode(qr) == signed(
        "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
        "530370454061800005802VN62230819thanh toan don hang"
    )


def test_spec_static_card_example_round_trips_exactly():
    qr = VietQR(bank_bin="970403", account="9704031101234567", service="card")
    assert decode(SPEC_STATIC_CARD) == qr
    assert encode(qr) == SPEC_STATIC_CARD


def test_spec_static_account_example_with_corrected_length_round_trips_exactly():
    qr = VietQR(bank_bin="970403", account="0011012345678")
    assert encode(qr) == SPEC_STATIC_ACCOUNT
    assert decode(SPEC_STATIC_ACCOUNT) == qr


def test_spec_errata_string_with_f4e5_is_rejected():
    with pytest.raises(VietQRError, match=r"^tag 38\.01: expected a two-digit tag id"):
        decode(SPEC_ERRATA_F4E5)


def test_spec_template_38_example_decodes_inside_a_payload():
    qr = decode(signed(HEAD + SPEC_TEMPLATE_38 + VND_VN))
    assert (qr.bank_bin, qr.account, qr.service) == ("970468", "0011009950446", "account")


def test_spec_template_38_bin_is_refused_by_encode_because_it_cannot_receive_vietqr():
    # 970468 (MAFC, a finance company) has an SBV BIN but is not a VietQR participant.
    with pytest.raises(VietQRError, match=r"^tag 38\.01\.00: BIN 970468 \(MAFC\) cannot receive"):
        encode(VietQR(bank_bin="970468", account="0011009950446"))


def test_zero_padded_crc_is_accepted_and_emitted():
    qr = VietQR(bank_bin="970407", account="1900071798")
    assert decode(ZERO_PADDED_CRC) == qr
    assert encode(qr).endswith("63040283")


def test_lowercase_crc_is_accepted():
    assert decode(LOWERCASE_CRC) == VietQR(
        bank_bin="970422", account="000064461", amount=50_000, static=False
    )


def test_encode_emits_uppercase_crc():
    assert encode(decode(LOWERCASE_CRC)) == LOWERCASE_CRC[:-4] + LOWERCASE_CRC[-4:].upper()


def test_tag_62_before_38_is_accepted():
    payload = signed(HEAD + tlv("62", tlv("08", "DH 42")) + napas() + VND_VN)
    assert decode(payload) == VietQR(bank_bin="970436", account="0123456789", purpose="DH 42")


def test_sub_tags_in_any_order_are_accepted():
    beneficiary = tlv("01", "0123456789") + tlv("00", "970436")
    merchant = tlv("02", "QRIBFTTA") + tlv("01", beneficiary) + tlv("00", "A000000727")
    payload = signed(HEAD + "5802VN" + tlv("54", "25000") + tlv("38", merchant) + "5303704")
    assert decode(payload) == VietQR(bank_bin="970436", account="0123456789", amount=25_000)


def test_other_networks_tags_and_templates_are_skipped():
    vnpay = tlv("26", tlv("00", "A000000775") + tlv("01", "mid123"))
    momo = "8003046"  # tag 80 with a plain value, not a TLV template
    payload = signed(
        HEAD
        + vnpay
        + napas()
        + "52040000"
        + VND_VN
        + tlv("59", "CỬA HÀNG BÀ TƯ")
        + tlv("60", "HÀ NỘI")
        + tlv("64", tlv("00", "vi") + tlv("01", "Bún bò Huế"))
        + momo
        + tlv("99", "x")
    )
    assert decode(payload) == VietQR(bank_bin="970436", account="0123456789")


def test_lengths_count_characters_not_bytes():
    name = "aAeEoOiIuUyYđĐ"  # 14 characters, 16 UTF-8 bytes (the Odoo vector's tag 59)
    payload = signed(HEAD + napas() + VND_VN + "5914" + name)
    assert decode(payload).account == "0123456789"


def test_decode_keeps_a_utf8_purpose_as_found():
    payload = signed(HEAD + napas() + VND_VN + tlv("62", tlv("08", "Đặt bánh mì")))
    assert decode(payload).purpose == "Đặt bánh mì"


def test_purpose_of_three_stars_means_no_purpose():
    assert decode(signed(HEAD + napas() + VND_VN + tlv("62", tlv("08", "***")))).purpose is None


def test_purpose_longer_than_25_is_decoded_leniently():
    memo = "Thanh toan hoa don thang 7 nam 2026 cho cua hang"
    assert decode(signed(HEAD + napas() + VND_VN + tlv("62", tlv("08", memo)))).purpose == memo


def test_amount_with_trailing_dot_is_a_whole_number():
    # S1 §5.2.6 lists "50000." as a valid amount; VND has no minor unit, so it means 50 000.
    assert decode(signed(HEAD + napas() + "5303704" + "540650000." + "5802VN")).amount == 50_000


def test_static_with_amount_stays_static():
    payload = signed(HEAD + napas() + "5303704" + "540520000" + "5802VN")
    assert decode(payload) == VietQR(bank_bin="970436", account="0123456789", amount=20_000, static=True)


def test_unknown_bin_decodes_but_encode_refuses_it():
    qr = decode(signed(HEAD + napas(bank_bin="123456") + VND_VN))
    assert qr.bank_bin == "123456"
    with pytest.raises(VietQRError, match=r"^tag 38\.01\.00: BIN 123456 is not in the bank directory"):
        encode(qr)


def test_alphanumeric_wallet_account_decodes():
    assert (
        decode(signed(HEAD + napas("970454", "99MM24011M34875080") + VND_VN)).account == "99MM24011M34875080"
    )


def test_every_truncation_of_a_valid_payload_is_rejected():
    for end in range(len(SPEC_DYNAMIC_ACCOUNT)):
        with pytest.raises(VietQRError):
            decode(SPEC_DYNAMIC_ACCOUNT[:end])


MALFORMED = {
    "bad_crc": (SPEC_DYNAMIC_ACCOUNT[:-1] + "F", "63"),
    "crc_not_hex": (SPEC_STATIC_CARD[:-4] + "ZZZZ", "63"),
    "crc_wrong_length": (HEAD + napas() + VND_VN + "630512345", "63"),
    "crc_not_last": (signed(HEAD + napas() + "5303704") + "5802VN", "63"),
    "no_crc": (HEAD + napas() + VND_VN, "63"),
    "truncated": (SPEC_DYNAMIC_ACCOUNT[:-10], "62"),
    "zero_length": (signed(HEAD + "5200" + napas() + VND_VN), "52"),
    "non_digit_length": (signed(HEAD + "52A40000" + napas() + VND_VN), "52"),
    "unicode_digit_length": (signed(HEAD + "52٠٤0000" + napas() + VND_VN), "52"),
    "non_digit_id": (signed(HEAD + "5A040000" + napas() + VND_VN), None),
    "format_indicator_not_first": (signed("010211000201" + napas() + VND_VN), "00"),
    "format_indicator_not_01": (signed("000202010211" + napas() + VND_VN), "00"),
    "duplicate_root_tag": (signed(HEAD + napas() + "5303704540410005404900058" + "02VN"), "54"),
    "duplicate_in_38": (
        signed(HEAD + tlv("38", napas()[4:] + tlv("02", "QRIBFTTC")) + VND_VN),
        "38.02",
    ),
    "duplicate_in_38_01": (
        signed(
            HEAD
            + tlv(
                "38",
                tlv("00", "A000000727")
                + tlv("01", tlv("00", "970436") + tlv("01", "0123456789") + tlv("00", "970415"))
                + tlv("02", "QRIBFTTA"),
            )
            + VND_VN
        ),
        "38.01.00",
    ),
    "duplicate_in_62": (
        signed(HEAD + napas() + VND_VN + tlv("62", tlv("08", "A") + tlv("08", "B"))),
        "62.08",
    ),
    "missing_point_of_initiation": (signed("000201" + napas() + VND_VN), "01"),
    "point_of_initiation_13": (signed("000201010213" + napas() + VND_VN), "01"),
    "missing_38_vnpay_only": (
        signed(HEAD + tlv("26", tlv("00", "A000000775") + tlv("01", "m1")) + VND_VN),
        "38",
    ),
    "other_guid": (signed(HEAD + tlv("38", tlv("00", "A000000775") + napas()[18:]) + VND_VN), "38.00"),
    "missing_service_is_qrpush_merchant": (signed(HEAD + napas(service=None) + VND_VN), "38.02"),
    "qrpush": (signed(HEAD + napas(service="QRPUSH") + VND_VN), "38.02"),
    "qrcash": (signed(HEAD + napas(service="QRCASH") + VND_VN), "38.02"),
    "unknown_service": (signed(HEAD + napas(service="QRIBFTTX") + VND_VN), "38.02"),
    "missing_beneficiary": (
        signed(HEAD + tlv("38", tlv("00", "A000000727") + tlv("02", "QRIBFTTA")) + VND_VN),
        "38.01",
    ),
    "bin_five_digits": (signed(HEAD + napas(bank_bin="97043") + VND_VN), "38.01.00"),
    "account_twenty_characters": (signed(HEAD + napas(account="1" * 20) + VND_VN), "38.01.01"),
    "account_with_vietnamese_letter": (signed(HEAD + napas(account="ĐA123456") + VND_VN), "38.01.01"),
    "currency_usd": (signed(HEAD + napas() + "5303840" + "5802VN"), "53"),
    "missing_currency": (signed(HEAD + napas() + "5802VN"), "53"),
    "missing_country": (signed(HEAD + napas() + "5303704"), "58"),
    "country_not_vn": (signed(HEAD + napas() + "5303704" + "5802TH"), "58"),
    "amount_zero": (signed(HEAD + napas() + "5303704" + "54010" + "5802VN"), "54"),
    "amount_negative": (signed(HEAD + napas() + "5303704" + "5405-5000" + "5802VN"), "54"),
    "amount_decimal": (signed(HEAD + napas() + "5303704" + "5405100.0" + "5802VN"), "54"),
    "amount_thousands_space": (signed(HEAD + napas() + "5303704" + "540650 000" + "5802VN"), "54"),
    "amount_exponent": (signed(HEAD + napas() + "5303704" + "54035e4" + "5802VN"), "54"),
    "amount_fourteen_digits": (signed(HEAD + napas() + "5303704" + tlv("54", "1" * 14) + "5802VN"), "54"),
    "purpose_with_control_character": (
        signed(HEAD + napas() + VND_VN + tlv("62", tlv("08", "a\nb"))),
        "62.08",
    ),
    "over_512_characters": (
        signed(HEAD + napas() + VND_VN + "".join(tlv(str(tag), "x" * 99) for tag in range(80, 85))),
        None,
    ),
    "lone_surrogate": (HEAD + napas() + VND_VN + tlv("59", "\ud800") + "63040000", None),
    "empty": ("", None),
}


@pytest.mark.parametrize(("payload", "tag"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_payload_is_rejected(payload, tag):
    with pytest.raises(VietQRError) as raised:
        decode(payload)
    assert raised.value.tag == tag


def test_non_text_payload_is_rejected():
    with pytest.raises(VietQRError):
        decode(SPEC_STATIC_CARD.encode())  # type: ignore[arg-type]


def test_error_message_names_the_tag_and_the_problem():
    with pytest.raises(VietQRError) as raised:
        encode(VietQR(bank_bin="970436", account="0123456789", amount=0))
    assert str(raised.value) == "tag 54: amount must be a positive whole number of dong below 500,000,000"


@pytest.mark.parametrize(
    ("fields", "tag"),
    [
        ({"bank_bin": "123456"}, "38.01.00"),
        ({"bank_bin": "970460"}, "38.01.00"),  # Vietcredit: SBV BIN, not a VietQR participant
        ({"bank_bin": "97043"}, "38.01.00"),
        ({"account": "12345"}, "38.01.01"),
        ({"account": "1" * 20}, "38.01.01"),
        ({"account": "abc12345"}, "38.01.01"),  # encode refuses; normalize_account is for input
        ({"account": "0123 456 789"}, "38.01.01"),
        ({"account": "0123-456-789"}, "38.01.01"),
        ({"service": "card", "account": "0123456789"}, "38.01.01"),
        ({"service": "card", "account": "97040311012345678"}, "38.01.01"),  # 17 digits
        ({"service": "card", "account": "9705031101234567"}, "38.01.01"),
        ({"service": "wallet"}, "38.02"),
        ({"amount": 0}, "54"),
        ({"amount": -1}, "54"),
        ({"amount": 500_000_000}, "54"),
        ({"amount": True}, "54"),
        ({"amount": 1.5}, "54"),
        ({"amount": "50000"}, "54"),
        ({"purpose": "Thanh toán đơn hàng số 12345"}, "62.08"),  # 28 characters once transliterated
        ({"static": 1}, "01"),
    ],
)
def test_encode_refuses_what_bank_apps_refuse(fields, tag):
    qr = VietQR(**{"bank_bin": "970436", "account": "0123456789", **fields})
    with pytest.raises(VietQRError) as raised:
        encode(qr)
    assert raised.value.tag == tag


def test_encode_accepts_the_largest_amount_below_the_napas_cap():
    assert decode(encode(VietQR(bank_bin="970436", account="0123456789", amount=499_999_999))).amount == (
        499_999_999
    )


def test_receive_only_bank_can_be_the_beneficiary():
    qr = VietQR(bank_bin="458761", account="001234567")  # HSBC: receive only
    assert decode(encode(qr)) == qr


def test_stall_poster_payload_is_static_without_amount_or_purpose():
    assert encode(VietQR(bank_bin="970436", account="0123456789")) == signed(
        "000201010211" + napas() + "53037045802VN"
    )


def test_vietnamese_purpose_in_nfc_and_nfd_gives_the_same_payload():
    nfc = unicodedata.normalize("NFC", "Đặt bánh mì")
    nfd = unicodedata.normalize("NFD", "Đặt bánh mì")
    assert nfc != nfd
    payloads = {encode(VietQR(bank_bin="970436", account="0123456789", purpose=p)) for p in (nfc, nfd)}
    assert len(payloads) == 1
    assert decode(payloads.pop()).purpose == "Dat banh mi"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Đặt bánh mì", "Dat banh mi"),
        ("ĐẶNG THỊ Ửng", "DANG THI Ung"),
        ("INV/TEST/0001", "INVTEST0001"),
        ("  Phở   bò\ttái  ", "Pho bo tai"),
        ("don-hang_42.a", "don-hang_42.a"),
        ("Hóa đơn #7 (tháng 7)", "Hoa don 7 thang 7"),
        ("₫ !?", ""),
    ],
)
def test_purpose_is_transliterated_and_filtered(raw, clean):
    assert ascii_purpose(raw) == clean


def test_purpose_empty_after_filtering_gives_no_tag_62():
    assert encode(VietQR(bank_bin="970436", account="0123456789", purpose="!!! ???")) == encode(
        VietQR(bank_bin="970436", account="0123456789")
    )


def test_purpose_of_25_characters_after_transliteration_is_accepted():
    purpose = "Thanh toán đơn hàng số 12"
    assert len(ascii_purpose(purpose)) == 25
    assert decode(encode(VietQR(bank_bin="970436", account="0123456789", purpose=purpose))).purpose == (
        "Thanh toan don hang so 12"
    )


@pytest.mark.parametrize(
    ("raw", "service", "clean"),
    [
        ("0123 456-789", "account", "0123456789"),
        ("99mm24011m34875080", "account", "99MM24011M34875080"),
        ("０１２３４５６７８９", "account", "0123456789"),  # full-width digits from a phone keyboard
        ("9704 0311 0123 4567", "card", "9704031101234567"),
    ],
)
def test_normalize_account_cleans_onboarding_input(raw, service, clean):
    assert normalize_account(raw, service=service) == clean


@pytest.mark.parametrize(
    ("raw", "service"), [("12345", "account"), ("0123.456.789", "account"), ("1234567890123456", "card")]
)
def test_normalize_account_refuses_impossible_numbers(raw, service):
    with pytest.raises(VietQRError):
        normalize_account(raw, service=service)


_RECEIVING_BINS = sorted(bank.bin for bank in all_banks() if bank.receives_transfers)
_WORDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", min_size=1, max_size=12
)
_PURPOSES = st.lists(_WORDS, min_size=1, max_size=4).map(" ".join).filter(lambda p: len(p) <= 25)
_COMMON = {
    "bank_bin": st.sampled_from(_RECEIVING_BINS),
    "amount": st.none() | st.integers(min_value=1, max_value=499_999_999),
    "purpose": st.none() | _PURPOSES,
    "static": st.booleans(),
}
_VALID = st.builds(
    VietQR, service=st.just("account"), account=st.from_regex(r"[0-9A-Z]{6,19}", fullmatch=True), **_COMMON
) | st.builds(
    VietQR,
    service=st.just("card"),
    account=st.from_regex(r"9704([0-9]{12}|[0-9]{15})", fullmatch=True),
    **_COMMON,
)


@given(_VALID)
def test_decode_of_encode_is_identity(qr):
    assert decode(encode(qr)) == qr


@given(_VALID)
def test_decoded_value_passes_its_own_struct_constraints(qr):
    decoded = decode(encode(qr))
    assert msgspec.json.decode(msgspec.json.encode(decoded), type=VietQR) == decoded


@given(_VALID, st.data())
def test_any_single_character_change_is_rejected(qr, data):
    payload = encode(qr)
    index = data.draw(st.integers(min_value=0, max_value=len(payload) - 5))  # CRC digits: case is free
    char = data.draw(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E).filter(lambda c: c != payload[index])
    )
    with pytest.raises(VietQRError):
        decode(payload[:index] + char + payload[index + 1 :])


@given(st.text(max_size=600))
def test_arbitrary_text_raises_only_vietqr_error(text):
    with contextlib.suppress(VietQRError):
        decode(text)
