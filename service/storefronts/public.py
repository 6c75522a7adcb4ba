"""Public storefront pages (`/s/…`, no sign-in) and the trader's edit-link pages (`/t/{token}`).

The `/s/` pages are answered without database work when the page cache holds them (see cache.py)
and carry no cookie: they are excluded from the CSRF middleware (which would otherwise hand every
shopper a token cookie, and a shared cache could pass it on). The trader's pages keep CSRF: their
forms carry the token of the cookie the form page set, with no session or login.
"""

import re
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import images, offload
from service.errors import FieldErrors, NotFound
from service.i18n import N_, current_locale, gettext
from service.payments import checkins, codes, render
from service.payments.checkins import CheckinService
from service.payments.images import YEAR, not_modified, qr_response
from service.payments.models import Poster
from service.payments.poster import PosterData, poster_pdf
from service.payments.validation import parse_amount, parse_purpose
from service.settings import Settings
from service.storefronts import photos, view
from service.storefronts.cache import Entry, PageCache
from service.storefronts.directory import DirectoryService
from service.storefronts.links import EditLinkService, LinkUnusable, NotAllowed
from service.storefronts.models import StoredImage
from service.storefronts.reach import Reach, ReachTotals
from service.storefronts.reach import totals as reach_totals
from service.storefronts.services import StorefrontService
from service.storefronts.validation import DAY_NAMES, DAYS
from service.storefronts.view import PublicStorefront, image_view
from service.vietnam import local_date
from service.web import Query, clean_form, flash, utcnow

PUBLIC = {"exclude_from_csrf": True}
REVALIDATE = "public, no-cache"  # a price changed by the trader must show at once: ETag + 304
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,88}[a-z0-9])?")
PRIVATE_PAGE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the address: never pass it on
    "X-Robots-Tag": "noindex",
}


def reach(request: Request) -> Reach:
    return request.app.state.storefront_reach


def _not_found() -> Template:
    return Template("storefronts/not_found.html.j2", status_code=404)


async def entry_for(request: Request, slug: str) -> Entry | Redirect | None:
    """The cached data of a published storefront, fetched on a miss; a Redirect for an old
    address; None when nothing is published there."""
    pages: PageCache = request.app.state.storefront_pages
    entry = pages.entry(slug)
    if entry is not None:
        return entry
    if not _SLUG.fullmatch(slug):
        return None
    data = await view.fetch(pages.engine, slug)
    if data is None:
        current = await view.current_slug(pages.engine, slug)
        if current and current != slug:
            suffix = request.url.path.removeprefix(f"/s/{slug}")
            query = f"?{request.url.query}" if request.url.query else ""
            return Redirect(f"/s/{current}{suffix}{query}", status_code=301)
        return None
    return pages.keep(slug, data, merchant_id=data.merchant_id, storefront_id=data.storefront_id)


class Moved(Exception):
    """An old address of a storefront: the request is answered with this redirect."""

    def __init__(self, redirect: Redirect) -> None:
        self.redirect = redirect


async def storefront_data(request: Request, slug: str) -> PublicStorefront:
    entry = await entry_for(request, slug)
    if isinstance(entry, Redirect):
        raise Moved(entry)
    if entry is None:
        raise NotFound()
    return entry.data


def _moved(request: Request, exc: Moved) -> Redirect:
    return exc.redirect


def _payload_of(
    s: PublicStorefront, amount: str | None, purpose: str | None
) -> tuple[str, int | None, str | None]:
    """The payload a storefront image shows: the stall QR, or one payment when asked (422 if the
    amount or memo cannot be put in a VietQR)."""
    if s.account is None:
        raise NotFound(N_("Gian hàng này chưa có mã QR nhận tiền."))
    errors: list[tuple[str, str]] = []
    parsed: dict[str, Any] = {}
    for field, parse, raw in (("amount", parse_amount, amount), ("purpose", parse_purpose, purpose)):
        try:
            parsed[field] = parse(raw)
        except FieldErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise FieldErrors(errors)
    account = s.account
    text = view.payload(
        account.bank_bin, account.account, account.service, parsed["amount"], parsed["purpose"]
    )
    return text, parsed["amount"], parsed["purpose"]


