"""The public side of a storefront: one lean query, the page's view, its JSON-LD, the render.

The page is the one thing shoppers load, often on a slow phone connection and often from a Zalo
share, so this path is kept short: a single SQL statement (SQLAlchemy Core, compiled once) fetches
the storefront, its merchant's public fields, the primary payment account and the products with
their photos; the template is compiled once by Jinja; the result is cached per process
(`cache.py`). Nothing here reads a merchant's personal fields except the contact phone the trader
chose to show.
"""

import functools
import hashlib
import json
from typing import Any
from urllib.parse import quote

import msgspec
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy import Text, and_, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.merchants.identifiers import format_phone
from service.merchants.models import Merchant
from service.merchants.schemas import CATEGORY_NAMES
from service.money import format_vnd
from service.payments import banks, render
from service.payments.models import PaymentAccount
from service.payments.poster import mask_account
from service.payments.vietqr import MAX_PURPOSE, VietQR, ascii_purpose, encode
from service.places.models import Commune, Province
from service.storefronts import photos
from service.storefronts.cache import Page
from service.storefronts.models import Product, StoredImage, Storefront, StorefrontSlug
from service.storefronts.schemas import (
    AccountView,
    HoursView,
    ImageView,
    LinkView,
    ProductView,
    PublicStorefront,
)
from service.storefronts.validation import DAY_NAMES, DAYS, LINK_KINDS, SCHEMA_DAYS, zalo_url

TEMPLATE = "storefronts/public.html.j2"
CONSENT = "storefront"

_sf, _m, _c, _p = Storefront.__table__, Merchant.__table__, Commune.__table__, Province.__table__
_acc, _prod = PaymentAccount.__table__, Product.__table__
_cover, _pimg = StoredImage.__table__.alias("cover"), StoredImage.__table__.alias("pimg")

# One statement for the whole page: a row per product (one row when there is none).
_PAGE = (
    select(
        _sf.c.id,
        _sf.c.merchant_id,
        _sf.c.slug,
        _sf.c.headline,
        _sf.c.description,
        # JSON read as text and decoded once: the row repeats per product.
        cast(_sf.c.hours, Text).label("hours"),
        _sf.c.location_note,
        _sf.c.map_url,
        _sf.c.contact_phone,
        _sf.c.contact_call,
        _sf.c.contact_zalo,
        cast(_sf.c.links, Text).label("links"),
        _m.c.business_name,
        _m.c.category,
        _m.c.market,
        _m.c.stall,
        cast(_m.c.consent_purposes, Text).label("consent_purposes"),
        _c.c.full_name.label("commune_name"),
        _p.c.full_name.label("province_name"),
        _acc.c.bank_bin,
        _acc.c.service,
        _acc.c.account,
        _acc.c.holder_name,
        _cover.c.id.label("cover_id"),
        _cover.c.width.label("cover_width"),
        _cover.c.height.label("cover_height"),
        _prod.c.id.label("product_id"),
        _prod.c.name.label("product_name"),
        _prod.c.price,
        _prod.c.unit,
        _prod.c.available,
        _prod.c.position,
        _pimg.c.id.label("image_id"),
        _pimg.c.width.label("image_width"),
        _pimg.c.height.label("image_height"),
        _pimg.c.thumb_width,
        _pimg.c.thumb_height,
    )
    .select_from(
        _sf.join(_m, _m.c.id == _sf.c.merchant_id)
        .join(_c, _c.c.code == _m.c.commune_code)
        .join(_p, _p.c.code == _m.c.province_code)
        .outerjoin(
            _acc,
            and_(_acc.c.merchant_id == _m.c.id, _acc.c.is_primary.is_(True), _acc.c.removed_at.is_(None)),
        )
        .outerjoin(_cover, _cover.c.id == _sf.c.cover_image_id)
        .outerjoin(_prod, _prod.c.storefront_id == _sf.c.id)
        .outerjoin(_pimg, _pimg.c.id == _prod.c.image_id)
    )
    .where(
        _sf.c.slug == bindparam("slug"),
        _sf.c.published.is_(True),
        _m.c.deleted_at.is_(None),
        _m.c.merged_into_id.is_(None),
    )
    .order_by(_prod.c.position, _prod.c.id)
)
_OLD_SLUG = (
    select(_sf.c.slug)
    .select_from(StorefrontSlug.__table__.join(_sf, _sf.c.id == StorefrontSlug.__table__.c.storefront_id))
    .where(StorefrontSlug.__table__.c.slug == bindparam("slug"))
)


