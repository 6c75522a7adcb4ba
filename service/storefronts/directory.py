"""The public directory `/s/`: published storefronts, searched accent-insensitively and filtered by
province, commune and market, a page at a time."""

import math

from sqlalchemy import String, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.merchants.models import Merchant, live
from service.places.models import Commune, Province
from service.storefronts.models import Product, StoredImage, Storefront
from service.storefronts.schemas import DirectoryItem, DirectoryPage, Option
from service.storefronts.view import CONSENT, image_view
from service.text import fold, vi_sort_key

PAGE_SIZE = 20
MAX_WORDS = 8


def _visible():
    """Published, merchant live, consent still given (JSON list stored as text on both databases)."""
    return and_(
        Storefront.published.is_(True),
        live(),
        cast(Merchant.consent_purposes, String).contains(f'"{CONSENT}"'),
    )


class DirectoryService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def search(
        self,
        *,
        q: str = "",
        province: str | None = None,
        commune: str | None = None,
        market: str | None = None,
        page: int = 1,
    ) -> DirectoryPage:
        base = select(Storefront.id).join(Merchant, Merchant.id == Storefront.merchant_id)
        conditions = [_visible()]
        haystack = Merchant.name_fold + " " + Storefront.search_fold
        for word in fold(q).split()[:MAX_WORDS]:
            conditions.append(haystack.contains(word, autoescape=True))
        if province:
            conditions.append(Merchant.province_code == province)
        if commune:
            conditions.append(Merchant.commune_code == commune)
        if market:
            conditions.append(Merchant.market == market)
        total = await self.session.scalar(
            select(func.count()).select_from(base.where(*conditions).subquery())
        )
        pages = max(1, math.ceil((total or 0) / PAGE_SIZE))
        page = min(max(1, page), pages)
        first_photo = (
            select(Product.image_id)
            .where(Product.storefront_id == Storefront.id, Product.image_id.is_not(None))
            .order_by(Product.position)
            .limit(1)
            .scalar_subquery()
        )
        rows = (
            await self.session.execute(
                select(
                    Storefront.slug,
                    Storefront.headline,
                    func.coalesce(Storefront.cover_image_id, first_photo).label("image_id"),
                    Merchant.business_name,
                    Merchant.market,
                    Commune.full_name,
                    Province.full_name,
                )
                .join(Merchant, Merchant.id == Storefront.merchant_id)
                .join(Commune, Commune.code == Merchant.commune_code)
                .join(Province, Province.code == Merchant.province_code)
                .where(*conditions)
                .order_by(Merchant.name_fold, Storefront.id)
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        ).all()
        ids = {row.image_id for row in rows if row.image_id}
        images = (
            {i.id: i for i in await self.session.scalars(select(StoredImage).where(StoredImage.id.in_(ids)))}
            if ids
            else {}
        )
        items = []
        for slug, headline, image_id, name, market_name, commune_name, province_name in rows:
            image = images.get(image_id)
            items.append(
                DirectoryItem(
                    slug=slug,
                    business_name=name,
                    headline=headline,
                    market=market_name,
                    commune_name=commune_name,
                    province_name=province_name,
                    thumb=image_view(image.id, image.thumb_width, image.thumb_height, "thumb")
                    if image
                    else None,
                )
            )
        provinces, communes, markets = await self._options(province=province, commune=commune)
        return DirectoryPage(
            items=items,
            total=total or 0,
            page=page,
            pages=pages,
            q=q,
            province=province,
            commune=commune,
            market=market,
            provinces=provinces,
            communes=communes,
            markets=markets,
        )

    async def _options(
        self, *, province: str | None, commune: str | None
    ) -> tuple[list[Option], list[Option], list[Option]]:
        """Only places that have a published storefront: a filter never leads to an empty page."""
        listed = select(Merchant).join(Storefront, Storefront.merchant_id == Merchant.id).where(_visible())
        listed = listed.subquery()
        provinces = (
            await self.session.execute(
                select(Province.code, Province.full_name).where(
                    Province.code.in_(select(listed.c.province_code))
                )
            )
        ).all()
        communes = []
        if province:
            communes = (
                await self.session.execute(
                    select(Commune.code, Commune.full_name).where(
                        Commune.code.in_(
                            select(listed.c.commune_code).where(listed.c.province_code == province)
                        )
                    )
                )
            ).all()
        where = []
        if province:
            where.append(listed.c.province_code == province)
        if commune:
            where.append(listed.c.commune_code == commune)
        markets = await self.session.scalars(
            select(listed.c.market).where(listed.c.market.is_not(None), *where).group_by(listed.c.market)
        )

        def options(rows) -> list[Option]:
            return sorted((Option(code, name) for code, name in rows), key=lambda o: vi_sort_key(o.label))

        return (
            options(provinces),
            options(communes),
            sorted((Option(m, m) for m in markets if m), key=lambda o: vi_sort_key(o.label)),
        )
