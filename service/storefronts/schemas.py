"""What the storefront templates get: view Structs built by the services, never ORM rows."""

import uuid
from datetime import datetime
from typing import Any

from msgspec import Struct

from service.i18n import N_

STOREFRONT_FIELD_LABELS = {
    "headline": N_("Giới thiệu ngắn"),
    "description": N_("Mô tả"),
    "location_note": N_("Chỉ đường thêm"),
    "map_url": N_("Liên kết bản đồ"),
    "contact_phone": N_("Số điện thoại liên hệ"),
    "contact_call": N_("Nút gọi điện"),
    "contact_zalo": N_("Nút nhắn Zalo"),
    "hours": N_("Giờ mở cửa"),
    "links": N_("Gian hàng trên sàn"),
    "published": N_("Công khai"),
    "slug": N_("Địa chỉ trang"),
    "cover_image_id": N_("Ảnh bìa"),
    "name": N_("Tên sản phẩm"),
    "price": N_("Giá"),
    "unit": N_("Đơn vị"),
    "available": N_("Còn hàng"),
    "image_id": N_("Ảnh"),
    "position": N_("Thứ tự"),
}


class ImageView(Struct, frozen=True, kw_only=True):
    webp: str  # path under the site, e.g. /media/ab/ab…-thumb.webp
    jpg: str
    width: int
    height: int


class ProductView(Struct, kw_only=True):
    id: uuid.UUID
    name: str
    price: int
    price_text: str  # "25.000 ₫"
    unit: str | None
    available: bool
    position: int
    thumb: ImageView | None = None
    photo: ImageView | None = None  # the display variant (cover, editor)
    # Its "pay this amount" QR (amount and memo; `v` makes the URL determine the image).
    pay_url: str | None = None


class HoursView(Struct, frozen=True):
    day: str
    opens: str | None  # None: closed that day
    closes: str | None


class LinkView(Struct, frozen=True):
    kind: str
    label: str
    url: str


class AccountView(Struct, frozen=True, kw_only=True):
    bank_bin: str
    account: str  # in full: the QR carries it anyway; the page shows it masked
    service: str
    bank_name: str
    holder_name: str
    account_masked: str
    payload: str  # the static stall QR
    version: str


class PublicStorefront(Struct, kw_only=True):
    """Everything the public page, its images and its JSON-LD show; fetched by one query."""

    storefront_id: uuid.UUID
    merchant_id: uuid.UUID
    slug: str
    business_name: str
    category: str
    headline: str | None
    description: str | None
    market: str | None
    stall: str | None
    location_note: str | None
    commune_name: str
    province_name: str
    map_url: str | None
    phone_display: str | None  # only when the trader chose a contact button
    tel: str | None
    zalo: str | None
    hours: list[HoursView]
    links: list[LinkView]
    products: list[ProductView]
    account: AccountView | None
    cover: ImageView | None


class DirectoryItem(Struct, kw_only=True):
    slug: str
    business_name: str
    headline: str | None
    market: str | None
    commune_name: str
    province_name: str
    thumb: ImageView | None


class Option(Struct, frozen=True):
    value: str
    label: str


class DirectoryPage(Struct, kw_only=True):
    items: list[DirectoryItem]
    total: int
    page: int
    pages: int
    q: str
    province: str | None
    commune: str | None
    market: str | None
    provinces: list[Option]
    communes: list[Option]
    markets: list[Option]


class EditLinkView(Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    created_by_name: str | None
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool


class EditorView(Struct, kw_only=True):
    """The volunteer's storefront page for one merchant."""

    merchant_id: uuid.UUID
    business_name: str
    exists: bool
    slug: str | None
    published: bool
    consent: bool  # the trader agreed to a public storefront
    can_edit: bool
    values: dict[str, Any]  # the storefront's fields as form values
    products: list[ProductView]
    links: list[EditLinkView]
    cover: ImageView | None
    public_url: str | None


class StorefrontSection(Struct, kw_only=True):
    """The storefront part of the merchant page."""

    exists: bool
    published: bool
    slug: str | None
    products: int
    consent: bool


class TeamStorefront(Struct, kw_only=True):
    """One trader in the team's list of storefronts (the staff menu's "Gian hàng")."""

    merchant_id: uuid.UUID
    business_name: str
    market: str | None
    stall: str | None
    slug: str | None  # None: no storefront yet
    published: bool
    public_url: str | None
    products: int


class TeamStorefronts(Struct, kw_only=True):
    items: list[TeamStorefront]
    published: int  # on this page
    page: int
    has_next: bool
