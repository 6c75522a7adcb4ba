"""Security headers on every response.

- Content-Security-Policy: scripts, styles, images, fonts, workers and connections only from this
  site; no inline script but the few listed here by their hash (page scripts live in /static/js),
  no plugins, no framing by other sites
  (`frame-ancestors 'none'`), forms post only here. Inline `style=` attributes stay allowed: the
  report bars and progress widths are set that way, and CSS cannot run code.
- X-Content-Type-Options: nosniff; Referrer-Policy: strict-origin-when-cross-origin (the trader's
  edit link pages set no-referrer themselves and keep it).
- Strict-Transport-Security when the public address is https.
A header a handler already set is kept. The API documentation at /schema runs under the same policy
(its Swagger UI is served from /static, see `api_docs.py`).
"""

import base64
import hashlib
from functools import cache
from pathlib import Path

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from markupsafe import Markup

JS_DIR = Path(__file__).parent / "static" / "js"
# Scripts a page carries inline rather than fetch: the public storefront page is meant to load in one
# request on a trader's customer's phone. Each is allowed by the hash of its exact text, nothing else.
INLINE_SCRIPTS = ("storefront-share.js",)


@cache
def inline_script(name: str) -> Markup:
    """The text of one of `INLINE_SCRIPTS`, for a page's <script> element (the template global)."""
    if name not in INLINE_SCRIPTS:
        raise ValueError(f"{name} is not allowed inline")
    return Markup((JS_DIR / name).read_text(encoding="utf-8"))


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' " + " ".join(_hash(inline_script(name)) for name in INLINE_SCRIPTS),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, *, https: bool) -> None:
        self.headers = {
            "content-security-policy": CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "strict-origin-when-cross-origin",
            "x-frame-options": "DENY",
        }
        if https:
            self.headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_headers)
