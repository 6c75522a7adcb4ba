"""Tablet pages for payment accounts, reading a VietQR from a photo or its text, posters and the
merchant's QR images."""

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import (
    FromPath,
    MultipartBody,
    Parameter,
    URLEncodedBody,
)
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service import images, offload
from service.accounts.guards import requires_user
from service.errors import DomainError, FieldErrors, NotFound
from service.i18n import N_, gettext
from service.merchants.services import MerchantService
from service.money import format_vnd
from service.payments import banks, codes, validation
from service.payments.banks import find_banks
from service.payments.images import qr_response
from service.payments.models import PaymentAccount
from service.payments.photo import NotVietQR, read_qr
from service.payments.poster import PosterData, poster_pdf, poster_png
from service.payments.printing import MAX_PER_PDF, PosterService
from service.payments.schemas import (
    BankOut,
    DecodedQR,
)
from service.payments.services import AccountsChanged, PaymentService
from service.web import Query, clean_form, flash, utcnow

NOTHING_TO_PRINT = N_("Chưa có tiểu thương nào ở chợ này có tài khoản nhận tiền.")


def _detail_url(request: Request, merchant_id: uuid.UUID) -> str:
    return request.app.route_reverse("merchants.detail", merchant_id=merchant_id)


def _bank_options(query: str, selected: str | None) -> list[BankOut]:
    """Banks that can receive transfers, matching the filter typed; the chosen one always stays."""
    found = [b for b in find_banks(query) if b.receives_transfers]
    if not query.strip():
        found.sort(key=lambda b: b.short_name.casefold())
    chosen = banks.by_bin(selected) if selected else None
    if chosen is not None and chosen not in found:
        found.insert(0, chosen)
    return [BankOut.of(b) for b in found]


async def _image(
    request: Request,
    db: AsyncSession,
    merchant_id: uuid.UUID,
    kind: Literal["png", "svg"],
    amount: str | None,
    purpose: str | None,
    v: str | None,
) -> Response:
    qr = await PaymentService(db).payment_qr(
        by=request.user, merchant_id=merchant_id, amount=amount, purpose=purpose
    )
    return qr_response(request, qr.payload, kind, public=False, version=v)


