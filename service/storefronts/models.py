import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service import audit
from service.db import Base
from service.merchants.models import Merchant
from service.merchants.relations import Reference, erase_hook, merge_hook
from service.text import fold

ENTITY = "storefront"  # audit entries, filed under the merchant's id (see services.py)
# Audited values that may be personal: free texts, the contact phone, shop links, photos, and the
# address made from the business name. Product names and prices are the market's and stay.
PERSONAL_AUDIT_FIELDS = (
    "headline",
    "description",
    "location_note",
    "map_url",
    "contact_phone",
    "links",
    "slug",
    "cover_image_id",
    "image_id",
)


class Storefront(Base):
    """A trader's public listing page (`/s/{slug}`): one per merchant.

    What it shows of the trader comes from the merchant row at read time (name, market, stall,
    commune), so a rename shows at once; what only the listing has lives here. The phone appears
    only when the trader chose a contact button (`contact_call`, `contact_zalo`).
    """

    __tablename__ = "storefronts"
    __table_args__ = (
        Index("ix_storefronts_province_code", "province_code"),
        Index("ix_storefronts_published", "published", "province_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"), unique=True)
    # Grows with merchants: carries the province for partitioning (DESIGN §8).
    province_code: Mapped[str] = mapped_column(String(2))
    slug: Mapped[str] = mapped_column(String(90), unique=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    headline: Mapped[str | None] = mapped_column(String(120), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # {"mon": ["06:00", "12:00"] | None (closed)}; a weekday left out is "not said".
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    location_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    map_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164
    contact_call: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_zalo: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"shopee": "https://shopee.vn/...", ...}; kinds in validation.LINK_KINDS
    links: Mapped[dict[str, str]] = mapped_column(JSON)
    cover_image_id: Mapped[str | None] = mapped_column(ForeignKey("images.id"), nullable=True)
    # Folded headline, market and product names for the directory search (the merchant's own
    # name_fold is joined at query time, so a rename needs no rewrite here).
    search_fold: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class StorefrontSlug(Base):
    """Every address a storefront has had, the current one included. A slug is never given to
    another storefront, so an old link shared on Zalo keeps leading to the same trader."""

    __tablename__ = "storefront_slugs"
    __table_args__ = (Index("ix_storefront_slugs_storefront_id", "storefront_id"),)

    slug: Mapped[str] = mapped_column(String(90), primary_key=True)
    storefront_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("storefronts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_storefront_position", "storefront_id", "position"),
        Index("ix_products_province_code", "province_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    storefront_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("storefronts.id"))
    province_code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column(Integer)  # whole đồng, below the NAPAS247 limit
    unit: Mapped[str | None] = mapped_column(String(30), nullable=True)
    image_id: Mapped[str | None] = mapped_column(ForeignKey("images.id"), nullable=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class StoredImage(Base):
    """A photo stored once under the media folder, named by the hash of its normalized pixels:
    `{id}-{variant}.{webp|jpg}` for the variants `display` (≤ 1200 px) and `thumb` (≤ 400 px)."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class EditLink(Base):
    """A trader's private edit link (`/t/{token}`): only the HMAC of the token is stored, so the
    table alone cannot open a storefront; it expires, and the team can revoke it."""

    __tablename__ = "storefront_edit_links"
    __table_args__ = (Index("ix_storefront_edit_links_storefront_id", "storefront_id"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    storefront_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("storefronts.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    created_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class StorefrontReach(Base):
    """How often a public storefront page was viewed and its payment QR fetched, per Vietnamese
    day: counts only, no cookie, address or browser kept (see reach.py for what counts)."""

    __tablename__ = "storefront_reach"
    __table_args__ = (
        Index("ix_storefront_reach_merchant_day", "merchant_id", "day"),
        Index("ix_storefront_reach_province_code", "province_code"),
        Index("ix_storefront_reach_commune_day", "commune_code", "day"),
    )

    storefront_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("storefronts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    # Grows with merchants: carries the place for partitioning and area counts (DESIGN §8).
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))
    views: Mapped[int] = mapped_column(Integer, default=0)
    qr_fetches: Mapped[int] = mapped_column(Integer, default=0)


@erase_hook("storefronts")
async def erase_storefronts(
    session: AsyncSession, reference: Reference, merchant_ids: list[uuid.UUID], at: datetime
) -> None:
    """A trader's data erased: their page goes offline and keeps nothing that could be personal —
    the free texts, contact phone, shop links, photos (people appear in them) and the address made
    from their name; edit links are revoked. Product names and prices stay: they are the market's.

    The photo files stay in the media folder while other products may share them; nothing links to
    them any more. The storefront's audit entries keep who changed what, not the erased values."""
    await audit.scrub(session, entity_type=ENTITY, entity_ids=merchant_ids, fields=PERSONAL_AUDIT_FIELDS)
    storefronts = list(
        await session.scalars(select(Storefront).where(Storefront.merchant_id.in_(merchant_ids)))
    )
    if not storefronts:
        return
    ids = [sf.id for sf in storefronts]
    await session.execute(delete(StorefrontSlug).where(StorefrontSlug.storefront_id.in_(ids)))
    for sf in storefronts:
        sf.slug = f"da-xoa-{sf.id.hex[:12]}"
        sf.published = False
        sf.headline = sf.description = sf.location_note = sf.map_url = sf.contact_phone = None
        sf.contact_call = sf.contact_zalo = False
        sf.links = {}
        sf.cover_image_id = None
        sf.search_fold = ""
        sf.updated_at = at
        session.add(StorefrontSlug(slug=sf.slug, storefront_id=sf.id, created_at=at))
    await session.execute(
        update(Product).where(Product.storefront_id.in_(ids)).values(image_id=None, updated_at=at)
    )
    await session.execute(
        update(EditLink)
        .where(EditLink.storefront_id.in_(ids), EditLink.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    await session.flush()


def search_key(sf: Storefront, market: str | None, product_names: list[str]) -> str:
    """The directory's search key: headline, market, location and product names, folded."""
    parts = [sf.headline, market, sf.location_note, *product_names]
    return fold(" ".join(p for p in parts if p))[:1000]


@merge_hook("storefronts")
async def merge_storefronts(
    session: AsyncSession, reference: Reference, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[int, int]:
    """The duplicate's storefront moves to a survivor that has none. When both have one, the
    survivor's stays with its texts; the duplicate's products are appended to it (photos kept),
    its addresses lead there (301), the trader's edit links open it, and it is published if either
    was. The duplicate's storefront stays with the tombstone, unpublished under a retired address,
    so the directory never lists the trader twice."""
    theirs = await session.scalar(select(Storefront).where(Storefront.merchant_id == duplicate_id))
    if theirs is None:
        return 0, 0
    ours = await session.scalar(select(Storefront).where(Storefront.merchant_id == survivor_id))
    if ours is None:
        theirs.merchant_id = survivor_id
        await session.flush()
        return 1, 0
    survivor = await session.get(Merchant, survivor_id)
    assert survivor is not None
    at = survivor.updated_at  # the merge's time: the merge sets it before calling the hooks
    last = await session.scalar(select(func.max(Product.position)).where(Product.storefront_id == ours.id))
    products = await session.scalars(
        select(Product).where(Product.storefront_id == theirs.id).order_by(Product.position, Product.id)
    )
    for n, product in enumerate(products, start=(last or 0) + 1):
        product.storefront_id = ours.id
        product.province_code = ours.province_code
        product.position = n
        product.updated_at = at
    await session.execute(
        update(StorefrontSlug).where(StorefrontSlug.storefront_id == theirs.id).values(storefront_id=ours.id)
    )
    await session.execute(
        update(EditLink).where(EditLink.storefront_id == theirs.id).values(storefront_id=ours.id)
    )
    if theirs.published and not ours.published:
        ours.published, ours.published_at = True, theirs.published_at
    theirs.slug = f"da-gop-{theirs.id.hex[:12]}"
    theirs.published = False
    theirs.search_fold = ""
    theirs.updated_at = at
    session.add(StorefrontSlug(slug=theirs.slug, storefront_id=theirs.id, created_at=at))
    await session.flush()
    names = list(await session.scalars(select(Product.name).where(Product.storefront_id == ours.id)))
    ours.search_fold = search_key(ours, survivor.market, names)
    ours.updated_at = at
    await session.flush()
    return 0, 1
