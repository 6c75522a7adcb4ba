"""QR images of a payload: PNG for screens and posters, SVG for pages that scale it.

Error correction M (no logo is overlaid), 4-module quiet zone by default. The symbol comes from
`qrcode`, which segments the payload into numeric/alphanumeric/byte runs and so often needs a
smaller version than single-mode encoders; the pixels are drawn from its module matrix directly.
"""

import functools
import hashlib
import io
from typing import Literal

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

_CACHE_SIZE = 512  # a PNG at scale 10 is 1-3 kB: the cache stays around a megabyte


def _matrix(payload: str, border: int) -> list[list[bool]]:
    if not isinstance(payload, str) or not payload:
        raise ValueError("payload must be non-empty text")
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_image(payload: str, *, scale: int = 10, border: int = 4) -> Image.Image:
    """Mode "1" image, `scale` pixels per module; not cached (callers may draw on it)."""
    if not 1 <= scale <= 100 or not 0 <= border <= 20:
        raise ValueError("scale must be 1..100 and border 0..20")
    matrix = _matrix(payload, border)
    size = len(matrix)
    # One pixel per module, unpacked from 8-bit "L" data, then blown up without interpolation.
    modules = bytes(0 if cell else 255 for row in matrix for cell in row)
    image = Image.frombytes("1", (size, size), modules, "raw", "L")
    return image.resize((size * scale, size * scale), Image.Resampling.NEAREST)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _png(payload: str, scale: int, border: int) -> bytes:
    out = io.BytesIO()
    qr_image(payload, scale=scale, border=border).save(out, format="PNG")
    return out.getvalue()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _svg(payload: str, border: int) -> str:
    matrix = _matrix(payload, border)
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size * 10}" height="{size * 10}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def qr_png(payload: str, *, scale: int = 10, border: int = 4) -> bytes:
    """1-bit PNG; identical arguments are rendered once (bounded LRU cache)."""
    return _png(payload, scale, border)


def qr_svg(payload: str, *, border: int = 4) -> str:
    """Standalone SVG, one unit per module (one path of row runs); cached like `qr_png`."""
    return _svg(payload, border)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _served(kind: str, payload: str) -> tuple[bytes, str]:
    body = _png(payload, 10, 4) if kind == "png" else _svg(payload, 4).encode()
    return body, etag_for(body)


def served(payload: str, kind: Literal["png", "svg"]) -> tuple[bytes, str]:
    """The image an HTTP response carries (default scale and quiet zone) with its ETag, both cached:
    a repeated request neither renders nor hashes again."""
    if kind not in ("png", "svg"):
        raise ValueError("kind must be png or svg")
    return _served(kind, payload)


def version(payload: str) -> str:
    """A short name for a payload, for URLs that fully determine their image (`qr.png?v=...`)."""
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def clear_cache() -> None:
    _png.cache_clear()
    _svg.cache_clear()
    _served.cache_clear()


def etag_for(data: bytes | str) -> str:
    """Strong ETag (quoted) for a rendered image; identical bytes give the same tag."""
    raw = data.encode() if isinstance(data, str) else data
    return f'"{hashlib.blake2b(raw, digest_size=16).hexdigest()}"'
