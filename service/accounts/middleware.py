"""Who is calling: a bearer token (tablets, scripts) or the signed session cookie (browser pages)."""

from datetime import UTC, datetime

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from service.accounts.services import AccountService

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AuthMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        scope["auth"] = None
        authorization = Headers.from_scope(scope).get("authorization", "")
        session = scope.get("session") or {}
        api_write = scope["path"].startswith("/api/") and scope["method"] in _UNSAFE
        if authorization[:7].lower() == "bearer ":
            async with scope["app"].state.session_maker() as db:
                scope["user"] = await AccountService(db).user_for_token(
                    token=authorization[7:].strip(), now=datetime.now(UTC)
                )
            scope["auth"] = "bearer"
        # The session cookie is not accepted for API writes: those carry no CSRF token.
        elif isinstance(session, dict) and session.get("sid") and not api_write:
            # The cookie names a session kept on the server (ended by sign-out or by disabling the
            # account); a cookie without one, or whose session ended, is no longer signed in.
            async with scope["app"].state.session_maker() as db:
                scope["user"] = await AccountService(db).user_for_token(
                    token=str(session["sid"]), now=datetime.now(UTC)
                )
            scope["auth"] = "session"
        await next_app(scope, receive, send)
