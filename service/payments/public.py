"""`/v/`: anyone checks a printed poster's code (no sign-in; unknown codes are throttled per address)."""

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.throttle import LoginThrottle
from service.errors import error_page
from service.i18n import gettext
from service.payments import codes
from service.payments.printing import PosterService
from service.proxies import client_address
from service.web import Query

VERIFY_MISSES, VERIFY_WINDOW = 30, 600  # unknown codes per client address, per 10 minutes


class VerifyPages(Controller):
    """`/v/{code}`: anyone checks a poster against what was printed, without signing in."""

    path = "/v"

    @get("/", name="payments.verify_form")
    async def form(self, request: Request, code: Query = None) -> Template | Redirect:
        if code:
            canonical = codes.normalize(code)
            if canonical:
                return Redirect(
                    request.app.route_reverse("payments.verify", code=codes.display(canonical)),
                    status_code=303,
                )
            return Template(
                "payments/verify_form.html.j2",
                context={"code": code, "error": gettext("Mã xác minh gồm 8 chữ và số, ví dụ 7K3M-Q9TX.")},
                status_code=422,
            )
        return Template("payments/verify_form.html.j2", context={"code": "", "error": None})

    @get("/{code:str}", name="payments.verify")
    async def show(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Template:
        # Codes are 40 random bits; still, whoever keeps guessing wrong is slowed down per address.
        misses = LoginThrottle(request.app.stores.get("verify"), limit=VERIFY_MISSES, window=VERIFY_WINDOW)
        address = client_address(request)
        if await misses.take(address=address):
            return error_page(429, gettext("Bạn đã nhập sai mã nhiều lần. Hãy thử lại sau ít phút."))
        view = await PosterService(db_session).verify(code=code)
        if view is None:
            return Template("payments/verify_unknown.html.j2", context={"code": code[:40]}, status_code=404)
        await misses.succeeded(address=address)
        return Template("payments/verify.html.j2", context={"v": view})
