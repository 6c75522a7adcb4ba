"""Opening an uploaded image safely: the one way every area reads a photo from a tablet or phone.

An upload is untrusted input. The file size is checked before Pillow sees it; the pixel count and
the memory the decoded pixels would take (width × height × bytes per pixel) from the header before
any pixel is decoded; and only the formats phone cameras and screenshots produce are opened (no
EPS, which would run Ghostscript, nor any other exotic decoder). A photo is decoded at the size the
result needs (`reduced`): JPEG at libjpeg's reduced scales, other formats reduced right after
decoding, so the full-size pixels never meet the conversions that follow. What goes wrong is an
`ImageError` (422 on the `image` field) with a message naming the limit that was exceeded.

The limits themselves are in `service.limits`.
"""

import io
import struct

from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Template
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ImageMode import getmode

from service.errors import DomainError, error_page
from service.i18n import N_, gettext
from service.limits import IMAGE_MAX_BYTES, IMAGE_MAX_DECODED_BYTES, IMAGE_MAX_PIXELS

MAX_FILE_BYTES = IMAGE_MAX_BYTES
# The request-size limit of a form with one photo: a photo just over MAX_FILE_BYTES still arrives
# whole, so its sender gets the message below rather than a bare refusal.
UPLOAD_MAX_BODY = MAX_FILE_BYTES + 1024 * 1024
MAX_PIXELS = IMAGE_MAX_PIXELS
MAX_DECODED_BYTES = IMAGE_MAX_DECODED_BYTES
# Decoded by libjpeg, which can produce 1/2, 1/4 or 1/8 of the size, or grayscale, directly.
_REDUCIBLE = {("JPEG", "RGB"), ("JPEG", "L"), ("MPO", "RGB"), ("MPO", "L")}
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")  # JPEG includes MPO (JPEG with a depth map, some Androids)
# ISO-BMFF brands of HEIC/HEIF/AVIF, which Pillow here does not (or, for AVIF, need not) read.
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
# What Pillow's decoders raise on malformed input, besides the documented OSError.
BROKEN = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError)

TOO_LARGE = N_("Tệp quá lớn (tối đa 10 MB).")
TOO_MANY_PIXELS = N_("Ảnh quá lớn (tối đa 40 megapixel).")
TOO_MUCH_TO_DECODE = N_(
    "Ảnh quá lớn để xử lý: {width}×{height} điểm ảnh, {bands} kênh màu (tối đa {limit} megapixel "
    "với ảnh loại này). Hãy gửi ảnh JPEG hoặc ảnh nhỏ hơn."
)
NOT_AN_IMAGE = N_("Tệp không phải là ảnh.")
DAMAGED = N_("Không đọc được ảnh (tệp bị hỏng hoặc tải lên chưa hết).")
HEIF = N_("Chưa đọc được định dạng ảnh này (HEIC/AVIF). Hãy gửi ảnh JPEG hoặc PNG.")


def too_large_page(request: Request, exc: RequestEntityTooLarge) -> Template:
    """The page for a photo form over UPLOAD_MAX_BODY."""
    return error_page(413, gettext(TOO_LARGE))


# The route options of a page whose form sends one photo: `@post(path, name=…, **PHOTO_FORM)`.
PHOTO_FORM: dict = {
    "request_max_body_size": UPLOAD_MAX_BODY,
    "exception_handlers": {RequestEntityTooLarge: too_large_page},
}


class ImageError(DomainError):
    """The upload cannot be used as a photo: too big, not an image, damaged, unsupported."""

    status_code = 422

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message, field="image", **params)


def decoded_bytes_per_pixel(image: Image.Image) -> int:
    """What one pixel costs once decoded and converted for use. A palette image is turned into RGB
    or RGBA by every reader here, so it counts as four bytes."""
    if image.mode in ("P", "PA"):
        return 4
    mode = getmode(image.mode)
    return len(mode.bands) * int(mode.typestr[-1])


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(TOO_MANY_PIXELS)
    if (image.format, image.mode) in _REDUCIBLE:
        return
    per_pixel = decoded_bytes_per_pixel(image)
    if width * height * per_pixel > MAX_DECODED_BYTES:
        limit = min(MAX_DECODED_BYTES // per_pixel, MAX_PIXELS) // 1_000_000
        bands = len(image.getbands())
        raise ImageError(TOO_MUCH_TO_DECODE, width=width, height=height, bands=bands, limit=limit)


def check(data: bytes) -> tuple[int, int]:
    """The image's size, read from the header; refuses what is too big or not a supported image.

    Nothing is decoded: the size comes from the header, `verify()` checks structure and checksums
    (PNG CRCs) without decoding pixels.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(TOO_LARGE)
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        raise ImageError(HEIF)
    try:
        with _open(data) as probe:
            width, height = probe.size
            _check_size(probe)
            probe.verify()
    except Image.DecompressionBombError:  # Pillow's own guard, for frames bigger than the header says
        raise ImageError(TOO_MANY_PIXELS) from None
    except BROKEN:  # UnidentifiedImageError is an OSError
        raise ImageError(NOT_AN_IMAGE) from None
    return width, height


def reopen(data: bytes) -> Image.Image:
    """The image again, lazily (header read, no pixels yet), after `check` passed: `verify()` leaves
    the probe unusable. Refuses too many pixels itself, so it is safe on its own too."""
    try:
        image = _open(data)
    except UnidentifiedImageError:
        raise ImageError(NOT_AN_IMAGE) from None
    except BROKEN:
        raise ImageError(DAMAGED) from None
    try:
        _check_size(image)
    except ImageError:
        image.close()
        raise
    return image


def reduced(image: Image.Image, longest: int | None, mode: str = "RGB") -> Image.Image:
    """The image decoded at about the size needed for `longest` pixels on the long side (None: full
    size), and no larger: JPEG through libjpeg's reduced scales (in grayscale when `mode` is "L"),
    other formats reduced by a whole factor right after decoding. The result is at least `longest`
    on its long side (the caller resizes it exactly) and is already loaded."""
    width, height = image.size
    side = max(width, height)
    target = None
    if longest and side > longest:
        target = (max(1, width * longest // side), max(1, height * longest // side))
    image.draft(mode, target)  # a no-op for formats other than JPEG
    try:
        image.load()
    except Image.DecompressionBombError:
        raise ImageError(TOO_MANY_PIXELS) from None
    except BROKEN:
        raise ImageError(DAMAGED) from None
    if target and (factor := max(image.size) // longest) >= 2:
        if image.mode in ("1", "P", "PA"):  # modes `reduce` does not take
            transparent = image.mode == "PA" or "transparency" in image.info
            image = image.convert("RGBA" if transparent else "RGB" if image.mode != "1" else "L")
        smaller = image.reduce(factor)
        image.close()
        image = smaller
    return image


def upright(image: Image.Image) -> Image.Image:
    """The pixels turned as the camera's EXIF orientation says; decoding errors become ImageError
    (e.g. "image file is truncated": an upload cut short)."""
    try:
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise ImageError(TOO_MANY_PIXELS) from None
    except BROKEN:
        raise ImageError(DAMAGED) from None


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=FORMATS)
