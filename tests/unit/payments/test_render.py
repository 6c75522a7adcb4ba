import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from service.payments import render
from service.payments.vietqr import VietQR, crc16, decode, encode


def _utf8_payload() -> str:
    body = (
        "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN"
        "62150811Đặt bánh mì6304"
    )
    return f"{body}{crc16(body.encode()):04X}"


PAYLOADS = {
    "stall": encode(VietQR(bank_bin="970436", account="0123456789")),
    "order": encode(
        VietQR(
            bank_bin="970422",
            account="99MM24011M34875080",
            amount=185_000,
            purpose="Don hang 42",
            static=False,
        )
    ),
    # decode accepts UTF-8 in 62.08 (payloads from other issuers), so the renderer must carry it exactly.
    "utf8": _utf8_payload(),
}


def test_utf8_payload_is_a_valid_vietqr():
    assert decode(PAYLOADS["utf8"]).purpose == "Đặt bánh mì"


def read(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def variants(image: Image.Image) -> dict[str, Image.Image]:
    gray = image.convert("L")
    w, h = gray.size
    return {
        "full": gray,
        "half_width_and_height": gray.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        "quarter_width_and_height": gray.resize((w // 4, h // 4), Image.Resampling.LANCZOS),
        "rotated_90": gray.rotate(90, expand=True),
        "rotated_15": gray.rotate(15, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC),
    }


def rasterize_svg(svg: str, *, pixels_per_unit: int) -> Image.Image:
    """Draw the returned SVG as it is: its white rect and every subpath of its one path.

    The renderer's path is made of M x y / h / v / z commands; anything else fails the test
    instead of being skipped.
    """
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    min_x, min_y, width, height = (int(v) for v in root.get("viewBox").split())
    assert (min_x, min_y) == (0, 0)
    image = Image.new("L", (width * pixels_per_unit, height * pixels_per_unit), 128)  # grey: unpainted
    draw = ImageDraw.Draw(image)
    children = list(root)
    assert [child.tag for child in children] == [f"{ns}rect", f"{ns}path"]
    rect, path = children
    assert rect.get("fill") == "#fff" and (rect.get("width"), rect.get("height")) == (str(width), str(height))
    draw.rectangle((0, 0, image.width - 1, image.height - 1), fill=255)
    assert path.get("fill") == "#000"
    data = path.get("d")
    commands = re.findall(r"([MhvHVz])([^MhvHVz]*)", data)
    assert "".join(c + args for c, args in commands) == data
    x = y = 0
    corners: list[tuple[int, int]] = []
    for command, args in commands:
        numbers = [int(n) for n in args.replace(",", " ").split()]
        if command == "M":
            x, y = numbers
            corners = [(x, y)]
        elif command in "hH":
            x = x + numbers[0] if command == "h" else numbers[0]
            corners.append((x, y))
        elif command in "vV":
            y = y + numbers[0] if command == "v" else numbers[0]
            corners.append((x, y))
        else:  # z: axis-aligned rectangles only, which is all the renderer emits
            xs = [cx for cx, _ in corners]
            ys = [cy for _, cy in corners]
            assert len(corners) == 4 and len(set(xs)) == 2 and len(set(ys)) == 2
            s = pixels_per_unit
            draw.rectangle((min(xs) * s, min(ys) * s, max(xs) * s - 1, max(ys) * s - 1), fill=0)
    return image


@pytest.mark.parametrize("name", PAYLOADS)
@pytest.mark.parametrize(
    "variant", ["full", "half_width_and_height", "quarter_width_and_height", "rotated_90", "rotated_15"]
)
def test_png_reads_back_as_the_exact_payload(name, variant):
    payload = PAYLOADS[name]
    image = Image.open(io.BytesIO(render.qr_png(payload)))
    assert read(variants(image)[variant]) == [payload]


@pytest.mark.parametrize("name", PAYLOADS)
@pytest.mark.parametrize(
    "variant", ["full", "half_width_and_height", "quarter_width_and_height", "rotated_90", "rotated_15"]
)
def test_svg_reads_back_as_the_exact_payload(name, variant):
    payload = PAYLOADS[name]
    image = rasterize_svg(render.qr_svg(payload), pixels_per_unit=10)
    assert read(variants(image)[variant]) == [payload]


def test_svg_and_png_draw_the_same_modules():
    payload = PAYLOADS["order"]
    png = Image.open(io.BytesIO(render.qr_png(payload, scale=10, border=4))).convert("L")
    assert rasterize_svg(render.qr_svg(payload), pixels_per_unit=10).tobytes() == png.tobytes()


def test_png_is_one_bit_with_scale_and_quiet_zone():
    payload = PAYLOADS["stall"]
    image = Image.open(io.BytesIO(render.qr_png(payload, scale=7, border=4)))
    assert image.format == "PNG" and image.mode == "1"
    assert image.width == image.height and image.width % 7 == 0
    gray = image.convert("L")
    quiet = 4 * 7
    assert gray.crop((0, 0, image.width, quiet)).getextrema() == (255, 255)
    assert gray.crop((0, 0, quiet, image.height)).getextrema() == (255, 255)
    assert gray.getpixel((quiet, quiet)) == 0  # the finder pattern's corner module starts right there


def test_error_correction_is_level_m():
    barcode = zxingcpp.read_barcodes(Image.open(io.BytesIO(render.qr_png(PAYLOADS["stall"]))))[0]
    assert barcode.ec_level == "M"


def test_identical_payloads_are_rendered_once():
    render.clear_cache()
    first = render.qr_png(PAYLOADS["stall"])
    assert render.qr_png(PAYLOADS["stall"]) is first
    assert render.qr_png(PAYLOADS["stall"], scale=5) is not first
    assert render.qr_svg(PAYLOADS["stall"]) is render.qr_svg(PAYLOADS["stall"])


def test_cache_is_bounded():
    assert render._png.cache_info().maxsize is not None
    assert render._svg.cache_info().maxsize is not None


@pytest.mark.parametrize("bad", [{"scale": 0}, {"scale": 101}, {"border": -1}])
def test_png_refuses_unusable_sizes(bad):
    with pytest.raises(ValueError):
        render.qr_png(PAYLOADS["stall"], **bad)


def test_empty_payload_is_refused():
    with pytest.raises(ValueError):
        render.qr_png("")


def test_etag_is_quoted_and_follows_the_bytes():
    png = render.qr_png(PAYLOADS["stall"])
    assert render.etag_for(png) == render.etag_for(bytes(png))
    assert re.fullmatch(r'"[0-9a-f]{32}"', render.etag_for(png))
    assert render.etag_for(png) != render.etag_for(render.qr_png(PAYLOADS["order"]))
    svg = render.qr_svg(PAYLOADS["stall"])
    assert render.etag_for(svg) == render.etag_for(svg.encode())
