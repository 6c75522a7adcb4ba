"""Storefronts: a listing per merchant, its products and photos, publishing, trader edit links.

Volunteers reach a storefront through `MerchantService.get`, so the caller's jurisdiction applies;
the team that works with the trader (and admins) may change it, officers read it. A trader reaches
their own storefront only through an edit link (`links.py`), for the few changes it allows.

Audit entries have entity type "storefront" and the merchant's id as entity id, so the merchant
timeline shows them. Product changes name the product in `changes["product_id"]`; a trader's change
has no actor and says `changes["via"] = [None, "trader via link <id>"]`.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_
from service.merchants import events
from service.merchants.identifiers import format_phone
from service.merchants.models import Merchant
from service.merchants.services import MerchantService
from service.places.models import Commune
from service.storefronts import photos, validation
from service.storefronts.models import (
    ENTITY,
    EditLink,
    Product,
    StoredImage,
    Storefront,
    StorefrontSlug,
    search_key,
)
from service.storefronts.schemas import (
    EditLinkView,
    EditorView,
    ProductView,
    StorefrontSection,
    TeamStorefront,
    TeamStorefronts,
)
from service.storefronts.slugs import base_slug, unique_slug
from service.storefronts.view import CONSENT, image_view, page_url, price_text

EDITORS = ("volunteer", "team_leader")
MAX_PRODUCTS = 200


class NoConsent(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(
            N_("Tiểu thương chưa đồng ý đăng thông tin gian hàng công khai. Hãy ghi nhận sự đồng ý trước.")
        )


class NoProducts(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Cần ít nhất một sản phẩm trước khi công khai gian hàng."))


class LastProduct(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Gian hàng đang công khai cần ít nhất một sản phẩm. Hãy ẩn gian hàng trước."))


class TooManyProducts(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Gian hàng có tối đa {n} sản phẩm."), n=MAX_PRODUCTS)


def may_edit(user: CurrentUser, *, team_id: uuid.UUID | None) -> bool:
    """The people who sit with the trader (their team) and admins; officers read (DESIGN §6)."""
    if user.role == "admin":
        return True
    return user.role in EDITORS and user.team_id is not None and user.team_id == team_id


def same_base(slug: str, base: str) -> bool:
    """Whether `slug` is `base` or `base-N`: the name and place it was made from have not changed."""
    return slug == base or (slug.startswith(base + "-") and slug[len(base) + 1 :].isdigit())


Actor = CurrentUser | EditLink


class StorefrontService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.merchants = MerchantService(session)

    # --- reading -------------------------------------------------------------------------------

    async def of_merchant(self, merchant_id: uuid.UUID) -> Storefront | None:
        return await self.session.scalar(select(Storefront).where(Storefront.merchant_id == merchant_id))

    async def products(self, storefront_id: uuid.UUID) -> list[Product]:
        return list(
            await self.session.scalars(
                select(Product)
                .where(Product.storefront_id == storefront_id)
                .order_by(Product.position, Product.id)
            )
        )

    async def _images(self, ids: set[str | None]) -> dict[str, StoredImage]:
        ids.discard(None)
        if not ids:
            return {}
        rows = await self.session.scalars(select(StoredImage).where(StoredImage.id.in_(ids)))
        return {row.id: row for row in rows}

    def product_view(self, p: Product, image: StoredImage | None) -> ProductView:
        return ProductView(
            id=p.id,
            name=p.name,
            price=p.price,
            price_text=price_text(p.price),
            unit=p.unit,
            available=p.available,
            position=p.position,
            thumb=image_view(image.id, image.thumb_width, image.thumb_height, "thumb") if image else None,
            photo=image_view(image.id, image.width, image.height, "display") if image else None,
        )

    async def product_views(self, storefront_id: uuid.UUID) -> list[ProductView]:
        rows = await self.products(storefront_id)
        images = await self._images({p.image_id for p in rows})
        return [self.product_view(p, images.get(p.image_id or "")) for p in rows]

    async def section(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> StorefrontSection:
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        sf = await self.of_merchant(m.id)
        count = 0
        if sf is not None:
            count = await self.session.scalar(
                select(func.count()).select_from(Product).where(Product.storefront_id == sf.id)
            )
        return StorefrontSection(
            exists=sf is not None,
            published=bool(sf and sf.published),
            slug=sf.slug if sf else None,
            products=count or 0,
            consent=CONSENT in m.consent_purposes,
        )

    async def editor(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, public_url: str, now: datetime
    ) -> EditorView:
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        sf = await self.of_merchant(m.id)
        products = await self.product_views(sf.id) if sf else []
        links = await self.links(sf.id, now=now) if sf else []
        cover = None
        if sf and sf.cover_image_id:
            image = (await self._images({sf.cover_image_id})).get(sf.cover_image_id)
            cover = image_view(image.id, image.width, image.height, "display") if image else None
        return EditorView(
            merchant_id=m.id,
            business_name=m.business_name,
            exists=sf is not None,
            slug=sf.slug if sf else None,
            published=bool(sf and sf.published),
            consent=CONSENT in m.consent_purposes,
            can_edit=may_edit(by, team_id=m.team_id),
            values=form_values(sf, default_phone=m.owner_phone),
            products=products,
            links=links,
            cover=cover,
            public_url=page_url(public_url, sf.slug) if sf else None,
        )

    async def links(self, storefront_id: uuid.UUID, *, now: datetime) -> list[EditLinkView]:
        rows = (
            await self.session.execute(
                select(EditLink, User.full_name)
                .outerjoin(User, User.id == EditLink.created_by_id)
                .where(EditLink.storefront_id == storefront_id)
                .order_by(EditLink.created_at.desc())
                .limit(20)
            )
        ).all()
        return [
            EditLinkView(
                id=link.id,
                created_at=link.created_at,
                created_by_name=name,
                expires_at=link.expires_at,
                revoked_at=link.revoked_at,
                last_used_at=link.last_used_at,
                active=link.revoked_at is None and link.expires_at > now,
            )
            for link, name in rows
        ]

    # --- the storefront ------------------------------------------------------------------------

    async def editable(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> Merchant:
        """The merchant, if the caller may change its storefront (404 unseen, 403 officers)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        if not may_edit(by, team_id=m.team_id):
            raise Forbidden(N_("Chỉ tổ phụ trách tiểu thương mới sửa được gian hàng."))
        return m

    async def ensure(self, *, merchant: Merchant, by: CurrentUser, at: datetime) -> Storefront:
        """The merchant's storefront, made (unpublished, with its address) on first use."""
        sf = await self.of_merchant(merchant.id)
        if sf is not None:
            return sf
        sf = Storefront(
            id=uuid.uuid4(),
            merchant_id=merchant.id,
            province_code=merchant.province_code,
            slug="",
            published=False,
            hours={},
            links={},
            search_fold="",
            created_at=at,
            updated_at=at,
        )
        await self._readdress(sf, merchant, at=at)
        self.session.add(sf)
        try:
            await self.session.flush()
        except IntegrityError:
            # Another tablet made it (or took the address) first: use theirs.
            await self.session.rollback()
            existing = await self.of_merchant(merchant.id)
            if existing is None:
                raise
            return existing
        self.session.add(StorefrontSlug(slug=sf.slug, storefront_id=sf.id, created_at=at))
        await self.audit(sf, "create", {"slug": [None, sf.slug]}, actor=by, at=at)
        return sf

    async def _readdress(self, sf: Storefront, merchant: Merchant, *, at: datetime) -> str | None:
        """Give the storefront the address its merchant's name and place make now; returns the old
        address when it changed (kept in the slug history, so old links still lead here)."""
        commune = await self.session.get(Commune, merchant.commune_code)
        base = base_slug(merchant.business_name, merchant.market or (commune.name if commune else None))
        if sf.slug and same_base(sf.slug, base):
            return None
        rows = (
            await self.session.execute(
                select(StorefrontSlug.slug, StorefrontSlug.storefront_id).where(
                    (StorefrontSlug.slug == base) | StorefrontSlug.slug.like(base + "-%")
                )
            )
        ).all()
        others = {slug for slug, owner in rows if owner != sf.id}
        mine = {slug for slug, owner in rows if owner == sf.id}
        slug = unique_slug(base, others.__contains__)
        old, sf.slug = sf.slug, slug
        if old and slug not in mine:
            self.session.add(StorefrontSlug(slug=slug, storefront_id=sf.id, created_at=at))
        return old or None

    async def save(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, values: Mapping[str, Any], at: datetime
    ) -> Storefront:
        m = await self.editable(by=by, merchant_id=merchant_id)
        clean, errors = validation.clean_storefront(values)
        if errors:
            raise FieldErrors(errors)
        sf = await self.ensure(merchant=m, by=by, at=at)
        before = {f: getattr(sf, f) for f in validation.STOREFRONT_FIELDS}
        changes = audit.diff(before, clean)
        for field in changes:
            setattr(sf, field, clean[field])
        old_slug = await self._readdress(sf, m, at=at)
        if old_slug:
            changes["slug"] = [old_slug, sf.slug]
        if changes:
            await self._touch(sf, m, at=at)
            await self.audit(sf, "update", changes, actor=by, at=at)
        return sf

    async def publish(self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime) -> Storefront:
        """Publish: needs the trader's consent and a product; announced (onboarding records the
        "listed" stage with it)."""
        await events.lock(self.session, [merchant_id])
        m = await self.editable(by=by, merchant_id=merchant_id)
        if CONSENT not in m.consent_purposes:
            raise NoConsent()
        sf = await self.ensure(merchant=m, by=by, at=at)
        if not await self.session.scalar(select(func.count()).where(Product.storefront_id == sf.id)):
            raise NoProducts()
        changes: dict[str, list[Any]] = {}
        old_slug = await self._readdress(sf, m, at=at)
        if old_slug:
            changes["slug"] = [old_slug, sf.slug]
        if not sf.published:
            sf.published, sf.published_at = True, at
            changes["published"] = [False, True]
        if changes:
            await self._touch(sf, m, at=at)
            await self.audit(sf, "update", changes, actor=by, at=at)
        await events.announce(
            self.session, "storefront_published", [m.id], at=at, by=by.id, storefront_id=sf.id
        )
        return sf

    async def unpublish(self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime) -> Storefront:
        """Unpublish: announced (onboarding regresses "listed"; publishing again reaches it again)."""
        await events.lock(self.session, [merchant_id])
        m = await self.editable(by=by, merchant_id=merchant_id)
        sf = await self.of_merchant(m.id)
        if sf is None:
            raise NotFound()
        if sf.published:
            sf.published = False
            await self._touch(sf, m, at=at)
            await self.audit(sf, "update", {"published": [True, False]}, actor=by, at=at)
            await events.announce(
                self.session, "storefront_unpublished", [m.id], at=at, by=by.id, storefront_id=sf.id
            )
        return sf

    # --- products ------------------------------------------------------------------------------

    async def _product(self, sf: Storefront, product_id: uuid.UUID) -> Product:
        product = await self.session.get(Product, product_id)
        if product is None or product.storefront_id != sf.id:
            raise NotFound()
        return product

    async def _storefront_of(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> tuple[Merchant, Storefront]:
        m = await self.editable(by=by, merchant_id=merchant_id)
        sf = await self.of_merchant(m.id)
        if sf is None:
            raise NotFound()
        return m, sf

    async def add_product(
        self,
        *,
        actor: Actor,
        merchant: Merchant,
        storefront: Storefront,
        values: Mapping[str, Any],
        image: StoredImage | None,
        at: datetime,
    ) -> Product:
        """A product at the end of the list (for a volunteer through `add_product_for`, for a trader
        through an edit link)."""
        clean, errors = validation.clean_product(values)
        if errors:
            raise FieldErrors(errors)
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(Product.position)).where(Product.storefront_id == storefront.id)
            )
        ).one()
        if count >= MAX_PRODUCTS:
            raise TooManyProducts()
        product = Product(
            id=uuid.uuid4(),
            storefront_id=storefront.id,
            province_code=storefront.province_code,
            image_id=image.id if image else None,
            position=(last or 0) + 1,
            created_at=at,
            updated_at=at,
            **clean,
        )
        self.session.add(product)
        await self.session.flush()
        await self._touch(storefront, merchant, at=at)
        snapshot = {**clean, "image_id": product.image_id}
        await self.audit(
            storefront,
            "create",
            {"product_id": [None, str(product.id)], **audit.diff({}, snapshot)},
            actor=actor,
            at=at,
        )
        return product

    async def add_product_for(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        values: Mapping[str, Any],
        image: StoredImage | None,
        at: datetime,
    ) -> Product:
        m = await self.editable(by=by, merchant_id=merchant_id)
        sf = await self.ensure(merchant=m, by=by, at=at)
        return await self.add_product(actor=by, merchant=m, storefront=sf, values=values, image=image, at=at)

    async def update_product(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        product_id: uuid.UUID,
        values: Mapping[str, Any],
        image: StoredImage | None,
        remove_image: bool,
        at: datetime,
    ) -> Product:
        m, sf = await self._storefront_of(by=by, merchant_id=merchant_id)
        product = await self._product(sf, product_id)
        clean, errors = validation.clean_product(values)
        if errors:
            raise FieldErrors(errors)
        if image is not None:
            clean["image_id"] = image.id
        elif remove_image:
            clean["image_id"] = None
        await self._change_product(product, clean, actor=by, merchant=m, storefront=sf, at=at)
        return product

    async def _change_product(
        self,
        product: Product,
        values: Mapping[str, Any],
        *,
        actor: Actor,
        merchant: Merchant,
        storefront: Storefront,
        at: datetime,
        touch: bool = True,
    ) -> bool:
        before = {f: getattr(product, f) for f in values}
        changes = audit.diff(before, values)
        if not changes:
            return False
        for field in changes:
            setattr(product, field, values[field])
        product.updated_at = at
        if touch:
            await self._touch(storefront, merchant, at=at)
        await self.audit(
            storefront,
            "update",
            {"product_id": [str(product.id), str(product.id)], **changes},
            actor=actor,
            at=at,
        )
        return True

    async def remove_product(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, product_id: uuid.UUID, at: datetime
    ) -> Product:
        m, sf = await self._storefront_of(by=by, merchant_id=merchant_id)
        product = await self._product(sf, product_id)
        if sf.published and len(await self.products(sf.id)) == 1:
            raise LastProduct()
        await self.session.delete(product)
        await self.session.flush()
        await self._touch(sf, m, at=at)
        await self.audit(
            sf,
            "delete",
            {"product_id": [str(product.id), None], "name": [product.name, None]},
            actor=by,
            at=at,
        )
        return product

    async def move_product(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, product_id: uuid.UUID, up: bool, at: datetime
    ) -> None:
        """One place up or down the list (swapping with the neighbour)."""
        m, sf = await self._storefront_of(by=by, merchant_id=merchant_id)
        rows = await self.products(sf.id)
        index = next((i for i, p in enumerate(rows) if p.id == product_id), None)
        if index is None:
            raise NotFound()
        other = index - 1 if up else index + 1
        if not 0 <= other < len(rows):
            return
        order = [p.id for p in rows]
        order[index], order[other] = order[other], order[index]
        for row in rows:
            row.position = order.index(row.id) + 1
            row.updated_at = at
        await self._touch(sf, m, at=at)
        await self.audit(
            sf,
            "update",
            {"product_id": [str(product_id), str(product_id)], "position": [index + 1, other + 1]},
            actor=by,
            at=at,
        )

    async def set_cover(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, image: StoredImage | None, at: datetime
    ) -> Storefront:
        m = await self.editable(by=by, merchant_id=merchant_id)
        sf = await self.ensure(merchant=m, by=by, at=at)
        new = image.id if image else None
        if sf.cover_image_id != new:
            changes = {"cover_image_id": [sf.cover_image_id, new]}
            sf.cover_image_id = new
            await self._touch(sf, m, at=at)
            await self.audit(sf, "update", changes, actor=by, at=at)
        return sf

    # --- photos --------------------------------------------------------------------------------

    async def store_image(self, prepared: photos.Prepared, *, media_dir: Path, at: datetime) -> StoredImage:
        """The stored image for a prepared upload: files written once, one row per content."""
        await anyio.to_thread.run_sync(photos.store, media_dir, prepared)
        existing = await self.session.get(StoredImage, prepared.id)
        if existing is not None:
            return existing
        image = StoredImage(
            id=prepared.id,
            width=prepared.width,
            height=prepared.height,
            thumb_width=prepared.thumb_width,
            thumb_height=prepared.thumb_height,
            created_at=at,
        )
        try:
            async with self.session.begin_nested():  # the same photo sent from two tablets at once
                self.session.add(image)
        except IntegrityError:
            found = await self.session.get(StoredImage, prepared.id)
            assert found is not None
            return found
        return image

    async def of_team(
        self, *, by: CurrentUser, page: int, public_url: str, per_page: int = 50
    ) -> TeamStorefronts:
        """The storefronts of the traders the user may see (their team's, for a volunteer), published
        first, then drafts, then traders with none yet; by name."""
        products = (
            select(func.count())
            .select_from(Product)
            .where(Product.storefront_id == Storefront.id)
            .correlate(Storefront)
            .scalar_subquery()
        )
        page = max(page, 1)
        rows = (
            await self.session.execute(
                select(
                    Merchant.id,
                    Merchant.business_name,
                    Merchant.market,
                    Merchant.stall,
                    Storefront.slug,
                    Storefront.published,
                    products.label("products"),
                )
                .outerjoin(Storefront, Storefront.merchant_id == Merchant.id)
                .where(MerchantService(self.session).where_visible(by))
                .order_by(
                    Storefront.published.is_(True).desc(),
                    Storefront.id.is_(None),
                    Merchant.name_fold,
                    Merchant.id,
                )
                .offset((page - 1) * per_page)
                .limit(per_page + 1)
            )
        ).all()
        items = [
            TeamStorefront(
                merchant_id=row.id,
                business_name=row.business_name,
                market=row.market,
                stall=row.stall,
                slug=row.slug,
                published=bool(row.published),
                public_url=page_url(public_url, row.slug) if row.slug and row.published else None,
                products=row.products or 0,
            )
            for row in rows[:per_page]
        ]
        return TeamStorefronts(
            items=items, published=sum(i.published for i in items), page=page, has_next=len(rows) > per_page
        )

    async def editable_product(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, product_id: uuid.UUID
    ) -> ProductView:
        """One product of a storefront the user may edit (404 otherwise)."""
        m = await self.editable(by=by, merchant_id=merchant_id)
        sf = await self.of_merchant(m.id)
        products = await self.product_views(sf.id) if sf else []
        product = next((p for p in products if p.id == product_id), None)
        if product is None:
            raise NotFound()
        return product

    async def kept_image(self, kept: photos.Kept, *, media_dir: Path, at: datetime) -> StoredImage | None:
        """The stored image of a photo kept across a failed save (its files were written then; its
        row went with that request's rollback), or None when its files are gone."""
        if not (media_dir / photos.file_name(kept.id, "display", "jpg")).exists():
            return None
        existing = await self.session.get(StoredImage, kept.id)
        if existing is not None:
            return existing
        image = StoredImage(
            id=kept.id,
            width=kept.width,
            height=kept.height,
            thumb_width=kept.thumb_width,
            thumb_height=kept.thumb_height,
            created_at=at,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(image)
        except IntegrityError:
            found = await self.session.get(StoredImage, kept.id)
            assert found is not None
            return found
        return image

    # --- shared --------------------------------------------------------------------------------

    async def _touch(self, sf: Storefront, merchant: Merchant, *, at: datetime) -> None:
        """After any change: the search key (headline, place, product names) and the time."""
        names = await self.session.scalars(select(Product.name).where(Product.storefront_id == sf.id))
        sf.search_fold = search_key(sf, merchant.market, list(names))
        sf.updated_at = at
        await self.session.flush()

    async def audit(
        self, sf: Storefront, action: str, changes: Mapping[str, list[Any]], *, actor: Actor, at: datetime
    ) -> None:
        record = dict(changes)
        if isinstance(actor, EditLink):
            record["via"] = [None, f"trader via link {actor.id}"]
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=sf.merchant_id,
            action=action,
            actor_id=actor.id if isinstance(actor, CurrentUser) else None,
            at=at,
            changes=record,
            province_code=sf.province_code,
        )
        await self.session.flush()  # a change that cannot be recorded fails here, not at commit

    async def product_updates(
        self,
        *,
        actor: Actor,
        merchant: Merchant,
        storefront: Storefront,
        updates: Mapping[uuid.UUID, Mapping[str, Any]],
        at: datetime,
    ) -> int:
        """Several products' prices and availability at once (the trader's price list form)."""
        rows = {p.id: p for p in await self.products(storefront.id)}
        changed = 0
        for product_id, values in updates.items():
            product = rows.get(product_id)
            if product is None:
                raise NotFound()
            if await self._change_product(
                product, values, actor=actor, merchant=merchant, storefront=storefront, at=at, touch=False
            ):
                changed += 1
        if changed:
            await self._touch(storefront, merchant, at=at)
        return changed

    async def set_hours(
        self, *, actor: Actor, merchant: Merchant, storefront: Storefront, hours: dict[str, Any], at: datetime
    ) -> bool:
        if storefront.hours == hours:
            return False
        changes = {"hours": [storefront.hours, hours]}
        storefront.hours = hours
        await self._touch(storefront, merchant, at=at)
        await self.audit(storefront, "update", changes, actor=actor, at=at)
        return True


def form_values(sf: Storefront | None, *, default_phone: str | None) -> dict[str, Any]:
    """A storefront's fields as the editor form shows them (flat names, as the form posts them)."""
    values: dict[str, Any] = {
        "headline": (sf.headline if sf else None) or "",
        "description": (sf.description if sf else None) or "",
        "location_note": (sf.location_note if sf else None) or "",
        "map_url": (sf.map_url if sf else None) or "",
        "contact_phone": format_phone(sf.contact_phone if sf and sf.contact_phone else default_phone or "")
        if (sf and sf.contact_phone) or default_phone
        else "",
        "contact_call": bool(sf and sf.contact_call),
        "contact_zalo": bool(sf and sf.contact_zalo),
    }
    hours = sf.hours if sf else {}
    for day in validation.DAYS:
        said = day in hours
        span = hours.get(day)
        values[f"hours_{day}_open"] = span[0] if span else ""
        values[f"hours_{day}_close"] = span[1] if span else ""
        values[f"hours_{day}_closed"] = said and span is None
    links = sf.links if sf else {}
    for kind in validation.LINK_KINDS:
        values[f"link_{kind}"] = links.get(kind, "")
    return values
