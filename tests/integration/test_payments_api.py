"""Reading a trader's existing VietQR from its text or a phone photo; the bank directory.

The photos are real images: the QR the service renders, pasted on a grey, noisy background, turned
a few degrees, shrunk, and saved as a JPEG the way a phone stores it (sideways, with an EXIF
orientation tag).
"""

import functools
import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageFile, ImageFilter

from service.payments import photo
from service.payments.render import qr_png
from service.payments.vietqr import VietQR, crc16, encode
from tests.helpers import api_token, browser_login, csrf_from

DECODE = "/api/v1/payment-qr/decode"
STALL = VietQR(bank_bin="970436", account="0011001234567")  # Vietcombank, static: a stall poster
ORDER = VietQR(bank_bin="970415", account="113366668888", amount=150_000, purpose="Don hang 42", static=False)
ORIENTATION = 0x0112


def with_crc(body: str) -> str:
    body += "6304"
    return f"{body}{crc16(body.encode()):04X}"


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def jpeg(image: Image.Image, *, orientation: int = 1, quality: int = 85) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def grain(size: tuple[int, int], spread: int, *, seed: int = 18) -> Image.Image:
    """Noise around mid-grey with the standard deviation `spread`, the same on every run (Pillow's
    effect_noise draws from an unseeded generator): uniform bytes narrowed to ±spread·√3."""
    rng = random.Random(f"{seed}-{size}-{spread}")
    uniform = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return uniform.point(lambda v: round(128 + (v - 127.5) / 127.5 * spread * 3**0.5))


