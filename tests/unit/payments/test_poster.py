import io
import re
import shutil
import struct
import subprocess
import unicodedata

import pytest
import zxingcpp
from PIL import Image

from service.payments.poster import MIN_QR_PX, PosterData, mask_account, poster_pdf, poster_png
from service.payments.vietqr import VietQR, VietQRError, encode


def poster(**changes: str) -> PosterData:
    fields = {
        "business_name": "Cửa hàng Bà Tư – Bún bò Huế",
        "bank_short_name": "Vietcombank",
        "account_holder": "NGUYỄN THỊ TƯ",
        "account": "0123456789",
        "payload": encode(VietQR(bank_bin="970436", account="0123456789")),
        "verification_code": "ABCD1234",
        "verify_url": "https://onboard.example.vn/v/ABCD1234",
        **changes,
    }
    return PosterData(**fields)


def open_png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def qr_on(image: Image.Image) -> zxingcpp.Barcode:
    (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode


def test_png_is_a6_at_300_dpi():
    image = open_png(poster_png(poster()))
    assert image.format == "PNG"
    assert image.size == (1240, 1748)
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_poster_qr_reads_back_as_the_exact_payload():
    data = poster()
    assert qr_on(open_png(poster_png(data))).text == data.payload


def test_poster_qr_is_at_least_60_mm_wide():
    barcode = qr_on(open_png(poster_png(poster())))
    corners = barcode.position
    width = max(
        abs(corners.top_right.x - corners.top_left.x), abs(corners.bottom_right.x - corners.bottom_left.x)
    )
    # zxing reports the symbol's outer corners, quiet zone excluded; allow one pixel of rounding.
    assert MIN_QR_PX == 709
    assert width + 1 >= MIN_QR_PX


def test_long_payload_still_fits_with_a_60_mm_qr():
    qr = VietQR(
        bank_bin="970422", account="99MM24011M34875080", amount=499_999_999, purpose="x" * 25, static=False
    )
    data = poster(account="99MM24011M34875080", payload=encode(qr))
    image = open_png(poster_png(data))
    barcode = qr_on(image)
    assert barcode.text == data.payload
    assert barcode.position.top_right.x - barcode.position.top_left.x + 1 >= MIN_QR_PX


def test_nfd_and_nfc_business_names_render_pixel_identically():
    name = "Cửa hàng Bà Tư – Bún bò Huế, Phở Đặng"
    nfc = poster(business_name=unicodedata.normalize("NFC", name))
    nfd = poster(business_name=unicodedata.normalize("NFD", name))
    assert nfc.business_name != nfd.business_name
    assert open_png(poster_png(nfc)).tobytes() == open_png(poster_png(nfd)).tobytes()


def test_business_name_changes_the_poster():
    assert poster_png(poster(business_name="Phở Thìn")) != poster_png(poster(business_name="Phở Lý"))


def test_very_long_business_name_is_shrunk_and_the_qr_still_reads():
    data = poster(business_name="Cửa hàng tạp hóa và văn phòng phẩm " * 6)
    assert qr_on(open_png(poster_png(data))).text == data.payload


def test_word_wider_than_the_page_is_broken_and_the_qr_still_reads():
    data = poster(business_name="Bánhmì" * 40)
    assert qr_on(open_png(poster_png(data))).text == data.payload


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("0123456789", "•••• 6789"),
        ("0123-456-789", "•••• 6789"),
        ("9704 0311 0123 4567", "•••• 4567"),
        ("99MM24011M34875080", "•••• 5080"),
        ("1234", "••••"),
    ],
)
def test_mask_account_shows_only_the_last_four(account, masked):
    assert mask_account(account) == masked


def test_masked_account_never_contains_the_full_number():
    for account in ("0123456789", "123456", "9704031101234567"):
        assert account not in mask_account(account)
        assert account[:-4] not in mask_account(account)


def test_poster_refuses_an_invalid_payload():
    data = poster()
    with pytest.raises(VietQRError):
        poster_png(poster(payload=data.payload[:-1] + "0"))


def test_poster_refuses_an_account_that_differs_from_the_qr():
    with pytest.raises(ValueError, match="differs"):
        poster_png(poster(account="9876543210"))


def pdf_page_count(pdf: bytes) -> int:
    page_objects = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))
    (count,) = re.findall(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)|/Count\s+(\d+).*?/Type\s*/Pages\b", pdf, re.S)
    assert int(next(c for c in count if c)) == page_objects
    return page_objects


@pytest.mark.parametrize("n", [1, 3])
def test_pdf_has_one_a6_page_per_poster(n):
    pdf = poster_pdf([poster(verification_code=f"CODE{i}") for i in range(n)])
    assert pdf.startswith(b"%PDF-")
    assert pdf_page_count(pdf) == n
    media_boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert len(media_boxes) == n
    for width, height in media_boxes:  # points: 105 x 148 mm
        assert float(width) / 72 * 25.4 == pytest.approx(105, abs=0.1)
        assert float(height) / 72 * 25.4 == pytest.approx(148, abs=0.1)


def test_pdf_is_reproducible():
    pages = [poster(), poster(business_name="Phở Thìn")]
    assert poster_pdf(pages) == poster_pdf(pages)


def test_empty_pdf_is_refused():
    with pytest.raises(ValueError):
        poster_pdf([])


def pdf_page_images(pdf: bytes) -> list[Image.Image]:
    """The page images as stored: each CCITT G4 stream wrapped in a minimal TIFF for Pillow to read.

    Photometric 1 matches how Pillow's PDF writer produced the stream (it strips the header of a
    TIFF it wrote); poppler's rendering of the same file was checked to show black on white.
    """
    images = []
    for match in re.finditer(rb"/Subtype /Image(.*?)>>\s*stream\r?\n", pdf, re.S):
        header = match.group(1)
        assert b"/CCITTFaxDecode" in header and b"/K -1" in header
        width, height, length = (
            int(re.search(rb"/%s (\d+)" % key, header).group(1)) for key in (b"Width", b"Height", b"Length")
        )
        strip = pdf[match.end() : match.end() + length]
        strip += b"\0" * (len(strip) % 2)
        tags = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 1)]
        tags += [(273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, length)]
        ifd = struct.pack("<H", len(tags)) + b"".join(
            struct.pack("<HHII", t, kind, 1, v) for t, kind, v in tags
        )
        tiff = b"II*\0" + struct.pack("<I", 8 + len(strip)) + strip + ifd + b"\0\0\0\0"
        images.append(Image.open(io.BytesIO(tiff)).convert("L"))
    return images


def test_pdf_pages_are_the_posters_in_black_and_white():
    pages = [poster(), poster(business_name="Phở Thìn", verification_code="WXYZ9876")]
    images = pdf_page_images(poster_pdf(pages))
    assert len(images) == 2
    for data, image in zip(pages, images, strict=True):
        png = open_png(poster_png(data)).convert("1", dither=Image.Dither.NONE).convert("L")
        assert image.tobytes() == png.tobytes()
        (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
        assert barcode.text == data.payload


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_renders_with_poppler_and_the_qr_reads(tmp_path):
    data = poster()
    (tmp_path / "posters.pdf").write_bytes(poster_pdf([data]))
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", tmp_path / "posters.pdf", tmp_path / "page"],
        check=True,
    )
    image = Image.open(tmp_path / "page.png").convert("L")
    assert image.size == (1240, 1748)
    (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
    assert barcode.text == data.payload
