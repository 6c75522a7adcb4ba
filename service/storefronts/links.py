"""Trader edit links: a private address (`/t/{token}`) a volunteer gives the trader as a QR code.

With it the trader changes prices, marks items sold out, adds a product with a photo and sets the
opening hours; nothing else. The token is 256 random bits, shown once; the database keeps only its
HMAC under the app's secret key, so neither a copy of the table nor of the logs opens a storefront.
A link expires, and the team revokes it whenever they like. The trader has no account: their
changes are audited without an actor, naming the link.
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, NotFound
from service.i18n import N_, gettext
from service.merchants.models import Merchant
from service.payments import checkins
from service.payments.checkins import CheckinService
from service.payments.models import PaymentCheckin
from service.storefronts import validation
from service.storefronts.models import EditLink, StoredImage, Storefront
from service.storefronts.services import StorefrontService
from service.vietnam import local_date

LIFETIMES = (7, 30, 90)  # days a volunteer may choose
DEFAULT_LIFETIME = 30
TRADER_FIELDS = N_("Liên kết này chỉ dùng để sửa giá, báo hết hàng, thêm sản phẩm và giờ mở cửa.")


class LinkUnusable(DomainError):
    """A link that does not open anything (any more): unknown, revoked or expired."""

    status_code = 410

    def __init__(self, state: Literal["unknown", "revoked", "expired"], link: EditLink | None = None):
        super().__init__(N_("Liên kết sửa gian hàng không còn dùng được."))
        self.state = state
        self.link = link
        if state == "unknown":
            self.status_code = 404


class NotAllowed(DomainError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__(TRADER_FIELDS)


def token_hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def link_url(public_url: str, token: str) -> str:
    return f"{public_url}/t/{token}"


class EditLinkService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.storefronts = StorefrontService(session)

    # --- the team's side -----------------------------------------------------------------------

    async def create(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, days: int, secret: str, at: datetime
    ) -> tuple[EditLink, str]:
        """A new link and its token (the only time the token exists outside the trader's phone)."""
        if days not in LIFETIMES:
            raise FieldErrors([("days", gettext("Giá trị không hợp lệ."))])
        m = await self.storefronts.editable(by=by, merchant_id=merchant_id)
        sf = await self.storefronts.ensure(merchant=m, by=by, at=at)
        token = secrets.token_urlsafe(32)
        link = EditLink(
            id=uuid.uuid4(),
            storefront_id=sf.id,
            token_hash=token_hash(secret, token),
            created_at=at,
            created_by_id=by.id,
            expires_at=at + timedelta(days=days),
        )
        self.session.add(link)
        await self.session.flush()
        await self.storefronts.audit(
            sf,
            "create",
            {"edit_link_id": [None, str(link.id)], "expires_at": [None, link.expires_at.isoformat()]},
            actor=by,
            at=at,
        )
        return link, token

    async def of_merchant(self, *, by: CurrentUser, merchant_id: uuid.UUID, link_id: uuid.UUID) -> EditLink:
        m = await self.storefronts.editable(by=by, merchant_id=merchant_id)
        sf = await self.storefronts.of_merchant(m.id)
        link = await self.session.get(EditLink, link_id)
        if sf is None or link is None or link.storefront_id != sf.id:
            raise NotFound()
        return link

    async def reissue(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, link_id: uuid.UUID, secret: str, at: datetime
    ) -> tuple[EditLink, str]:
        """A link shown once cannot be shown again (only its hash is kept): this revokes it and
        makes a new one for as many days as the old one was given."""
        old = await self.revoke(by=by, merchant_id=merchant_id, link_id=link_id, at=at)
        days = min(LIFETIMES, key=lambda d: abs(d - (old.expires_at - old.created_at).days))
        return await self.create(by=by, merchant_id=merchant_id, days=days, secret=secret, at=at)

    async def revoke(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, link_id: uuid.UUID, at: datetime
    ) -> EditLink:
        link = await self.of_merchant(by=by, merchant_id=merchant_id, link_id=link_id)
        if link.revoked_at is None:
            link.revoked_at, link.revoked_by_id = at, by.id
            sf = await self.session.get(Storefront, link.storefront_id)
            assert sf is not None
            await self.storefronts.audit(
                sf,
                "update",
                {"edit_link_id": [str(link.id), str(link.id)], "revoked_at": [None, at.isoformat()]},
                actor=by,
                at=at,
            )
        return link

    # --- the trader's side ---------------------------------------------------------------------

    async def open(self, *, token: str, secret: str, now: datetime) -> tuple[EditLink, Storefront, Merchant]:
        """What a token opens, or LinkUnusable saying why not."""
        if not 20 <= len(token) <= 100:
            raise LinkUnusable("unknown")
        link = await self.session.scalar(
            select(EditLink).where(EditLink.token_hash == token_hash(secret, token))
        )
        if link is None:
            raise LinkUnusable("unknown")
        if link.revoked_at is not None:
            raise LinkUnusable("revoked", link)
        if link.expires_at <= now:
            raise LinkUnusable("expired", link)
        sf = await self.session.get(Storefront, link.storefront_id)
        merchant = await self.session.get(Merchant, sf.merchant_id) if sf else None
        if sf is None or merchant is None or merchant.deleted_at or merchant.merged_into_id:
            raise LinkUnusable("unknown")
        return link, sf, merchant

    async def update_products(self, *, token: str, secret: str, form: Mapping[str, Any], at: datetime) -> int:
        """Prices and availability from the trader's list: fields `price-<id>` and `available-<id>`
        for products shown on the page; any other field is refused (NotAllowed)."""
        link, sf, merchant = await self.open(token=token, secret=secret, now=at)
        products = {str(p.id): p for p in await self.storefronts.products(sf.id)}
        updates: dict[uuid.UUID, dict[str, Any]] = {}
        errors: list[tuple[str, str]] = []
        for key in form:
            field, _, product_id = key.partition("-")
            if field not in ("price", "available", "listed") or product_id not in products:
                raise NotAllowed()
        for product_id, product in products.items():
            if f"listed-{product_id}" not in form:
                continue  # not on the page the trader sent (added by the team meanwhile)
            values: dict[str, Any] = {"available": validation.flag(form.get(f"available-{product_id}"))}
            if f"price-{product_id}" in form:
                price = validation.price(form[f"price-{product_id}"], errors, field=f"price-{product_id}")
                if price is not None:
                    values["price"] = price
            updates[product.id] = values
        if errors:
            raise FieldErrors(errors)
        link.last_used_at = at
        return await self.storefronts.product_updates(
            actor=link, merchant=merchant, storefront=sf, updates=updates, at=at
        )

    async def add_product(
        self,
        *,
        token: str,
        secret: str,
        form: Mapping[str, Any],
        image: StoredImage | None,
        at: datetime,
    ) -> None:
        link, sf, merchant = await self.open(token=token, secret=secret, now=at)
        if set(form) - {*validation.PRODUCT_FIELDS, "image"}:
            raise NotAllowed()
        link.last_used_at = at
        await self.storefronts.add_product(
            actor=link, merchant=merchant, storefront=sf, values=form, image=image, at=at
        )

    async def set_hours(self, *, token: str, secret: str, form: Mapping[str, Any], at: datetime) -> bool:
        link, sf, merchant = await self.open(token=token, secret=secret, now=at)
        allowed = {f"hours_{day}_{part}" for day in validation.DAYS for part in ("open", "close", "closed")}
        if set(form) - allowed:
            raise NotAllowed()
        errors: list[tuple[str, str]] = []
        hours = validation.hours(form, errors)
        if errors:
            raise FieldErrors(errors)
        link.last_used_at = at
        return await self.storefronts.set_hours(
            actor=link, merchant=merchant, storefront=sf, hours=hours, at=at
        )

    async def checkin(
        self, *, token: str, secret: str, form: Mapping[str, Any], at: datetime
    ) -> PaymentCheckin:
        """The trader's answer to the weekly question, for this week (Vietnam's calendar); answering
        again this week replaces it. Recorded as the trader's (no user)."""
        link, _, merchant = await self.open(token=token, secret=secret, now=at)
        if set(form) - {"answer"}:
            raise NotAllowed()
        answer = form.get("answer")
        if answer not in checkins.ANSWERS:
            raise FieldErrors([("answer", gettext("Hãy chọn một câu trả lời."))])
        link.last_used_at = at
        row, _ = await CheckinService(self.session).record(
            merchant_id=merchant.id, answer=answer, source="trader", day=local_date(at), at=at, by=None
        )
        return row