async def fetch(engine: AsyncEngine, slug: str) -> PublicStorefront | None:
    """The published storefront at `slug`, or None (unknown, unpublished, consent withdrawn,
    merchant deleted or merged)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_PAGE, {"slug": slug})).all()
    if not rows or CONSENT not in msgspec.json.decode(rows[0].consent_purposes or "[]"):
        return None
    return _view(rows)


async def current_slug(engine: AsyncEngine, slug: str) -> str | None:
    """Where an old address of a storefront leads now (None: never a storefront's address)."""
    async with engine.connect() as conn:
        return (await conn.execute(_OLD_SLUG, {"slug": slug})).scalar()


def media_url(image_id: str, variant: str, ext: str) -> str:
    return f"/media/{photos.file_name(image_id, variant, ext)}"


@functools.lru_cache(maxsize=8192)
def image_view(image_id: str | None, width: int | None, height: int | None, variant: str) -> ImageView | None:
    if image_id is None or width is None or height is None:
        return None
    return ImageView(
        webp=media_url(image_id, variant, "webp"),
        jpg=media_url(image_id, variant, "jpg"),
        width=width,
        height=height,
    )


@functools.lru_cache(maxsize=4096)
def price_text(amount: int) -> str:
    return format_vnd(amount)


@functools.lru_cache(maxsize=8192)
def pay_purpose(name: str) -> str | None:
    """The memo of a product's "pay this amount" QR: its name without diacritics, cut to fit."""
    return ascii_purpose(name)[:MAX_PURPOSE].strip() or None


@functools.lru_cache(maxsize=8192)
def pay_url(slug: str, bank_bin: str, account: str, service: str, price: int, name: str) -> str:
    """The address of a product's "pay this amount" QR (a pure function of its arguments)."""
    purpose = pay_purpose(name)
    text = payload(bank_bin, account, service, price, purpose)
    memo = f"&purpose={quote(purpose)}" if purpose else ""
    return f"/s/{slug}/qr.png?amount={price}{memo}&v={render.version(text)}"


@functools.lru_cache(maxsize=8192)
def payload(bank_bin: str, account: str, service: str, amount: int | None, purpose: str | None) -> str:
    """A VietQR payload (pure, so kept: the same account and price give the same text)."""
    return encode(
        VietQR(
            bank_bin=bank_bin,
            account=account,
            service=service,  # type: ignore[arg-type]
            amount=amount,
            purpose=purpose,
            static=amount is None and purpose is None,
        )
    )


def _view(rows: list[Any]) -> PublicStorefront:
    first = rows[0]
    account = None
    if first.bank_bin is not None:
        bank = banks.by_bin(first.bank_bin)
        static = payload(first.bank_bin, first.account, first.service, None, None)
        account = AccountView(
            bank_bin=first.bank_bin,
            account=first.account,
            service=first.service,
            bank_name=bank.short_name if bank else first.bank_bin,
            holder_name=first.holder_name,
            account_masked=mask_account(first.account),
            payload=static,
            version=render.version(static),
        )
    products = []
    for row in rows:
        if row.product_id is None:
            continue
        product = ProductView(
            id=row.product_id,
            name=row.product_name,
            price=row.price,
            price_text=price_text(row.price),
            unit=row.unit,
            available=row.available,
            position=row.position,
            thumb=image_view(row.image_id, row.thumb_width, row.thumb_height, "thumb"),
            photo=image_view(row.image_id, row.image_width, row.image_height, "display"),
        )
        if account is not None and row.available:
            product.pay_url = pay_url(
                first.slug, first.bank_bin, first.account, first.service, row.price, row.product_name
            )
        products.append(product)
    cover = image_view(first.cover_id, first.cover_width, first.cover_height, "display")
    if cover is None:
        cover = next((p.photo for p in products if p.photo is not None), None)
    hours = msgspec.json.decode(first.hours or "{}")
    shown_phone = first.contact_phone if (first.contact_call or first.contact_zalo) else None
    links = msgspec.json.decode(first.links or "{}")
    return PublicStorefront(
        storefront_id=first.id,
        merchant_id=first.merchant_id,
        slug=first.slug,
        business_name=first.business_name,
        category=first.category,
        headline=first.headline,
        description=first.description,
        market=first.market,
        stall=first.stall,
        location_note=first.location_note,
        commune_name=first.commune_name,
        province_name=first.province_name,
        map_url=first.map_url,
        phone_display=format_phone(shown_phone) if shown_phone else None,
        tel=shown_phone if first.contact_call else None,
        zalo=zalo_url(shown_phone) if shown_phone and first.contact_zalo else None,
        hours=[
            HoursView(day, *(hours[day] or (None, None)))  # type: ignore[arg-type]
            for day in DAYS
            if day in hours
        ],
        links=[LinkView(kind, LINK_KINDS[kind][0], links[kind]) for kind in LINK_KINDS if kind in links],
        products=products,
        account=account,
        cover=cover,
    )


# --- rendering ------------------------------------------------------------------------------------


def page_url(public_url: str, slug: str) -> str:
    return f"{public_url}/s/{slug}"


def json_ld(s: PublicStorefront, *, public_url: str) -> Markup:
    """schema.org LocalBusiness with an Offer per product, safe inside <script>: every `<`, `>` and
    `&` is a JSON escape, so a name holding `</script>` cannot end the element."""
    url = page_url(public_url, s.slug)
    street = ", ".join(x for x in (s.market, s.stall, s.location_note) if x)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LocalBusiness",
        "@id": url,
        "name": s.business_name,
        "url": url,
        "address": {
            "@type": "PostalAddress",
            **({"streetAddress": street} if street else {}),
            "addressLocality": s.commune_name,
            "addressRegion": s.province_name,
            "addressCountry": "VN",
        },
        "currenciesAccepted": "VND",
        "paymentAccepted": "Cash, VietQR",
    }
    if s.headline or s.description:
        data["description"] = s.headline or s.description
    if s.cover:
        data["image"] = public_url + s.cover.jpg
    if s.tel:
        data["telephone"] = s.tel
    if s.map_url:
        data["hasMap"] = s.map_url
    if s.links:
        data["sameAs"] = [link.url for link in s.links]
    opening = [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": f"https://schema.org/{SCHEMA_DAYS[h.day]}",
            "opens": h.opens,
            "closes": h.closes,
        }
        for h in s.hours
        if h.opens
    ]
    if opening:
        data["openingHoursSpecification"] = opening
    data["makesOffer"] = [
        {
            "@type": "Offer",
            "price": str(p.price),
            "priceCurrency": "VND",
            "availability": "https://schema.org/InStock" if p.available else "https://schema.org/SoldOut",
            "itemOffered": {"@type": "Product", "name": p.name},
        }
        for p in s.products
    ]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def etag_for(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def render_page(env: Environment, s: PublicStorefront, *, public_url: str, locale: str) -> Page:
    url = page_url(public_url, s.slug)
    body = (
        env.get_template(TEMPLATE)
        .render(
            s=s,
            url=url,
            share_version=render.version(url),
            jsonld=json_ld(s, public_url=public_url),
            locale=locale,
            categories=CATEGORY_NAMES,
            day_names=DAY_NAMES,
        )
        .encode()
    )
    return Page(body=body, etag=etag_for(body))