def background(size: tuple[int, int], *, noise: int = 30) -> Image.Image:
    """A grey, unevenly lit, slightly noisy surface, like a stall counter."""
    light = Image.linear_gradient("L").resize(size).point(lambda v: 120 + v // 3)
    return Image.blend(light, grain(size, noise).point(lambda v: v // 4), 0.2)


@functools.cache
def phone_photo(payload: str, *, size: tuple[int, int] = (1600, 1200), qr_side: int = 380) -> bytes:
    """A JPEG as a phone saves it: the scene is stored turned on its side, EXIF orientation 6
    says how to turn it back. The QR is turned 5 degrees and shrunk from the rendered PNG."""
    scene = background(size)
    code = Image.open(io.BytesIO(qr_png(payload))).convert("L")
    code = code.resize((qr_side, qr_side), Image.Resampling.BILINEAR).rotate(5, expand=True, fillcolor=235)
    scene.paste(code, (size[0] // 3, size[1] // 5))
    scene = scene.filter(ImageFilter.GaussianBlur(0.8))
    # Orientation 6: viewers turn the stored pixels 90° clockwise, so store them turned the other way.
    return jpeg(scene.transpose(Image.Transpose.ROTATE_90), orientation=6)


def upload(data: bytes, name: str = "qr.jpg", content_type: str = "image/jpeg") -> dict:
    return {"image": (name, data, content_type)}


@pytest.fixture
async def auth(client) -> dict[str, str]:
    return await api_token(client, "demo-volunteer")


def only_error(response, field: str) -> str:
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    return errors[0]["message"]


# Structurally valid EMVCo payloads that are not VietQR transfers.
VNPAY = with_crc(
    "000201010211"
    + tlv("26", tlv("00", "A000000775") + tlv("01", "0123456789"))
    + "5204581253037045802VN"
    + tlv("59", "CUA HANG BA LAN")
    + tlv("60", "HA NOI")
)
QRPUSH = with_crc(
    "000201010211"
    + tlv("38", tlv("00", "A000000727") + tlv("01", tlv("00", "970436") + tlv("01", "0011001234567")))
    + "53037045802VN"
)
QRPUSH_EXPLICIT = with_crc(
    "000201010211"
    + tlv(
        "38",
        tlv("00", "A000000727")
        + tlv("01", tlv("00", "970436") + tlv("01", "0011001234567"))
        + tlv("02", "QRPUSH"),
    )
    + "53037045802VN"
)


def assert_reads_the_stall(body: dict) -> None:
    """The answer names the stall poster's bank and account, in full."""
    assert (body["bank_bin"], body["bank_short_name"], body["account"]) == (
        "970436",
        "Vietcombank",
        "0011001234567",
    ), body
    assert (body["payload"], body["static"], body["amount"]) == (encode(STALL), True, None), body


# --- photos -------------------------------------------------------------------------------------


async def test_phone_photo_of_a_stall_qr_gives_bank_and_account(client, auth) -> None:
    payload = encode(STALL)
    response = await client.post(DECODE, files=upload(phone_photo(payload)), headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "payload": payload,
        "bank_bin": "970436",
        "bank_short_name": "Vietcombank",
        "bank_name": "Ngân hàng TMCP Ngoại Thương Việt Nam",
        "account": "0011001234567",
        "service": "account",
        "amount": None,
        "purpose": None,
        "static": True,
        "receives_transfers": True,
    }


async def test_photo_of_an_order_qr_gives_amount_and_purpose(client, auth) -> None:
    response = await client.post(DECODE, files=upload(phone_photo(encode(ORDER))), headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bank_short_name"], body["amount"], body["purpose"], body["static"]) == (
        "VietinBank",
        150_000,
        "Don hang 42",
        False,
    )


async def test_small_distant_qr_in_a_big_photo_is_found_at_full_resolution(client, auth) -> None:
    # 130 px for a 45-module symbol: under 1 px per module once reduced to 2000 px, ~3 px at full size.
    scene = background((5000, 3750), noise=8)
    code = Image.open(io.BytesIO(qr_png(encode(STALL)))).convert("L").resize((130, 130))
    scene.paste(code, (3000, 2000))
    data = jpeg(scene, quality=90)
    assert len(photo.qr_texts(data)) == 1
    response = await client.post(DECODE, files=upload(data), headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["account"] == STALL.account


async def test_screenshot_with_a_transparent_background_is_read(client, auth) -> None:
    code = Image.open(io.BytesIO(qr_png(encode(STALL)))).convert("L")
    shot = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    shot.paste(
        Image.merge("RGBA", [code] * 3 + [code.point(lambda v: 255 - v)]), (80, 80)
    )  # black modules only
    response = await client.post(DECODE, files=upload(png(shot), "shot.png", "image/png"), headers=auth)
    assert response.status_code == 200, response.text
    assert_reads_the_stall(response.json())


@pytest.mark.parametrize("kind", ["PNG", "WEBP", "GIF", "BMP", "MPO"])
async def test_screenshots_and_other_image_formats_are_read(client, auth, kind) -> None:
    scene = background((900, 700))
    scene.paste(Image.open(io.BytesIO(qr_png(encode(STALL)))).convert("L"), (200, 100))
    out = io.BytesIO()
    if kind == "MPO":  # JPEG with a second picture, as some Android cameras save
        scene.convert("RGB").save(out, "MPO", save_all=True, append_images=[scene.convert("RGB")])
    else:
        scene.save(out, kind)
    assert Image.open(io.BytesIO(out.getvalue())).format == kind  # the format the test means
    response = await client.post(
        DECODE, files=upload(out.getvalue(), f"qr.{kind.lower()}", "application/octet-stream"), headers=auth
    )
    assert response.status_code == 200, response.text
    assert_reads_the_stall(response.json())


async def test_photo_without_a_qr_asks_to_take_it_again(client, auth) -> None:
    response = await client.post(DECODE, files=upload(jpeg(background((1200, 900)))), headers=auth)
    assert only_error(response, "image") == (
        "Không tìm thấy mã QR trong ảnh. Hãy chụp lại gần hơn, đủ sáng và không bị lóa."
    )


async def test_photo_of_a_web_link_qr_is_not_a_vietqr_transfer(client, auth) -> None:
    data = phone_photo("https://example.vn/cua-hang/ba-lan")
    message = only_error(await client.post(DECODE, files=upload(data), headers=auth), "image")
    assert message.startswith("Mã QR này không phải mã chuyển khoản VietQR.")
    assert "Chi tiết kỹ thuật: payload: expected a two-digit tag id" in message  # the codec's reason


async def test_vietqr_is_found_beside_a_vnpay_qr_in_the_same_photo(client, auth) -> None:
    scene = background((1800, 1000))
    for x, payload in ((100, VNPAY), (1000, encode(STALL))):
        scene.paste(Image.open(io.BytesIO(qr_png(payload))).convert("L").resize((500, 500)), (x, 250))
    response = await client.post(DECODE, files=upload(jpeg(scene)), headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["bank_bin"] == STALL.bank_bin


async def test_file_over_10_mb_is_refused_before_it_is_opened(client, auth, monkeypatch) -> None:
    def must_not_open(*args, **kwargs):
        raise AssertionError("an oversized file reached Pillow")

    monkeypatch.setattr(photo.Image, "open", must_not_open)
    data = png(Image.new("L", (10, 10))) + b"\0" * (photo.MAX_FILE_BYTES + 100 - 10)
    assert len(data) > photo.MAX_FILE_BYTES
    response = await client.post(DECODE, files=upload(data, "big.png", "image/png"), headers=auth)
    assert only_error(response, "image") == "Tệp quá lớn (tối đa 10 MB)."


async def test_body_far_over_the_limit_is_cut_off_unread(client, auth) -> None:
    data = b"\xff\xd8" + b"\0" * (12 * 1024 * 1024)
    response = await client.post(DECODE, files=upload(data), headers=auth)
    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "image", "message": "Tệp quá lớn (tối đa 10 MB)."}]


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height, all black: a few kB of file for 41+ megapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\0" * ((width + 7) // 8)
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def test_image_over_40_megapixels_is_refused_without_decoding_pixels(client, auth, monkeypatch) -> None:
    def must_not_load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_load)
    data = huge_png(8000, 5200)  # 41.6 MP
    assert len(data) < 100_000
    response = await client.post(DECODE, files=upload(data, "huge.png", "image/png"), headers=auth)
    assert only_error(response, "image") == "Ảnh quá lớn (tối đa 40 megapixel)."


async def test_text_file_named_jpg_is_not_an_image(client, auth) -> None:
    data = "Số tài khoản: 0011001234567\n".encode() * 20
    response = await client.post(DECODE, files=upload(data, "qr.jpg"), headers=auth)
    assert only_error(response, "image") == "Tệp không phải là ảnh."


async def test_photo_cut_short_in_upload_is_reported_as_damaged(client, auth) -> None:
    data = phone_photo(encode(STALL))
    response = await client.post(DECODE, files=upload(data[: len(data) // 2]), headers=auth)
    assert only_error(response, "image") == "Không đọc được ảnh (tệp bị hỏng hoặc tải lên chưa hết)."


async def test_iphone_heic_photo_asks_for_jpeg_or_png(client, auth) -> None:
    data = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 200
    response = await client.post(DECODE, files=upload(data, "IMG_0001.HEIC", "image/heic"), headers=auth)
    assert "JPEG" in only_error(response, "image")


# --- text payloads ------------------------------------------------------------------------------


async def test_pasted_payload_with_lower_case_crc_decodes(client, auth) -> None:
    payload = encode(ORDER)
    lower = payload[:-4] + payload[-4:].lower()
    assert lower != payload
    response = await client.post(DECODE, json={"payload": f"  {lower}\n"}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payload"] == lower
    assert (body["bank_short_name"], body["account"], body["amount"]) == (
        "VietinBank",
        ORDER.account,
        150_000,
    )


async def test_unknown_bank_bin_is_decoded_but_flagged(client, auth) -> None:
    beneficiary = tlv("00", "999999") + tlv("01", "12345678")
    payload = with_crc(
        "000201010211"
        + tlv("38", tlv("00", "A000000727") + tlv("01", beneficiary) + tlv("02", "QRIBFTTA"))
        + "53037045802VN"
    )
    response = await client.post(DECODE, json={"payload": payload}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bank_short_name"], body["bank_name"], body["receives_transfers"]) == (None, None, False)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (VNPAY, "tag 38: missing NAPAS account information"),
        (QRPUSH, "tag 38.02: missing service code: a merchant (QRPUSH) QR"),
        (QRPUSH_EXPLICIT, "QRPUSH"),
        ("https://example.vn", "payload: expected a two-digit tag id"),
    ],
    ids=["vnpay", "qrpush-implied", "qrpush", "web-link"],
)
async def test_payloads_that_are_not_transfers_are_refused_with_the_reason(
    client, auth, payload, reason
) -> None:
    response = await client.post(DECODE, json={"payload": payload}, headers=auth)
    message = only_error(response, "payload")
    assert message.startswith("Mã QR này không phải mã chuyển khoản VietQR. Chi tiết kỹ thuật: ")
    assert reason in message


async def test_payload_with_a_broken_crc_is_refused(client, auth) -> None:
    payload = encode(STALL)
    broken = payload[:-4] + ("0000" if payload[-4:] != "0000" else "1111")
    message = only_error(await client.post(DECODE, json={"payload": broken}, headers=auth), "payload")
    assert "CRC mismatch" in message


async def test_payload_can_be_sent_as_a_multipart_field(client, auth) -> None:
    response = await client.post(DECODE, data={"payload": encode(STALL)}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["bank_short_name"] == "Vietcombank"


async def test_missing_or_malformed_input_names_the_field(client, auth) -> None:
    assert only_error(await client.post(DECODE, json={}, headers=auth), "payload") == "Bắt buộc."
    assert only_error(await client.post(DECODE, json={"payload": "   "}, headers=auth), "payload")
    malformed = await client.post(
        DECODE, content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    assert only_error(malformed, "body")
    nothing = await client.post(DECODE, data={"other": "x"}, headers=auth)
    assert only_error(nothing, "image") == "Hãy chụp hoặc chọn ảnh mã QR, hoặc dán nội dung mã QR."


async def test_decoding_needs_a_bearer_token_not_a_browser_session(client) -> None:
    response = await client.post(DECODE, json={"payload": encode(STALL)})
    assert response.status_code == 401
    await browser_login(client, "demo-volunteer")  # the session cookie is ignored for API writes
    assert (await client.post(DECODE, json={"payload": encode(STALL)})).status_code == 401


async def test_errors_are_in_english_for_english_speaking_clients(client, auth) -> None:
    # ?lang=en and Accept-Language both ask for English per request.
    anonymous = await client.post(DECODE, json={"payload": VNPAY}, headers={"Accept-Language": "en"})
    assert anonymous.json()["detail"] == "Please sign in."
    english = {"lang": "en"}
    photo_of_nothing = upload(jpeg(background((800, 600))))
    response = await client.post(DECODE, files=photo_of_nothing, headers=auth, params=english)
    assert only_error(response, "image").startswith("No QR code was found in the photo.")
    response = await client.post(DECODE, json={"payload": VNPAY}, headers=auth, params=english)
    assert only_error(response, "payload") == (
        "This QR code is not a VietQR transfer code. Technical detail: "
        "tag 38: missing NAPAS account information: not a VietQR transfer"
    )


async def test_openapi_documents_both_request_shapes(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"][DECODE]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"]["required"] == ["payload"]
    assert content["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    assert {"200", "401", "413", "422"} <= set(operation["responses"])
    assert "/api/v1/banks" in schema["paths"]


# --- bank directory -----------------------------------------------------------------------------


async def test_bank_directory_is_public_and_cacheable(client) -> None:
    response = await client.get("/api/v1/banks")
    assert response.status_code == 200
    assert "public" in response.headers["cache-control"]
    banks = response.json()
    assert len(banks) > 50
    assert set(banks[0]) == {"bin", "short_name", "name", "receives_transfers"}
    assert any(not bank["receives_transfers"] for bank in banks)


async def test_bank_filter_ignores_accents_and_case(client) -> None:
    plain = (await client.get("/api/v1/banks", params={"q": "ngoai thuong"})).json()
    accented = (await client.get("/api/v1/banks", params={"q": "NGOẠI THƯƠNG"})).json()
    assert [b["bin"] for b in plain] == [b["bin"] for b in accented] == ["970436"]


async def test_bank_filter_puts_the_exact_name_first(client) -> None:
    found = (await client.get("/api/v1/banks", params={"q": "mbbank"})).json()
    assert found[0]["short_name"] == "MB Bank"
    former = (await client.get("/api/v1/banks", params={"q": "Đông Á"})).json()
    assert [b["bin"] for b in former] == ["970406"]  # DongA Bank is now Vikki Bank
    assert (await client.get("/api/v1/banks", params={"q": "zzz"})).json() == []


# --- the tablet page ----------------------------------------------------------------------------


async def open_import_page(client) -> str:
    await browser_login(client, "demo-volunteer")
    page = await client.get("/payments/import")
    assert page.status_code == 200
    return csrf_from(page.text)


async def test_import_page_reads_an_uploaded_photo_and_shows_the_bank(client) -> None:
    token = await open_import_page(client)
    response = await client.post(
        "/payments/import", data={"_csrf_token": token}, files=upload(phone_photo(encode(STALL)))
    )
    assert response.status_code == 200, response.text
    assert "Vietcombank" in response.text
    assert "0011001234567" in response.text
    assert 'id="import-result"' in response.text


async def test_import_page_shows_amount_of_a_pasted_order_qr(client) -> None:
    token = await open_import_page(client)
    response = await client.post(
        "/payments/import", data={"_csrf_token": token, "payload": encode(ORDER)}, files={}
    )
    assert response.status_code == 200, response.text
    assert "150.000\xa0₫" in response.text
    assert "Don hang 42" in response.text


async def test_import_page_keeps_the_pasted_text_on_error(client) -> None:
    token = await open_import_page(client)
    response = await client.post(
        "/payments/import", data={"_csrf_token": token, "payload": QRPUSH_EXPLICIT}, files={}
    )
    assert response.status_code == 422
    assert "Mã QR này không phải mã chuyển khoản VietQR." in response.text
    assert f">{QRPUSH_EXPLICIT}</textarea>" in response.text
    assert 'id="payload-error"' in response.text


async def test_import_page_explains_a_photo_without_qr(client) -> None:
    token = await open_import_page(client)
    response = await client.post(
        "/payments/import", data={"_csrf_token": token}, files=upload(jpeg(background((800, 600))))
    )
    assert response.status_code == 422
    assert 'id="image-error"' in response.text
    assert "Không tìm thấy mã QR trong ảnh." in response.text


async def test_import_page_refuses_a_huge_upload_with_a_clear_page(client) -> None:
    token = await open_import_page(client)
    data = b"\xff\xd8" + b"\0" * (12 * 1024 * 1024)
    response = await client.post("/payments/import", data={"_csrf_token": token}, files=upload(data))
    assert response.status_code == 413
    assert "Tệp quá lớn (tối đa 10 MB)." in response.text


async def test_import_page_refuses_a_post_without_csrf_token(client) -> None:
    await open_import_page(client)
    response = await client.post("/payments/import", files=upload(phone_photo(encode(STALL))))
    assert response.status_code == 403


async def test_import_page_requires_sign_in(client) -> None:
    response = await client.get("/payments/import", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login")