class PaymentAccountPages(Controller):
    path = "/merchants/{merchant_id:uuid}"
    guards = [requires_user]

    # --- adding an account ---------------------------------------------------------------------

    async def _form(
        self,
        request: Request,
        db: AsyncSession,
        merchant_id: uuid.UUID,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        **extra: Any,
    ) -> Template:
        m = await MerchantService(db).get(by=request.user, merchant_id=merchant_id)
        return Template(
            "payments/account_new.html.j2",
            context={
                "merchant": {"id": m.id, "business_name": m.business_name},
                "values": values,
                "errors": errors,
                "banks": _bank_options(values.get("bank_q") or "", values.get("bank_bin")),
                **extra,
            },
            status_code=status,
        )

    def _fresh(self, owner_name: str, **prefill: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "service": "account",
            "holder_name": validation.holder_name(owner_name),
            **prefill,
        }

    @get("/payment-accounts/new", name="payments.accounts.new")
    async def new(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        bank_q: Query = None,
    ) -> Template:
        payments = PaymentService(db_session)
        m = await payments.editable_merchant(by=request.user, merchant_id=merchant_id)
        return await self._form(
            request, db_session, merchant_id, values=self._fresh(m.owner_name, bank_q=bank_q or ""), errors={}
        )

    @post("/payment-accounts/new", name="payments.accounts.create")
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        values = clean_form(data)
        if values.get("_filter") is not None:  # "find the bank" without JavaScript: nothing saved
            return await self._form(request, db_session, merchant_id, values=values, errors={})
        payments = PaymentService(db_session)
        try:
            client_id = uuid.UUID(values.get("id") or "")
        except ValueError:
            client_id = None
        if client_id is not None:
            existing = await db_session.get(PaymentAccount, client_id)
            if existing is not None and existing.merchant_id == merchant_id:
                # The same form sent twice (a double tap, a retry): show what the first one saved.
                await payments.merchants.get(by=request.user, merchant_id=merchant_id)
                return Redirect(_detail_url(request, merchant_id), status_code=303)
        try:
            await payments.add(
                by=request.user,
                merchant_id=merchant_id,
                values=values,
                at=utcnow(),
                account_id=client_id,
            )
        except FieldErrors as exc:
            return await self._form(
                request, db_session, merchant_id, values=values, errors=dict(exc.errors), status=422
            )
        except AccountsChanged as exc:
            return await self._form(
                request, db_session, merchant_id, values=values, errors={"form": exc.text()}, status=409
            )
        flash(request, gettext("Đã lưu tài khoản nhận tiền."), "success")
        return Redirect(_detail_url(request, merchant_id), status_code=303)

    # --- from the trader's own QR ----------------------------------------------------------------

    def _import_page(
        self, merchant: Any, *, text: Any = "", error: dict[str, Any] | None = None, status: int = 200
    ) -> Template:
        return Template(
            "payments/account_import.html.j2",
            context={
                "merchant": {"id": merchant.id, "business_name": merchant.business_name},
                "values": {"payload": text if isinstance(text, str) else ""},
                "error": error,
            },
            status_code=status,
        )

    @get("/payment-accounts/import", name="payments.accounts.import")
    async def import_form(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        m = await PaymentService(db_session).editable_merchant(by=request.user, merchant_id=merchant_id)
        return self._import_page(m)

    @post(
        "/payment-accounts/import",
        name="payments.accounts.import_submit",
        **images.PHOTO_FORM,
    )
    async def import_submit(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: MultipartBody[dict[str, Any]],
    ) -> Template:
        """Read the trader's QR and show the account form filled in from it; the volunteer checks it
        with the trader and saves (nothing is saved here)."""
        m = await PaymentService(db_session).editable_merchant(by=request.user, merchant_id=merchant_id)
        text = data.get("payload")
        try:
            payload, qr = await read_qr(data.get("image"), text)
        except DomainError as exc:
            return self._import_page(m, text=text, error=_error_view(exc), status=exc.status_code)
        found = DecodedQR.of(payload, qr)
        values = self._fresh(m.owner_name, bank_bin=qr.bank_bin, account=qr.account, service=qr.service)
        _, problems = validation.clean(values)
        errors = {field: message for field, message in problems if field in ("bank_bin", "account")}
        return await self._form(
            request, db_session, merchant_id, values=values, errors=errors, imported=found
        )

    # --- primary and removal -----------------------------------------------------------------------

    @post("/payment-accounts/{account_id:uuid}/primary", name="payments.accounts.primary")
    async def make_primary(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await PaymentService(db_session).make_primary(
            by=request.user, merchant_id=merchant_id, account_id=account_id, at=utcnow()
        )
        flash(request, gettext("Đã đổi tài khoản chính."), "success")
        return Redirect(_detail_url(request, merchant_id), status_code=303)

    @post("/payment-accounts/{account_id:uuid}/remove", name="payments.accounts.remove")
    async def remove(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await PaymentService(db_session).remove(
            by=request.user, merchant_id=merchant_id, account_id=account_id, at=utcnow()
        )
        flash(request, gettext("Đã gỡ tài khoản. Biển QR in từ tài khoản này không còn hiệu lực."), "success")
        return Redirect(_detail_url(request, merchant_id), status_code=303)

    # --- the QR and the poster -----------------------------------------------------------------

    @get("/qr.png", name="payments.qr_png")
    async def qr_png(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        amount: Query = None,
        purpose: Query = None,
        v: Query = None,
    ) -> Response:
        """The primary account's VietQR; `?v=` as the merchant page links it makes it cacheable."""
        return await _image(request, db_session, merchant_id, "png", amount, purpose, v)

    @get("/qr.svg", name="payments.qr_svg")
    async def qr_svg(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        amount: Query = None,
        purpose: Query = None,
        v: Query = None,
    ) -> Response:
        return await _image(request, db_session, merchant_id, "svg", amount, purpose, v)

    @post("/posters", name="payments.posters.print")
    async def print_poster(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Redirect:
        poster = await PosterService(db_session).print_poster(
            by=request.user, merchant_id=merchant_id, at=utcnow()
        )
        return Redirect(
            request.app.route_reverse("payments.posters.show", code=codes.display(poster.code)),
            status_code=303,
        )


def _market_pdf_url(request: Request, market: str, part: int) -> str:
    query = {"market": market, **({"part": str(part)} if part else {})}
    return f"{request.app.route_reverse('payments.posters.market_pdf')}?{urlencode(query)}"


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        content=data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-cache",
        },
    )


class PosterPages(Controller):
    path = "/payments/posters"
    guards = [requires_user]

    @get("/", name="payments.posters.market")
    async def market(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        market: Query = None,
    ) -> Template:
        """Pick a market; see who gets a poster and who is skipped (no primary account)."""
        payments = PosterService(db_session)
        sheet = await payments.market_sheet(by=request.user, market=market) if market else None
        parts = (len(sheet.printable) + MAX_PER_PDF - 1) // MAX_PER_PDF if sheet else 0
        return Template(
            "payments/market.html.j2",
            context={
                "markets": await payments.markets(by=request.user),
                "sheet": sheet,
                "parts": parts,
                "per_part": MAX_PER_PDF,
            },
        )

    @post("/", name="payments.posters.market_print")
    async def market_print(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        values = clean_form(data)
        market = values.get("market") or ""
        try:
            part = max(0, int(values.get("part") or 0))
        except ValueError:
            part = 0
        posters = await PosterService(db_session).print_market(
            by=request.user, market=market, at=utcnow(), part=part
        )
        if not posters:
            raise DomainError(NOTHING_TO_PRINT, status_code=409)
        return Redirect(_market_pdf_url(request, market, part), status_code=303)

    @get("/{code:str}", name="payments.posters.show")
    async def show(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Template:
        view = await PosterService(db_session).poster_view(
            by=request.user, code=code, public_url=request.app.state.settings.public_url
        )
        return Template("payments/poster.html.j2", context={"poster": view})

    async def _data(self, request: Request, db: AsyncSession, code: str) -> PosterData:
        payments = PosterService(db)
        poster, merchant, account = await payments.poster(by=request.user, code=code)
        return payments.poster_data(
            poster, merchant, account, public_url=request.app.state.settings.public_url
        )

    @get("/{code:str}/poster.png", name="payments.posters.png")
    async def png(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Response:
        data = await self._data(request, db_session, code)
        image = await offload.run("documents", poster_png, data)
        return Response(content=image, media_type="image/png", headers={"Cache-Control": "private, no-cache"})

    @get("/{code:str}/poster.pdf", name="payments.posters.pdf")
    async def pdf(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Response:
        data = await self._data(request, db_session, code)
        document = await offload.run("documents", poster_pdf, [data])
        return _pdf(document, f"bien-qr-{codes.normalize(code)}.pdf")


@get("/payments/posters.pdf", name="payments.posters.market_pdf", guards=[requires_user])
async def market_pdf(
    request: Request,
    db_session: NamedDependency[AsyncSession],
    market: Annotated[str, Parameter(min_length=1, max_length=200)],
    part: Annotated[int, Parameter(ge=0, le=10_000)] = 0,
) -> Response:
    """The printed posters of a market, one A6 page each, in stall order (printing happens on the
    market page's POST; this only renders)."""
    pages = await PosterService(db_session).market_posters(
        by=request.user, market=market, public_url=request.app.state.settings.public_url, part=part
    )
    if not pages:
        raise NotFound(N_("Chưa có biển nào được in cho chợ này. Hãy chọn chợ và bấm In biển."))
    document = await offload.run("documents", poster_pdf, pages)
    return _pdf(document, "bien-qr-cho.pdf")


class PaymentImportPages(Controller):
    path = "/payments"
    guards = [requires_user]

    @get("/import", name="payments.import")
    async def import_form(self) -> Template:
        return _import_page()

    @post(
        "/import",
        name="payments.import_submit",
        **images.PHOTO_FORM,
    )
    async def import_submit(self, data: MultipartBody[dict[str, Any]]) -> Template:
        # Reading changes nothing, so the result is shown directly (no redirect): a photo cannot
        # survive a Post/Redirect/Get, and reloading only reads it again.
        text = data.get("payload")
        try:
            payload, qr = await read_qr(data.get("image"), text)
        except DomainError as exc:
            return _import_page(text=text, error=_error_view(exc), status_code=exc.status_code)
        return _import_page(text=text, result=DecodedQR.of(payload, qr))


def _error_view(error: DomainError) -> dict[str, str | None]:
    """Which field the error belongs to, its sentence, and the codec's reason if there is one."""
    if isinstance(error, FieldErrors):
        field, message = error.errors[0]
        return {"field": field, "message": message, "reason": None}
    if isinstance(error, NotVietQR):
        return {"field": error.field, "message": error.summary(), "reason": error.reason}
    return {"field": error.field or "image", "message": error.text(), "reason": None}


def _import_page(
    *,
    text: Any = "",
    result: DecodedQR | None = None,
    error: dict[str, str | None] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "payments/import.html.j2",
        context={
            "values": {"payload": text if isinstance(text, str) else ""},
            "result": result,
            "error": error,
            "vnd": format_vnd,
        },
        status_code=status_code,
    )
