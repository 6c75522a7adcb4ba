"""Tablet pages of a merchant's storefront: the listing, products and photos, publishing, and the
trader's edit links. Public pages and the trader's link pages are in public.py."""

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service import images
from service.accounts.guards import requires_user
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, NotFound
from service.i18n import gettext
from service.merchants.sections import merchant_section
from service.money import format_grouped
from service.payments import render
from service.storefronts import photos
from service.storefronts.links import DEFAULT_LIFETIME, LIFETIMES, EditLinkService, link_url
from service.storefronts.models import StoredImage
from service.storefronts.public import read_photo
from service.storefronts.schemas import STOREFRONT_FIELD_LABELS
from service.storefronts.services import StorefrontService
from service.storefronts.validation import DAY_NAMES, DAYS, LINK_KINDS
from service.storefronts.view import image_view
from service.web import clean_form, flash, utcnow

NEW_LINK = "storefront_new_link"  # session key: the token, shown once on the next page


def _editor_url(request: Request, merchant_id: uuid.UUID, anchor: str = "") -> str:
    return request.app.route_reverse("storefronts.edit", merchant_id=merchant_id) + anchor


def _kept(request: Request, image: StoredImage | None) -> dict[str, Any]:
    """Form values that keep a photo across a failed save: its signed note and its thumbnail."""
    if image is None:
        return {}
    kept = photos.Kept(image.id, image.width, image.height, image.thumb_width, image.thumb_height)
    return {
        "kept_image": photos.keep_token(kept, request.app.state.settings.secret_key),
        "kept_thumb": image_view(image.id, image.thumb_width, image.thumb_height, "thumb"),
    }


@merchant_section("storefronts/_merchant_section.html.j2")
async def _merchant_page_section(db: AsyncSession, by: CurrentUser, merchant_id: uuid.UUID) -> dict[str, Any]:
    """On the merchant page: published or not, the public link to copy or send, the way to the editor."""
    return msgspec.structs.asdict(await StorefrontService(db).section(by=by, merchant_id=merchant_id))


class TeamStorefrontPages(Controller):
    """The staff menu's "Gian hàng": the storefronts of the traders the user works with, in the app."""

    path = "/storefronts"
    guards = [requires_user]

    @get("/", name="storefronts.team")
    async def team(
        self, request: Request, db_session: NamedDependency[AsyncSession], page: FromQuery[int] = 1
    ) -> Template:
        listing = await StorefrontService(db_session).of_team(
            by=request.user, page=page, public_url=request.app.state.settings.public_url
        )
        return Template("storefronts/team.html.j2", context={"listing": listing})


def _show_once(request: Request, merchant_id: uuid.UUID, link_id: uuid.UUID, token: str) -> Redirect:
    # The token exists only now: it rides in the (encrypted) session cookie to the next page.
    if not isinstance(request.scope.get("session"), dict):
        request.set_session({})
    request.session[NEW_LINK] = {"id": str(link_id), "token": token}
    return Redirect(
        request.app.route_reverse("storefronts.links.show", merchant_id=merchant_id, link_id=link_id),
        status_code=303,
    )


