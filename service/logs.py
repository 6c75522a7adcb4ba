"""Structured request logs: one JSON line per request, with the status the client received."""

import json
import logging
import sys
import time
from collections.abc import Callable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("service.requests")


def configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class RequestLog:
    """Wraps the whole application: outside Litestar's router and its last exception handler.

    Refusals raised before a handler runs (a form without its CSRF token, an unknown path, a
    method the route does not take) become responses only in that outer handler; a middleware
    inside it saw the exception instead of the response and logged a 500 for a 403. Out here every
    response has been made, so the status logged is the status sent.
    """

    def __init__(self, app: ASGIApp, *, address: Callable[[Scope], str]):
        self.app = app
        self.address = address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # nothing was sent: the server closes the connection, the client sees an error

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            user = scope.get("user")
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "user": getattr(user, "username", None),
                        "address": self.address(scope),
                    },
                    ensure_ascii=False,
                )
            )
