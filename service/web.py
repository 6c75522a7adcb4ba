"""Web plumbing: templates and their filters, locale choice, form parsing, flash messages."""

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

import msgspec
from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, Headers, MutableScopeHeaders
from litestar.enums import MediaType, ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.params import QueryParameter, URLEncodedBody
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.accounts.schemas import ROLE_NAMES
from service.errors import explain_msgspec
from service.headers import inline_script
from service.i18n import LOCALES, N_, current_locale, gettext, ngettext, pick_locale
from service.idempotency import Replay
from service.money import format_grouped
from service.settings import Settings
from service.text import nfc

# An optional text query parameter of a page or a link, at most 200 characters.
Query = Annotated[str | None, QueryParameter(max_length=200)]

T = TypeVar("T", bound=msgspec.Struct)

LANG_COOKIE = "lang"


# --- templates ----------------------------------------------------------------------------------


# One date format on every page. The patterns are messages, so each catalog writes its own
# (Vietnamese: 8/12/2026 01:12; the English catalog: 8 Dec 2026, 01:12). Times are Vietnam's.
DATETIME_PATTERN = N_("d/M/yyyy HH:mm")
DATE_PATTERN = N_("d/M/yyyy")


def format_when(value: date | datetime | str | None) -> str:
    """A day or a moment as every page writes it, in the reader's language (an ISO day kept as
    text, as a claim's evidence keeps it, too)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    locale = "vi_VN" if current_locale.get() == "vi" else "en_GB"
    if isinstance(value, datetime):
        return format_datetime(value, gettext(DATETIME_PATTERN), locale=locale, tzinfo="Asia/Ho_Chi_Minh")
    return format_date(value, gettext(DATE_PATTERN), locale=locale)


def template_config(settings: Settings) -> TemplateConfig:
    env = Environment(
        loader=FileSystemLoader(settings.templates_dir),
        autoescape=select_autoescape(["html", "j2", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=settings.debug,
    )
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        get_flashes=get_flashes,
        role_names=ROLE_NAMES,
        _=gettext,
        current_locale=current_locale.get,
        LOCALES=LOCALES,
        public_url=settings.public_url,
        inline_script=inline_script,
    )
    env.filters.update(date=format_when, grouped=format_grouped)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(env))


def flash(request: ASGIConnection[Any, Any, Any, Any], message: str, category: str = "info") -> None:
    """Queue a translated message for the next page (kept in the session cookie)."""
    if not isinstance(request.scope.get("session"), dict):
        request.set_session({})
    request.session.setdefault("_messages", []).append({"message": message, "category": category})


def is_background(scope: Scope) -> bool:
    """A GET that a page's script sends (a tablet warming its offline copies, the badge asking who
    is signed in), not the page the person is looking at: browsers mark those `Sec-Fetch-Mode`
    other than `navigate`. Such a request reads the session but never changes it: written back,
    the older copy it was sent with would overwrite what a form just put there (a message, a link
    shown once), and it would take the next page's message away."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    mode = Headers.from_scope(scope).get("sec-fetch-mode")
    return mode is not None and mode != "navigate"


class SessionBackend(ClientSideSessionBackend):
    """The signed session cookie, not written back by background requests (`is_background`)."""

    async def store_in_message(self, scope_session: Any, message: Message, connection: Any) -> None:
        if not is_background(connection.scope):
            await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionConfig(CookieBackendConfig):
    _backend_class = SessionBackend


@pass_context
def get_flashes(context: Mapping[str, Any]) -> list[dict[str, str]]:
    request = context["request"]
    session = request.scope.get("session")
    if not isinstance(session, dict) or is_background(request.scope):
        return []
    return session.pop("_messages", [])


# --- forms --------------------------------------------------------------------------------------


def clean_form(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Form values trimmed and NFC-normalized, as every input must be; the CSRF token is dropped."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "_csrf_token":
            continue
        out[key] = nfc(value) if isinstance(value, str) else value
    return out


def parse_form(raw: Mapping[str, Any], struct: type[T]) -> tuple[T | None, dict[str, str]]:
    """Convert a form to a Struct, collecting an error per field (msgspec alone stops at the first)."""
    values = clean_form(raw)
    errors: dict[str, str] = {}
    converted: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        name = field.encode_name
        value = values.get(name)
        if value in (None, "") and not field.required:
            continue
        if value in (None, ""):
            errors[name] = gettext("Bắt buộc.")
            continue
        try:
            converted[name] = msgspec.convert(value, field.type, strict=False)
        except msgspec.ValidationError as exc:
            errors[name] = explain_msgspec(str(exc))
    if errors:
        return None, errors
    try:
        return msgspec.convert(converted, struct, strict=False), {}
    except msgspec.ValidationError as exc:
        return None, {"form": explain_msgspec(str(exc))}


# --- locale -------------------------------------------------------------------------------------


class LocaleMiddleware(ASGIMiddleware):
    """Locale from ?lang= (remembered in a cookie); for the JSON API the Accept-Language header;
    then the cookie and the user's setting; Vietnamese otherwise."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, *, secure: bool) -> None:
        self.secure = secure

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        query_lang = _query_param(scope, "lang")
        chosen = pick_locale(query_lang) if query_lang in LOCALES else None
        cookies = _cookies(headers.get("cookie", ""))
        user = scope.get("user")
        # A JSON client asks per request (Accept-Language), ahead of the account's setting; pages
        # follow ?lang, the cookie it leaves, then the account's setting.
        accept = headers.get("accept-language") if scope["path"].startswith("/api/") else None
        locale = chosen or pick_locale(accept, cookies.get(LANG_COOKIE), getattr(user, "locale", None))
        token = current_locale.set(locale)

        async def send_with_cookie(message: Message) -> None:
            if chosen and message["type"] == "http.response.start":
                cookie = Cookie(
                    key=LANG_COOKIE, value=chosen, max_age=365 * 86400, samesite="lax", secure=self.secure
                )
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        try:
            await next_app(scope, receive, send_with_cookie)
        finally:
            current_locale.reset(token)


def _query_param(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def _cookies(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            out[key] = value
    return out


def safe_next(target: Any) -> str | None:
    """A `next` address to go back to after a form, if it stays on this site (a path, not `//host`)."""
    return (
        target if isinstance(target, str) and target.startswith("/") and not target.startswith("//") else None
    )


Form = URLEncodedBody[dict[str, Any]]  # a page's form, as the browser posts it


_request_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("request_clock", default=None)


def utcnow() -> datetime:
    """The moment a request is handled (the write paths take it as `at`): the app's own clock when
    its settings give one (tests pin "today" that way), the system's otherwise."""
    clock = _request_clock.get()
    return clock() if clock is not None else datetime.now(UTC)


class ClockMiddleware(ASGIMiddleware):
    """Hands `Settings.clock` to `utcnow` for the requests of one app."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = _request_clock.set(self.clock)
        try:
            await next_app(scope, receive, send)
        finally:
            _request_clock.reset(token)


def replay_response(result: Replay, *, replayed: bool) -> Response:
    """A stored JSON answer to a write a tablet may retry: the first answer again, byte for byte,
    with `Idempotent-Replayed: true` when it is a replay."""
    return Response(
        content=result.body,
        status_code=result.status_code,
        media_type=MediaType.JSON,
        headers={"Idempotent-Replayed": "true"} if replayed else {},
    )
