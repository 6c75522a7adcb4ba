"""Product photos from a tablet or phone camera: checked, turned upright, stripped, resized, stored once.

The upload is opened through `service.images` (size, pixel count and format checked before any
pixel is decoded). What is kept is pixels only: the variants are encoded from a fresh image, so no
EXIF (GPS, camera, time), XMP or comment survives; a colour profile is applied (converted to sRGB)
rather than copied. Two variants, each as WebP and as JPEG (for the Zalo and Facebook previews and
old browsers): `display` (≤ 1200 px) and `thumb` (≤ 400 px).

Names are content addresses: the first 32 hex digits of the SHA-256 of the display variant's RGB
pixels. The same photo sent twice, or sent again by a messaging app that re-wrapped it with other
metadata, is stored once; the files never change, so they are served as immutable.
"""

import hashlib
import hmac
import io
import os
import tempfile
from pathlib import Path

import msgspec
from PIL import Image, ImageCms

from service import images

DISPLAY = 1200
THUMB = 400
VARIANTS = ("display", "thumb")
# WebP effort 2: as small as effort 4 within a few percent here, at a quarter of the time.
FORMATS = {"webp": ("WEBP", {"quality": 80, "method": 2}), "jpg": ("JPEG", {"quality": 82, "optimize": True})}
_SRGB = None


class Prepared(msgspec.Struct, frozen=True):
    id: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    files: dict[str, bytes]  # file name -> bytes


def file_name(image_id: str, variant: str, ext: str) -> str:
    return f"{image_id[:2]}/{image_id}-{variant}.{ext}"


def prepare(data: bytes) -> Prepared:
    """Check and convert an upload (CPU work: run it off the event loop with `service.offload`, kind
    "images"). ImageError says why not."""
    images.check(data)
    # Decoded at about the display size (JPEG at 1/2, 1/4 or 1/8 scale), so the conversions below
    # never touch the full-size pixels.
    image = images.reduced(images.reopen(data), DISPLAY)
    display = _rgb(images.upright(image))
    display.thumbnail((DISPLAY, DISPLAY), Image.Resampling.LANCZOS)
    return variants(display)


def variants(picture: Image.Image) -> Prepared:
    """The stored variants of an upright picture of at most DISPLAY pixels, with their name."""
    pixels = Image.frombytes("RGB", picture.size, picture.convert("RGB").tobytes())  # no info, no EXIF
    thumb = pixels.copy()
    thumb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    image_id = hashlib.sha256(pixels.tobytes()).hexdigest()[:32]
    files = {}
    for ext, (kind, options) in FORMATS.items():
        for variant, sized in (("display", pixels), ("thumb", thumb)):
            if sized.size == pixels.size and variant == "thumb":  # a small picture: one encoding
                files[file_name(image_id, variant, ext)] = files[file_name(image_id, "display", ext)]
                continue
            out = io.BytesIO()
            sized.save(out, format=kind, **options)
            files[file_name(image_id, variant, ext)] = out.getvalue()
    return Prepared(
        id=image_id,
        width=pixels.width,
        height=pixels.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        files=files,
    )


def _rgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB, transparency flattened onto white."""
    profile = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        white.alpha_composite(rgba)
        image = white
    image = image.convert("RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            image = ImageCms.profileToProfile(image, source, _srgb(), outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    return image


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def store(media_dir: Path, prepared: Prepared) -> None:
    """Write the variants that are not there yet (atomically: a reader never sees half a file)."""
    for name, data in prepared.files.items():
        path = media_dir / name
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --- a photo kept across a failed save ---------------------------------------------------------------
# A form that fails validation after a photo was chosen would lose it (a browser never refills a file
# input). The files are already written under their content address, so the page carries a signed
# note of them instead: sending it back attaches the same photo without choosing it again.


class Kept(msgspec.Struct, frozen=True):
    id: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def keep_token(kept: Kept, secret: str) -> str:
    body = f"{kept.id}.{kept.width}.{kept.height}.{kept.thumb_width}.{kept.thumb_height}"
    return f"{body}.{_sign(body, secret)}"


def kept_from_token(token: object, secret: str) -> Kept | None:
    """The photo a `keep_token` names, or None when the token is missing, malformed or forged."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    body, _, signature = token.rpartition(".")
    if not body or not hmac.compare_digest(signature, _sign(body, secret)):
        return None
    image_id, *sizes = body.split(".")
    if len(sizes) != 4 or not all(s.isdigit() for s in sizes) or not image_id.isalnum():
        return None
    width, height, thumb_width, thumb_height = (int(s) for s in sizes)
    return Kept(image_id, width, height, thumb_width, thumb_height)


def _sign(body: str, secret: str) -> str:
    return hmac.new(f"kept-photo:{secret}".encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
