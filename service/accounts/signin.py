"""Signing in, shared by the pages and the JSON API: every attempt is counted before the password is
checked (per username and per address), and a one-time code is redeemed the same way."""

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.schemas import (
    ActivateForm,
    ActivateIn,
)
from service.accounts.services import AccountService
from service.accounts.throttle import LoginThrottle
from service.errors import DomainError
from service.i18n import N_
from service.proxies import client_address
from service.web import utcnow


class TooManyAttempts(DomainError):
    status_code = 429


async def attempt(request: Request, username: str) -> None:
    """Count a guess of a password or a code before it is checked; refuse when too many failed."""
    throttle: LoginThrottle = request.app.state.login_throttle
    if wait := await throttle.take(username=username, address=client_address(request)):
        raise TooManyAttempts(
            N_("Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau {minutes} phút."),
            minutes=max(1, round(wait / 60)),
        )


async def succeeded(request: Request, username: str) -> None:
    throttle: LoginThrottle = request.app.state.login_throttle
    await throttle.succeeded(username=username, address=client_address(request))


async def sign_in(request: Request, db: AsyncSession, username: str, password: str):
    """The shared sign-in rule for the browser and the API: throttled, and silent about who exists."""
    await attempt(request, username)
    user = await AccountService(db).authenticate(username=username, password=password)
    if user is None:
        raise DomainError(N_("Tên đăng nhập hoặc mật khẩu không đúng."), status_code=401)
    await succeeded(request, username)
    return user


async def redeem(request: Request, db: AsyncSession, data: ActivateIn | ActivateForm):
    """The shared rule for signing in with a one-time code: throttled like passwords (the same
    counters), silent about which of the username and the code was wrong."""
    await attempt(request, data.username)
    user = await AccountService(db).redeem_code(
        username=data.username, code=data.code, new_password=data.new_password, at=utcnow()
    )
    if user is None:
        raise DomainError(N_("Tên đăng nhập hoặc mã không đúng, hoặc mã đã hết hạn."), status_code=401)
    await succeeded(request, data.username)
    return user


def session_token(request: Request) -> str | None:
    """The token of the session or bearer token this request came with."""
    if request.scope.get("auth") == "bearer":
        return request.headers.get("authorization", "")[7:].strip() or None
    session = request.scope.get("session")
    return str(session["sid"]) if isinstance(session, dict) and session.get("sid") else None
