"""Stall poster: A6 portrait at 300 dpi with the trader's VietQR, as PNG or a multi-page PDF.

Black on white only: community teams print on whatever office printer is at hand.
"""

import functools
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import msgspec
from PIL import Image, ImageDraw, ImageFont, features

from service.payments import render
from service.payments.vietqr import decode
from service.text import nfc

DPI = 300
WIDTH, HEIGHT = 1240, 1748  # A6 (105 x 148 mm) at 300 dpi
MIN_QR_PX = math.ceil(60 / 25.4 * DPI)  # the symbol itself (quiet zone excluded) is at least 60 mm wide
_MARGIN = 64
_TEXT_WIDTH = WIDTH - 2 * _MARGIN
_QUIET_MODULES = 4
_FRAME_INSET = 24
_INSIDE_FRAME = WIDTH - 2 * (_FRAME_INSET + 8)
_FONTS = Path(__file__).resolve().parent.parent / "fonts"
_MASK = "••••"


class PosterData(msgspec.Struct, frozen=True, kw_only=True):
    business_name: str
    bank_short_name: str
    account_holder: str
    account: str  # full number: only the last four characters are printed
    payload: str  # a VietQR payload, as `vietqr.encode` made it
    verification_code: str
    verify_url: str


def mask_account(account: str) -> str:
    """The last four characters behind a mask, e.g. "•••• 5678": enough for the trader, not a thief."""
    compact = re.sub(r"[\s\-.]", "", account)
    return f"{_MASK} {compact[-4:]}" if len(compact) > 4 else _MASK


@functools.lru_cache(maxsize=64)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    if not features.check("raqm"):
        # Without RAQM, Pillow's basic layout misplaces stacked Vietnamese marks (ế, ở).
        raise RuntimeError("Pillow was built without RAQM; Vietnamese text would render wrongly")
    name = "NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf"
    return ImageFont.truetype(_FONTS / name, size, layout_engine=ImageFont.Layout.RAQM)


def _wrap(text: str, font: ImageFont.FreeTypeFont) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= _TEXT_WIDTH:
            line = candidate
            continue
        if line:
            lines.append(line)
        while font.getlength(word) > _TEXT_WIDTH:  # one word wider than the page: break it
            cut = max((i for i in range(1, len(word)) if font.getlength(word[:i]) <= _TEXT_WIDTH), default=1)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    return [*lines, line] if line else lines


def _ellipsize(text: str, font: ImageFont.FreeTypeFont) -> str:
    while text and font.getlength(f"{text}…") > _TEXT_WIDTH:
        text = text[:-1]
    return f"{text.rstrip()}…"


def _fit(
    text: str, *, bold: bool, largest: int, smallest: int, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest size at which `text` wraps into `max_lines`; ellipsized at the smallest size."""
    for size in range(largest, smallest - 1, -2):
        font = _font(size, bold)
        lines = _wrap(text, font)
        if len(lines) <= max_lines:
            return font, lines
    return font, [*lines[: max_lines - 1], _ellipsize(lines[max_lines - 1], font)]


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()  # Noto's ascent leaves room for stacked marks (Ễ, Ậ)
    return ascent + descent


def _draw_lines(draw: ImageDraw.ImageDraw, y: int, font: ImageFont.FreeTypeFont, lines: list[str]) -> int:
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=font, fill=0, anchor="ma")
        y += _line_height(font)
    return y


def _poster(data: PosterData) -> Image.Image:
    qr = decode(data.payload)  # never print a QR that payer apps would refuse
    if qr.account != re.sub(r"[\s\-]", "", data.account).upper():
        raise ValueError("the poster's account number differs from the one in its QR payload")

    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(  # cut line; black, as grey would vanish from the 1-bit PDF page
        (_FRAME_INSET, _FRAME_INSET, WIDTH - 1 - _FRAME_INSET, HEIGHT - 1 - _FRAME_INSET),
        radius=36,
        outline=0,
        width=2,
    )

    y = _MARGIN
    y = _draw_lines(draw, y, *_fit(nfc(data.business_name), bold=True, largest=96, smallest=44, max_lines=2))
    y += 16
    y = _draw_lines(draw, y, *_fit(nfc(data.account_holder), bold=True, largest=52, smallest=32, max_lines=1))
    bank_line = f"{nfc(data.bank_short_name)} · {mask_account(data.account)}"
    y = _draw_lines(draw, y, *_fit(bank_line, bold=False, largest=48, smallest=30, max_lines=1))

    footer = [
        _fit("Quét mã để thanh toán", bold=True, largest=60, smallest=60, max_lines=1),
        _fit(f"Mã xác minh: {nfc(data.verification_code)}", bold=False, largest=44, smallest=30, max_lines=1),
        _fit(f"Kiểm tra: {nfc(data.verify_url)}", bold=False, largest=30, smallest=20, max_lines=1),
    ]
    footer_top = HEIGHT - _MARGIN - sum(_line_height(font) * len(lines) for font, lines in footer)

    # The QR takes what is left, quiet zone included, at a whole number of pixels per module.
    region = footer_top - y
    symbol = render.qr_image(data.payload, scale=1, border=0)
    modules = symbol.width
    scale = min(region, _INSIDE_FRAME) // (modules + 2 * _QUIET_MODULES)
    if modules * scale < MIN_QR_PX:
        raise ValueError(f"payload too long: the QR would be {modules * scale} px wide, at least {MIN_QR_PX}")
    side = modules * scale
    image.paste(
        symbol.resize((side, side), Image.Resampling.NEAREST), ((WIDTH - side) // 2, y + (region - side) // 2)
    )

    y = footer_top
    for font, lines in footer:
        y = _draw_lines(draw, y, font, lines)
    return image


def poster_png(data: PosterData) -> bytes:
    out = io.BytesIO()
    _poster(data).save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def poster_pdf(pages: Sequence[PosterData]) -> bytes:
    """One A6 page per poster, so a team can print a whole market at once."""
    if not pages:
        raise ValueError("no posters to print")
    # 1-bit pages are stored losslessly (CCITT G4, ~50 kB each); Pillow would JPEG grey ones,
    # blurring the QR edges. Thresholding anti-aliased text at 300 dpi is what a printer does anyway.
    images = [_poster(data).convert("1", dither=Image.Dither.NONE) for data in pages]
    out = io.BytesIO()
    images[0].save(
        out,
        format="PDF",
        save_all=True,
        append_images=images[1:],
        resolution=float(DPI),
        title="VietQR",
        creationDate=None,  # no clock: the same posters give the same bytes
        modDate=None,
    )
    return out.getvalue()
