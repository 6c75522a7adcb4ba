"""Reading a trader's payment QR from a phone photo, safely, and deciding whether it is a VietQR transfer.

The photo is untrusted input, opened through `service.images` (size, header pixel count and format
checked before any pixel is decoded).
"""

from typing import Any, Literal

import zxingcpp
from litestar.datastructures import UploadFile
from PIL import Image

from service import images, offload
from service.errors import DomainError, FieldErrors
from service.i18n import N_, gettext
from service.images import FORMATS, MAX_FILE_BYTES, MAX_PIXELS, ImageError
from service.payments.vietqr import VietQR, VietQRError, decode

__all__ = [  # FORMATS and the limits are re-exported: the API documents them from here
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "NotVietQR",
    "PhotoError",
    "decode_photo",
    "decode_text",
    "qr_texts",
]

# Long side a photo is first reduced to: a 12 MP photo reads about ten times faster at this size
# and a QR filling a tenth of the frame still has ~3 pixels per module. When nothing is found
# there, the full resolution is tried (a small QR far away in a 40 MP photo needs it).
DECODE_SIDE = 2000


class PhotoError(ImageError):
    """The upload cannot be read as a photo, or no QR code was found in it."""


class NotVietQR(DomainError):
    """A readable QR code that is not a VietQR transfer (a web link, VNPAY-QR, a merchant QRPUSH...)."""

    status_code = 422

    def __init__(self, reason: VietQRError, *, field: Literal["payload", "image"]) -> None:
        super().__init__(N_("Mã QR này không phải mã chuyển khoản VietQR."), field=field)
        # The codec's reason names the tag ("tag 38.02: ... (QRPUSH)"): technical English for whoever
        # supports the volunteer, shown as is after the translated sentence.
        self.reason = str(reason)

    def summary(self) -> str:
        return gettext(self.message)

    def text(self) -> str:
        return f"{self.summary()} {gettext('Chi tiết kỹ thuật: {reason}', reason=self.reason)}"


def decode_text(text: str, *, field: Literal["payload", "image"] = "payload") -> VietQR:
    """A pasted or scanned payload as a VietQR transfer, or NotVietQR naming the codec's reason."""
    try:
        return decode(text)
    except VietQRError as exc:
        raise NotVietQR(exc, field=field) from None


def decode_photo(data: bytes) -> tuple[str, VietQR]:
    """The first VietQR transfer among the QR codes in a photo, with its payload text.

    A stall often shows two codes (VNPAY-QR beside the bank's VietQR): the first transfer wins, and
    when none is a transfer the first code's reason is reported.
    """
    texts = qr_texts(data)
    refused: NotVietQR | None = None
    for text in texts:
        try:
            return text, decode_text(text, field="image")
        except NotVietQR as exc:
            refused = refused or exc
    assert refused is not None  # qr_texts never returns an empty list
    raise refused


def qr_texts(data: bytes) -> list[str]:
    """The text of every QR code in the photo (at least one), or PhotoError saying why not."""
    width, height = images.check(data)
    texts = _read(_load(data, longest=DECODE_SIDE))
    if not texts and max(width, height) > DECODE_SIDE:
        texts = _read(_load(data, longest=None))
    if not texts:
        raise PhotoError(N_("Không tìm thấy mã QR trong ảnh. Hãy chụp lại gần hơn, đủ sáng và không bị lóa."))
    return texts


def _load(data: bytes, *, longest: int | None) -> Image.Image:
    """Grayscale pixels, upright per EXIF, reduced to `longest` pixels on the long side if given.

    For JPEG, libjpeg decodes straight to grayscale and at 1/2, 1/4 or 1/8 scale; other formats
    are reduced right after decoding: a 12 MP photo is never converted at full size when the reduced
    one is wanted.
    """
    image = _flatten(images.upright(images.reduced(images.reopen(data), longest, "L")))
    if longest:
        image.thumbnail((longest, longest), Image.Resampling.BILINEAR)
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Grayscale on white: a screenshot with a transparent background would otherwise turn black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        white.alpha_composite(rgba)
        image = white
    return image if image.mode == "L" else image.convert("L")


def _read(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found if barcode.text]


NOTHING_SENT = N_("Hãy chụp hoặc chọn ảnh mã QR, hoặc dán nội dung mã QR.")


async def read_qr(images: Any, text: Any) -> tuple[str, VietQR]:
    """The VietQR in an uploaded photo, else in the pasted text; DomainErrors say what is wrong.

    `images` is what the form holds under "image": one value or several (the page has a camera
    input and a gallery input), where a file input left empty arrives as "".
    """
    image = next(
        (v for v in (images if isinstance(images, list) else [images]) if isinstance(v, UploadFile)), None
    )
    if image is not None:
        try:
            data = await image.read(MAX_FILE_BYTES + 1)  # one byte more tells "too large" from "10 MB"
        finally:
            await image.close()  # a spooled temporary file once over 1 MB
        return await offload.run("images", decode_photo, data)  # Pillow and zxing: off the event loop
    payload = text.strip() if isinstance(text, str) else ""  # no NFC: the CRC covers the exact text
    if not payload:
        # A blank text field sent is a blank paste; nothing sent at all is a photo form without a photo.
        raise FieldErrors([("payload" if isinstance(text, str) else "image", gettext(NOTHING_SENT))])
    return payload, decode_text(payload)
