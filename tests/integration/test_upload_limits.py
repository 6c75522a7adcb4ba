"""Uploads that cost far more to decode than they weigh are refused before they are decoded, with
the limit that was actually exceeded: a PNG of zeros that would take 160 MB as pixels, an XLSX
whose one cell sits at row 1,048,576, an XLSX padded with whitespace that expands a thousandfold."""

import html
import io
import random
import re
import struct
import time
import zipfile
import zlib

import openpyxl
from PIL import ImageFile

from tests.helpers import api_token, browser_login, csrf_from
from tests.integration.test_merchant_import import LEADER, upload
from tests.integration.test_storefronts import add_product, new_merchant, volunteer  # noqa: F401

DECODE = "/api/v1/payment-qr/decode"


def png_bomb(width: int = 6300, height: int = 6300) -> bytes:
    """An RGBA PNG of zeros: ~154 KB of file for 6300×6300 pixels (160 MB once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 4 * width)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def no_decoding(monkeypatch) -> None:
    def must_not_load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_load)


def xlsx(rows: list[list[object]], *, far_cell: int | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    if far_cell:
        workbook.active.cell(row=far_cell, column=1, value="x")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(data: bytes, part: str, change) -> bytes:
    """The workbook with one part changed (`change(None)` for a part it does not have)."""
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(data))
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == part else content)
        if part not in source.namelist():
            target.writestr(part, change(None))
    return out.getvalue()


HEADER = ["Tên cơ sở", "Chủ hộ", "SĐT", "Loại hình", "Ngành hàng", "Đồng ý"]
ROW = ["Bánh canh Cô Hoa", "Nguyễn Thị Hoa", "0912111001", "Sạp chợ", "Ăn uống", "liên hệ"]


def import_error(response) -> str:
    assert response.status_code == 422, response.text
    assert re.search(r'id="file"[^>]*aria-invalid="true"', response.text)  # the file field is marked
    match = re.search(r'id="file-error">([^<]*)<', response.text)  # the message under the file field
    assert match, response.text
    return html.unescape(match.group(1))


# --- photos ------------------------------------------------------------------------------------------


async def test_png_bomb_is_refused_before_decoding_naming_the_pixel_limit(client, monkeypatch) -> None:
    auth = await api_token(client, "demo-volunteer")
    data = png_bomb()
    assert len(data) < 200_000
    no_decoding(monkeypatch)
    response = await client.post(DECODE, files={"image": ("zeros.png", data, "image/png")}, headers=auth)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "field": "image",
            "message": "Ảnh quá lớn để xử lý: 6300×6300 điểm ảnh, 4 kênh màu (tối đa 16 megapixel với ảnh "
            "loại này). Hãy gửi ảnh JPEG hoặc ảnh nhỏ hơn.",
        }
    ]
    english = await client.post(
        DECODE + "?lang=en", files={"image": ("zeros.png", data, "image/png")}, headers=auth
    )
    assert english.json()["errors"][0]["message"].startswith(
        "The image is too large to process: 6300×6300 pixels, 4 colour channels (at most 16 megapixels"
    )


async def test_png_bomb_as_a_product_photo_keeps_the_form_and_names_the_limit(volunteer, monkeypatch) -> None:  # noqa: F811
    merchant_id = await new_merchant(volunteer)
    no_decoding(monkeypatch)
    response = await add_product(
        volunteer, merchant_id, "Bún bò", files={"image": ("zeros.png", png_bomb(), "image/png")}
    )
    assert response.status_code == 422
    assert "6300×6300 điểm ảnh, 4 kênh màu (tối đa 16 megapixel" in html.unescape(response.text)
    assert 'value="Bún bò"' in response.text


async def test_a_large_screenshot_within_the_limit_is_still_read(volunteer) -> None:  # noqa: F811
    """A 3000×4000 RGBA PNG (48 MB as pixels) is under the limit: reduced right after decoding."""
    from PIL import Image

    picture = Image.new("RGBA", (3000, 4000), (200, 40, 40, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    merchant_id = await new_merchant(volunteer)
    response = await add_product(
        volunteer, merchant_id, "Bún bò", files={"image": ("shot.png", out.getvalue(), "image/png")}
    )
    assert response.status_code == 303, response.text


# --- spreadsheets ------------------------------------------------------------------------------------


async def test_xlsx_with_one_cell_at_the_last_row_is_refused_at_once(client) -> None:
    await browser_login(client, LEADER)
    data = xlsx([HEADER, ROW], far_cell=1_048_576)
    assert len(data) < 10_000
    started = time.perf_counter()
    response = await upload(client, data, "danh-sach.xlsx")
    elapsed = time.perf_counter() - started
    assert import_error(response) == (
        "Trang tính kéo dài tới dòng 1048576 (tối đa dòng 201000). Hãy xóa các dòng thừa ở cuối trang "
        "tính hoặc chia thành nhiều tệp."
    )
    assert elapsed < 5, elapsed  # it used to walk a million empty rows (17 s)


async def test_xlsx_that_hides_its_last_row_is_refused_when_reading_reaches_the_limit(client) -> None:
    await browser_login(client, LEADER)
    data = rewritten(
        xlsx([HEADER, ROW], far_cell=1_048_576),
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb"<dimension[^>]*/>", b'<dimension ref="A1:F2"/>', xml),
    )
    response = await upload(client, data, "danh-sach.xlsx")
    assert "Trang tính kéo dài tới dòng 201001 (tối đa dòng 201000)." in import_error(response)


async def test_xlsx_padded_with_whitespace_is_refused_before_parsing(client) -> None:
    await browser_login(client, LEADER)
    padding = b" " * (60 * 1024 * 1024)
    data = rewritten(
        xlsx([HEADER, ROW]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + padding),
    )
    assert len(data) < 200_000
    message = import_error(await upload(client, data, "danh-sach.xlsx"))
    assert message.startswith("Tệp Excel nén bất thường: phần “xl/worksheets/sheet1.xml” nở ra ")
    assert "(tối đa 200 lần)" in message
    page = await client.get("/merchants/import")
    response = await client.post(
        "/merchants/import?lang=en",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": ("danh-sach.xlsx", data, "application/octet-stream")},
    )
    assert import_error(response).startswith("The Excel file is packed abnormally: its part")


async def test_xlsx_with_a_huge_shared_strings_part_names_the_part_and_its_limit(client) -> None:
    await browser_login(client, LEADER)
    # Words that compress about six times (a file under 20 MB), past the 64 MB of shared strings.
    rng = random.Random(5)
    words = [bytes(rng.choices(b"abcdeghiklmnopqrstuvxy", k=6)) for _ in range(256)]
    block = b" ".join(rng.choices(words, k=150_000))[: 1024 * 1024]
    filler = block * 65
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>%s</t></si></sst>'
    )
    data = rewritten(xlsx([HEADER, ROW]), "xl/sharedStrings.xml", lambda _: strings % filler)
    message = import_error(await upload(client, data, "danh-sach.xlsx"))
    assert message.startswith(
        "Tệp Excel giải nén ra quá lớn: phần “xl/sharedStrings.xml” chiếm 65 MB (tối đa 64 MB)."
    )