class PublicStorefronts(Controller):
    path = "/s"
    opt = PUBLIC
    exception_handlers = {Moved: _moved}

    @get("/", name="storefronts.directory")
    async def directory(
        self,
        db_session: NamedDependency[AsyncSession],
        q: Query = None,
        province: Annotated[str | None, QueryParameter(max_length=2)] = None,
        commune: Annotated[str | None, QueryParameter(max_length=5)] = None,
        market: Query = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """Published storefronts: search by name or product, filter by place."""
        province = province if province and province.isdigit() else None
        commune = commune if commune and commune.isdigit() else None
        result = await DirectoryService(db_session).search(
            q=(q or "").strip(), province=province, commune=commune, market=market or None, page=page
        )
        return Template(
            "storefronts/directory.html.j2",
            context={"d": result},
            headers={"Cache-Control": "public, max-age=60"},
        )

    @get("/{slug:str}", name="storefronts.show")
    async def show(self, request: Request, slug: FromPath[str]) -> Response:
        """The storefront page: from the page cache when it holds it, else one query and a render."""
        entry = await entry_for(request, slug)
        if not isinstance(entry, Entry):
            return entry or _not_found()  # type: ignore[return-value]
        locale = current_locale.get()
        page = entry.pages.get(locale)
        if page is None:
            page = view.render_page(
                request.app.template_engine.engine,  # type: ignore[attr-defined]
                entry.data,
                public_url=request.app.state.settings.public_url,
                locale=locale,
            )
            entry.pages[locale] = page
        headers = {"ETag": page.etag, "Cache-Control": REVALIDATE, "Content-Language": locale}
        reach(request).view(request, storefront_id=entry.storefront_id, merchant_id=entry.merchant_id)
        if not_modified(request.headers.get("if-none-match"), page.etag):
            return Response(content=b"", status_code=304, headers=headers)
        return Response(content=page.body, media_type=MediaType.HTML, headers=headers)

    @get("/{slug:str}/qr.png", name="storefronts.qr_png")
    async def qr_png(
        self,
        request: Request,
        slug: FromPath[str],
        amount: Query = None,
        purpose: Query = None,
        v: Query = None,
    ) -> Response:
        """The trader's VietQR; `amount` and `purpose` make it a one-payment QR."""
        s = await storefront_data(request, slug)
        text, _, _ = _payload_of(s, amount, purpose)
        reach(request).qr_fetch(request, storefront_id=s.storefront_id, merchant_id=s.merchant_id)
        return qr_response(request, text, "png", public=True, version=v)

    @get("/{slug:str}/qr.svg", name="storefronts.qr_svg")
    async def qr_svg(
        self,
        request: Request,
        slug: FromPath[str],
        amount: Query = None,
        purpose: Query = None,
        v: Query = None,
    ) -> Response:
        s = await storefront_data(request, slug)
        text, _, _ = _payload_of(s, amount, purpose)
        reach(request).qr_fetch(request, storefront_id=s.storefront_id, merchant_id=s.merchant_id)
        return qr_response(request, text, "svg", public=True, version=v)

    @get("/{slug:str}/link.png", name="storefronts.link_png")
    async def link_png(self, request: Request, slug: FromPath[str], v: Query = None) -> Response:
        """The QR of the page's own address, for the share block."""
        s = await storefront_data(request, slug)
        url = view.page_url(request.app.state.settings.public_url, s.slug)
        return qr_response(request, url, "png", public=True, version=v)

    @get("/{slug:str}/poster.pdf", name="storefronts.poster")
    async def poster(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        slug: FromPath[str],
        amount: Query = None,
        purpose: Query = None,
    ) -> Response:
        """An A6 poster of the trader's QR (with an amount: a poster for one price)."""
        s = await storefront_data(request, slug)
        text, _, _ = _payload_of(s, amount, purpose)
        assert s.account is not None
        public_url = request.app.state.settings.public_url
        code = await db_session.scalar(
            select(Poster.code)
            .where(
                Poster.merchant_id == s.merchant_id,
                Poster.payload == s.account.payload,
                Poster.revoked_at.is_(None),
            )
            .order_by(Poster.printed_at.desc())
            .limit(1)
        )
        data = PosterData(
            business_name=s.business_name,
            bank_short_name=s.account.bank_name,
            account_holder=s.account.holder_name,
            account=s.account.account,
            payload=text,
            # The verification code of the poster the team printed for this account, if any.
            verification_code=codes.display(code) if code else "—",
            verify_url=(
                f"{public_url}/v/{codes.display(code)}" if code else view.page_url(public_url, s.slug)
            ).removeprefix("https://"),
        )
        etag = render.etag_for(repr(data))
        headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        reach(request).qr_fetch(request, storefront_id=s.storefront_id, merchant_id=s.merchant_id)
        if not_modified(request.headers.get("if-none-match"), etag):
            return Response(content=b"", status_code=304, headers=headers)
        document = await offload.run("documents", poster_pdf, [data])
        return Response(
            content=document,
            media_type="application/pdf",
            headers={**headers, "Content-Disposition": f'inline; filename="{s.slug}.pdf"'},
        )


# --- the trader's edit link ------------------------------------------------------------------------


async def read_photo(value: Any) -> photos.Prepared | None:
    """The photo a form sent (the field may hold "" when no file was chosen), prepared off the loop."""
    upload = next(
        (v for v in (value if isinstance(value, list) else [value]) if isinstance(v, UploadFile)), None
    )
    if upload is None:
        return None
    try:
        data = await upload.read(images.MAX_FILE_BYTES + 1)  # one byte more tells "too large" apart
    finally:
        await upload.close()
    if not data:
        return None
    return await offload.run("images", photos.prepare, data)


def _link_problem(exc: LinkUnusable) -> Template:
    return Template(
        "storefronts/link_unusable.html.j2",
        context={"state": exc.state, "expires_at": exc.link.expires_at if exc.link else None},
        status_code=exc.status_code,
        headers=PRIVATE_PAGE,
    )


class TraderPages(Controller):
    """What a trader can do with their edit link; every other change is refused."""

    path = "/t/{token:str}"

    async def _page(
        self,
        request: Request,
        db: AsyncSession,
        token: str,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Template:
        settings = request.app.state.settings
        links = EditLinkService(db)
        now = utcnow()
        try:
            link, sf, merchant = await links.open(token=token, secret=settings.secret_key, now=now)
        except LinkUnusable as exc:
            return _link_problem(exc)
        products = await StorefrontService(db).product_views(sf.id)
        hours = sf.hours or {}
        today = local_date(now)
        answered = await CheckinService(db).answer_of_week(
            merchant_id=merchant.id, day=today, source="trader"
        )
        figures = await reach_totals(db, merchant_ids=[merchant.id], today=today)
        return Template(
            "storefronts/trader.html.j2",
            context={
                "token": token,
                "question": checkins.QUESTION,
                "buttons": checkins.BUTTONS,
                "answers": checkins.ANSWERS,
                "answered": answered.answer if answered else None,
                "reach": figures.get(merchant.id) or ReachTotals(),
                "business_name": merchant.business_name,
                "slug": sf.slug,
                "published": sf.published,
                "products": products,
                "hours": {day: hours.get(day, "unsaid") for day in DAYS},
                "days": DAYS,
                "day_names": DAY_NAMES,
                "expires_at": link.expires_at,
                "errors": errors or {},
                "values": values or {},
            },
            status_code=status,
            headers=PRIVATE_PAGE,
        )

    @get("/", name="storefronts.trader")
    async def show(
        self, request: Request, db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Template:
        return await self._page(request, db_session, token)

    async def _write(
        self,
        request: Request,
        db: AsyncSession,
        token: str,
        action,
        form: dict[str, Any],
        *,
        done: str = N_("Đã lưu. Trang gian hàng đã cập nhật."),
        keep: Callable[[], dict[str, Any]] | None = None,
    ) -> Template | Redirect:
        try:
            await action()
        except LinkUnusable as exc:
            return _link_problem(exc)
        except NotAllowed as exc:
            return Template(
                "storefronts/link_unusable.html.j2",
                context={"state": "not_allowed", "message": exc.text(), "token": token},
                status_code=403,
                headers=PRIVATE_PAGE,
            )
        except FieldErrors as exc:
            values = {k: v for k, v in form.items() if isinstance(v, str)} | (keep() if keep else {})
            return await self._page(request, db, token, errors=dict(exc.errors), values=values, status=422)
        flash(request, gettext(done), "success")
        return Redirect(request.app.route_reverse("storefronts.trader", token=token), status_code=303)

    @post("/prices", name="storefronts.trader.prices")
    async def prices(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Prices and sold-out marks of the products listed on the page."""
        form = clean_form(data)
        secret = request.app.state.settings.secret_key

        async def action() -> None:
            await EditLinkService(db_session).update_products(
                token=token, secret=secret, form=form, at=utcnow()
            )

        return await self._write(request, db_session, token, action, form)

    @post("/checkin", name="storefronts.trader.checkin")
    async def checkin(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """The answer to the weekly question (one of the four buttons)."""
        form = clean_form(data)
        secret = request.app.state.settings.secret_key

        async def action() -> None:
            await EditLinkService(db_session).checkin(token=token, secret=secret, form=form, at=utcnow())

        return await self._write(
            request, db_session, token, action, form, done=N_("Cảm ơn bạn! Câu trả lời đã được ghi lại.")
        )

    @post("/hours", name="storefronts.trader.hours")
    async def hours(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        form = clean_form(data)
        secret = request.app.state.settings.secret_key

        async def action() -> None:
            await EditLinkService(db_session).set_hours(token=token, secret=secret, form=form, at=utcnow())

        return await self._write(request, db_session, token, action, form)

    @post(
        "/products",
        name="storefronts.trader.add",
        **images.PHOTO_FORM,
    )
    async def add(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        """A new product, with a photo from the phone's camera."""
        form = clean_form(data)
        photo_field = form.pop("image", None)
        settings = request.app.state.settings
        links = EditLinkService(db_session)
        chosen: list[StoredImage] = []  # the photo, kept for the page again if the save fails

        async def action() -> None:
            at = utcnow()
            await links.open(token=token, secret=settings.secret_key, now=at)  # before any photo work
            prepared = await read_photo(photo_field)
            image: StoredImage | None = None
            if prepared is not None:
                image = await links.storefronts.store_image(prepared, media_dir=settings.media_dir, at=at)
            elif kept := photos.kept_from_token(form.pop("kept_image", None), settings.secret_key):
                image = await links.storefronts.kept_image(kept, media_dir=settings.media_dir, at=at)
            if image is not None:
                chosen.append(image)
            await links.add_product(token=token, secret=settings.secret_key, form=form, image=image, at=at)

        def keep() -> dict[str, Any]:
            if not chosen:
                return {}
            image = chosen[0]
            kept = photos.Kept(image.id, image.width, image.height, image.thumb_width, image.thumb_height)
            return {
                "kept_image": photos.keep_token(kept, settings.secret_key),
                "kept_thumb": image_view(image.id, image.thumb_width, image.thumb_height, "thumb"),
            }

        try:
            return await self._write(request, db_session, token, action, form, keep=keep)
        except images.ImageError as exc:
            values = {k: v for k, v in form.items() if isinstance(v, str)}
            return await self._page(
                request, db_session, token, errors={"image": exc.text()}, values=values, status=422
            )


def media_router(settings: Settings) -> Router:
    """Uploaded photos: content-addressed names never change meaning, so they are cached for a year."""
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    return create_static_files_router(
        path="/media",
        directories=[settings.media_dir],
        name="media",
        cache_control=CacheControlHeader(public=True, max_age=YEAR, immutable=True),
        opt=PUBLIC,
    )
