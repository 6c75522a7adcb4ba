"""The merchants behind a dashboard figure: who uses QR now, who holds a QR code without using it
(for fewer than 30 days, or 30 days and more), who has a storefront online.

Onboarding owns the held stages (`merchant_stages`), so the lists live here; the reports area links
to them and the merchants area knows nothing of them. Each list is SQL over the caller's
jurisdiction (`MerchantService.where_visible`), narrowed to one area (a province, a commune, a
village or a team) that the caller may see, and counts the same merchants as the report counters:
live merchants holding the stage now, ages in Vietnamese calendar days (`stages.days_ago`).
"""

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.accounts.models import Team
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden
from service.i18n import N_, gettext
from service.merchants.models import Merchant
from service.merchants.search import CursorError, decode_cursor, encode_cursor
from service.merchants.services import MerchantService
from service.onboarding import stages
from service.onboarding.models import MerchantStage
from service.places.models import Commune, Province, Village

Figure = Literal["using_qr", "qr_held_not_used", "qr_just_started", "installed_not_using", "listed"]
# figure → (title msgid, the stage whose holding date the list shows, what that date means)
FIGURES: dict[str, tuple[str, str, str]] = {
    "using_qr": (N_("Đang dùng QR"), "qr_active", N_("Dùng QR từ")),
    "qr_held_not_used": (N_("Có QR nhưng chưa dùng"), "qr_issued", N_("Có mã QR từ")),
    "qr_just_started": (
        N_("Có QR nhưng chưa dùng: mới bắt đầu (< 30 ngày)"),
        "qr_issued",
        N_("Có mã QR từ"),
    ),
    "installed_not_using": (
        N_("Có QR nhưng chưa dùng: đã lâu chưa dùng (≥ 30 ngày)"),
        "qr_issued",
        N_("Có mã QR từ"),
    ),
    "listed": (N_("Gian hàng trực tuyến"), "listed", N_("Có gian hàng từ")),
}
PAGE_SIZE = 50


class FigureItem(msgspec.Struct, kw_only=True):
    merchant_id: uuid.UUID
    business_name: str
    market: str | None
    stall: str | None
    current_stage: str
    since: datetime  # when the merchant began to hold the figure's stage


class FigureList(msgspec.Struct, kw_only=True):
    figure: Figure
    title: str
    since_label: str
    area_name: str | None  # None: the caller's whole jurisdiction
    total: int
    items: list[FigureItem]
    next_cursor: str | None = None


class AreaFilter(msgspec.Struct, frozen=True, kw_only=True):
    """One area a list is narrowed to, as the dashboard names it."""

    area: str | None = None  # a province (2 digits) or commune (5 digits) code
    village: uuid.UUID | None = None
    team: uuid.UUID | None = None

    def query(self) -> dict[str, str]:
        if self.team is not None:
            return {"team": self.team.hex}
        if self.village is not None:
            return {"village": self.village.hex}
        return {"area": self.area} if self.area else {}


def holds(
    stage: str, *, before: datetime | None = None, since: datetime | None = None
) -> ColumnElement[bool]:
    """The merchant holds the stage now (and began to hold it before or since a moment)."""
    held = aliased(MerchantStage)
    conditions = [held.merchant_id == Merchant.id, held.stage == stage]
    if before is not None:
        conditions.append(held.reached_at < before)
    if since is not None:
        conditions.append(held.reached_at >= since)
    return exists().where(*conditions).correlate(Merchant)


def figure_condition(figure: Figure, now: datetime) -> ColumnElement[bool]:
    """The figure as a condition on a merchant row: the counters' rule, in SQL."""
    if figure == "using_qr":
        return holds("qr_active")
    if figure == "listed":
        return holds("listed")
    cut = stages.days_ago(now, stages.INSTALLED_NOT_USING_AFTER)
    qr_issued = {
        "qr_held_not_used": holds("qr_issued"),
        "qr_just_started": holds("qr_issued", since=cut),
        "installed_not_using": holds("qr_issued", before=cut),
    }[figure]
    return and_(qr_issued, ~holds("qr_active"))


