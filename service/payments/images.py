"""QR images over HTTP: ETag, conditional GET (304), and caching as long as the URL allows.

A URL like `/merchants/{id}/qr.png` does not determine its image: the trader may change the
account tomorrow. Such responses are stored but revalidated on every use (`no-cache` + ETag): a
repeat costs a 304 and no bytes. Pages link the image with `?v=<payload version>`; when `v`
matches the payload being served, the URL does determine the image and it is cached for a year as
`immutable`; a changed account changes the page's link, never the old URL's meaning. A stale `v`
(an old page) gets the current image, revalidated like an unversioned URL.

Signed-in images are `private`; the public storefront images (`/s/{slug}/qr.png`) call the same
helper with `public=True`.
"""

from typing import Literal

from litestar import Request, Response

from service.payments import render

YEAR = 365 * 24 * 3600
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, `*` matches any current representation."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag in tags


def cache_control(*, public: bool, immutable: bool) -> str:
    who = "public" if public else "private"
    return f"{who}, max-age={YEAR}, immutable" if immutable else f"{who}, no-cache"


def qr_response(
    request: Request, payload: str, kind: Literal["png", "svg"], *, public: bool, version: str | None
) -> Response:
    """The QR image for `payload`, or 304 when the client's copy is current.

    `version` is the `v` the URL carried (None: an unversioned URL).
    """
    body, etag = render.served(payload, kind)
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control(public=public, immutable=version == render.version(payload)),
    }
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=body, media_type=MEDIA_TYPES[kind], headers=headers)