class StorefrontPages(Controller):
    path = "/merchants/{merchant_id:uuid}/storefront"
    guards = [requires_user]

    async def _editor(
        self,
        request: Request,
        db: AsyncSession,
        merchant_id: uuid.UUID,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        product_values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Template:
        view = await StorefrontService(db).editor(
            by=request.user,
            merchant_id=merchant_id,
            public_url=request.app.state.settings.public_url,
            now=utcnow(),
        )
        return Template(
            "storefronts/edit.html.j2",
            context={
                "e": view,
                "values": {**view.values, **(values or {})},
                "product": product_values or {"available": "on"},
                "errors": errors or {},
                "days": DAYS,
                "day_names": DAY_NAMES,
                "link_kinds": LINK_KINDS,
                "labels": STOREFRONT_FIELD_LABELS,
                "lifetimes": LIFETIMES,
                "default_lifetime": DEFAULT_LIFETIME,
            },
            status_code=status,
        )

    @get("/", name="storefronts.edit")
    async def edit(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        return await self._editor(request, db_session, merchant_id)

    @post("/", name="storefronts.save")
    async def save(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        values = clean_form(data)
        try:
            await StorefrontService(db_session).save(
                by=request.user, merchant_id=merchant_id, values=values, at=utcnow()
            )
        except FieldErrors as exc:
            return await self._editor(
                request, db_session, merchant_id, values=values, errors=dict(exc.errors), status=422
            )
        flash(request, gettext("Đã lưu gian hàng."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    @post("/publish", name="storefronts.publish")
    async def publish(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        try:
            await StorefrontService(db_session).publish(by=request.user, merchant_id=merchant_id, at=utcnow())
        except DomainError as exc:
            if exc.status_code != 409:
                raise
            return await self._editor(
                request, db_session, merchant_id, errors={"publish": exc.text()}, status=409
            )
        flash(request, gettext("Gian hàng đã công khai."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    @post("/unpublish", name="storefronts.unpublish")
    async def unpublish(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await StorefrontService(db_session).unpublish(by=request.user, merchant_id=merchant_id, at=utcnow())
        flash(request, gettext("Gian hàng đã ẩn khỏi trang công khai."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    async def _image(self, request: Request, db: AsyncSession, values: dict[str, Any]) -> StoredImage | None:
        """The photo chosen now, or else the one kept from a save that failed."""
        settings = request.app.state.settings
        prepared = await read_photo(values.get("image"))
        if prepared is not None:
            return await StorefrontService(db).store_image(
                prepared, media_dir=settings.media_dir, at=utcnow()
            )
        kept = photos.kept_from_token(values.get("kept_image"), settings.secret_key)
        if kept is None:
            return None
        return await StorefrontService(db).kept_image(kept, media_dir=settings.media_dir, at=utcnow())

    @post(
        "/products",
        name="storefronts.products.create",
        **images.PHOTO_FORM,
    )
    async def add_product(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        values = clean_form(data)
        storefronts = StorefrontService(db_session)
        await storefronts.editable(by=request.user, merchant_id=merchant_id)  # before any photo work
        typed = {k: v for k, v in values.items() if isinstance(v, str)}
        image: StoredImage | None = None
        try:
            image = await self._image(request, db_session, values)
            await storefronts.add_product_for(
                by=request.user, merchant_id=merchant_id, values=values, image=image, at=utcnow()
            )
        except (FieldErrors, images.ImageError) as exc:
            errors = dict(exc.errors) if isinstance(exc, FieldErrors) else {"image": exc.text()}
            typed |= _kept(request, image if isinstance(exc, FieldErrors) else None)
            return await self._editor(
                request, db_session, merchant_id, errors=errors, product_values=typed, status=422
            )
        except DomainError as exc:
            if exc.status_code != 409:
                raise
            return await self._editor(
                request,
                db_session,
                merchant_id,
                errors={"name": exc.text()},
                product_values=typed,
                status=409,
            )
        flash(request, gettext("Đã thêm sản phẩm."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    async def _product_page(
        self,
        request: Request,
        db: AsyncSession,
        merchant_id: uuid.UUID,
        product_id: uuid.UUID,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        storefronts = StorefrontService(db)
        m = await storefronts.editable(by=request.user, merchant_id=merchant_id)
        sf = await storefronts.of_merchant(m.id)
        products = await storefronts.product_views(sf.id) if sf else []
        product = next((p for p in products if p.id == product_id), None)
        if product is None:
            raise NotFound()
        current = {
            "name": product.name,
            "price": format_grouped(product.price),
            "unit": product.unit or "",
            "available": "on" if product.available else "",
        }
        return Template(
            "storefronts/product.html.j2",
            context={
                "merchant_id": m.id,
                "business_name": m.business_name,
                "p": product,
                "values": {**current, **(values or {})},
                "errors": errors or {},
            },
            status_code=status,
        )

    @get("/products/{product_id:uuid}", name="storefronts.products.edit")
    async def edit_product(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        product_id: FromPath[uuid.UUID],
    ) -> Template:
        return await self._product_page(request, db_session, merchant_id, product_id)

    @post(
        "/products/{product_id:uuid}",
        name="storefronts.products.update",
        **images.PHOTO_FORM,
    )
    async def update_product(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        product_id: FromPath[uuid.UUID],
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        values = clean_form(data)
        storefronts = StorefrontService(db_session)
        await storefronts.editable(by=request.user, merchant_id=merchant_id)
        typed = {k: v for k, v in values.items() if isinstance(v, str)}
        image: StoredImage | None = None
        try:
            image = await self._image(request, db_session, values)
            await storefronts.update_product(
                by=request.user,
                merchant_id=merchant_id,
                product_id=product_id,
                values=values,
                image=image,
                remove_image=bool(values.get("remove_image")),
                at=utcnow(),
            )
        except (FieldErrors, images.ImageError) as exc:
            errors = dict(exc.errors) if isinstance(exc, FieldErrors) else {"image": exc.text()}
            typed |= _kept(request, image if isinstance(exc, FieldErrors) else None)
            return await self._product_page(
                request, db_session, merchant_id, product_id, values=typed, errors=errors, status=422
            )
        flash(request, gettext("Đã lưu sản phẩm."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    @post("/products/{product_id:uuid}/delete", name="storefronts.products.delete")
    async def delete_product(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        product_id: FromPath[uuid.UUID],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Asks first (a page that says what goes); deletes when that page's button is pressed."""
        storefronts = StorefrontService(db_session)
        if data.get("confirm") != "1":
            product = await storefronts.editable_product(
                by=request.user, merchant_id=merchant_id, product_id=product_id
            )
            return Template(
                "confirm.html.j2",
                context={
                    "title": gettext("Xóa sản phẩm {name}?", name=product.name),
                    "text": gettext(
                        "{name} · {price} sẽ không còn trên gian hàng.",
                        name=product.name,
                        price=product.price_text,
                    ),
                    "action": request.url.path,
                    "confirm": gettext("Xóa sản phẩm"),
                    "back": _editor_url(request, merchant_id),
                },
            )
        product = await storefronts.remove_product(
            by=request.user, merchant_id=merchant_id, product_id=product_id, at=utcnow()
        )
        flash(request, gettext("Đã xóa sản phẩm {name}.", name=product.name), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    @post("/products/{product_id:uuid}/move", name="storefronts.products.move")
    async def move_product(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        product_id: FromPath[uuid.UUID],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        await StorefrontService(db_session).move_product(
            by=request.user,
            merchant_id=merchant_id,
            product_id=product_id,
            up=data.get("direction") == "up",
            at=utcnow(),
        )
        return Redirect(_editor_url(request, merchant_id, "#products"), status_code=303)

    @post(
        "/cover",
        name="storefronts.cover",
        **images.PHOTO_FORM,
    )
    async def cover(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        """The picture Zalo and Facebook show with a shared link (default: the first product photo)."""
        values = clean_form(data)
        storefronts = StorefrontService(db_session)
        await storefronts.editable(by=request.user, merchant_id=merchant_id)
        try:
            image = (
                None
                if values.get("remove")
                else await self._image(request, db_session, {"image": values.get("image")})
            )
        except images.ImageError as exc:
            return await self._editor(
                request, db_session, merchant_id, errors={"cover": exc.text()}, status=422
            )
        if image is None and not values.get("remove"):
            return await self._editor(
                request,
                db_session,
                merchant_id,
                errors={"cover": gettext("Hãy chụp hoặc chọn một ảnh.")},
                status=422,
            )
        await storefronts.set_cover(by=request.user, merchant_id=merchant_id, image=image, at=utcnow())
        flash(request, gettext("Đã lưu ảnh bìa."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)

    # --- the trader's edit links -----------------------------------------------------------------

    @post("/links", name="storefronts.links.create")
    async def create_link(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        try:
            days = int(data.get("days") or DEFAULT_LIFETIME)
        except ValueError:
            days = 0
        link, token = await EditLinkService(db_session).create(
            by=request.user,
            merchant_id=merchant_id,
            days=days,
            secret=request.app.state.settings.secret_key,
            at=utcnow(),
        )
        return _show_once(request, merchant_id, link.id, token)

    @post("/links/{link_id:uuid}/reissue", name="storefronts.links.reissue")
    async def reissue_link(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """The old link stops working; a new one is shown once, to copy or send again."""
        link, token = await EditLinkService(db_session).reissue(
            by=request.user,
            merchant_id=merchant_id,
            link_id=link_id,
            secret=request.app.state.settings.secret_key,
            at=utcnow(),
        )
        return _show_once(request, merchant_id, link.id, token)

    @get("/links/{link_id:uuid}", name="storefronts.links.show")
    async def show_link(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Template:
        """The new link as a QR for the trader's phone camera: shown once (only its hash is kept)."""
        link = await EditLinkService(db_session).of_merchant(
            by=request.user, merchant_id=merchant_id, link_id=link_id
        )
        session = request.scope.get("session")
        fresh = session.pop(NEW_LINK, None) if isinstance(session, dict) else None
        url = qr = None
        if fresh and fresh.get("id") == str(link.id):
            url = link_url(request.app.state.settings.public_url, fresh["token"])
            qr = render.qr_svg(url)
        return Template(
            "storefronts/link.html.j2",
            context={
                "merchant_id": merchant_id,
                "link_id": link.id,
                "active": link.revoked_at is None and link.expires_at > utcnow(),
                "expires_at": link.expires_at,
                "url": url,
                "qr": qr,
            },
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @post("/links/{link_id:uuid}/revoke", name="storefronts.links.revoke")
    async def revoke_link(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await EditLinkService(db_session).revoke(
            by=request.user, merchant_id=merchant_id, link_id=link_id, at=utcnow()
        )
        flash(request, gettext("Đã thu hồi liên kết. Liên kết cũ không mở được nữa."), "success")
        return Redirect(_editor_url(request, merchant_id), status_code=303)