class FigureListService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def _area(
        self, by: CurrentUser, where: AreaFilter
    ) -> tuple[ColumnElement[bool] | None, str | None]:
        """The condition for the area and its name; 403 outside the caller's jurisdiction, 422 when
        there is no such area."""
        scope = by.scope
        if where.team is not None:
            team = (
                await self.session.execute(
                    select(Team.name, Team.province_code, Team.commune_code).where(Team.id == where.team)
                )
            ).one_or_none()
            if team is None:
                raise FieldErrors([("team", gettext("Không có tổ này."))])
            if not scope.allows_area(province_code=team.province_code, commune_code=team.commune_code) or (
                scope.level == "team" and where.team != by.team_id
            ):
                raise Forbidden()
            return Merchant.team_id == where.team, team.name
        if where.village is not None:
            village = (
                await self.session.execute(
                    select(Village.name, Village.province_code, Village.commune_code).where(
                        Village.id == where.village
                    )
                )
            ).one_or_none()
            if village is None:
                raise FieldErrors([("village", gettext("Không có thôn, tổ dân phố này."))])
            if not scope.allows_area(province_code=village.province_code, commune_code=village.commune_code):
                raise Forbidden()
            return Merchant.village_id == where.village, village.name
        if not where.area:
            return None, None
        if len(where.area) == 2 and (province := await self.session.get(Province, where.area)) is not None:
            if not scope.allows_area(province_code=province.code):
                raise Forbidden()
            return Merchant.province_code == province.code, province.name
        if len(where.area) == 5 and (commune := await self.session.get(Commune, where.area)) is not None:
            if not scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
                raise Forbidden()
            return Merchant.commune_code == commune.code, commune.name
        raise FieldErrors([("area", gettext("Mã tỉnh/thành phố hoặc xã/phường không tồn tại."))])

    async def merchants(
        self,
        *,
        by: CurrentUser,
        figure: Figure,
        now: datetime,
        where: AreaFilter,
        cursor: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> FigureList:
        """The merchants behind one figure, in the area (or the caller's jurisdiction), by name."""
        in_area, area_name = await self._area(by, where)
        conditions = [MerchantService(self.session).where_visible(by), figure_condition(figure, now)]
        if in_area is not None:
            conditions.append(in_area)
        total = await self.session.scalar(select(func.count()).select_from(Merchant).where(*conditions))
        if cursor:
            try:
                key, last_id = decode_cursor(cursor, "name")
            except CursorError as exc:
                raise FieldErrors([("cursor", gettext("Giá trị không hợp lệ."))]) from exc
            conditions.append(
                or_(Merchant.name_fold > key, and_(Merchant.name_fold == key, Merchant.id > last_id))
            )
        title, stage, since_label = FIGURES[figure]
        rows = (
            await self.session.execute(
                select(
                    Merchant.id,
                    Merchant.business_name,
                    Merchant.market,
                    Merchant.stall,
                    Merchant.current_stage,
                    Merchant.name_fold,
                    MerchantStage.reached_at,
                )
                .join(
                    MerchantStage,
                    and_(MerchantStage.merchant_id == Merchant.id, MerchantStage.stage == stage),
                )
                .where(*conditions)
                .order_by(Merchant.name_fold, Merchant.id)
                .limit(limit + 1)
            )
        ).all()
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor("name", (rows[-1].name_fold, rows[-1].id))
        return FigureList(
            figure=figure,
            title=gettext(title),
            since_label=gettext(since_label),
            area_name=area_name,
            total=total or 0,
            items=[
                FigureItem(
                    merchant_id=row.id,
                    business_name=row.business_name,
                    market=row.market,
                    stall=row.stall,
                    current_stage=row.current_stage,
                    since=row.reached_at,
                )
                for row in rows
            ],
            next_cursor=next_cursor,
        )
