"""Targets: an officer's goal for an area ("60% of merchants at or past `qr_active` by 2026-12-31").
Summaries show the progress against them (`SummaryService._targets`)."""

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden, NotFound
from service.i18n import gettext
from service.onboarding.stages import StageCode, local_date
from service.reports.models import Target
from service.reports.summaries import SummaryService

SETTERS = ("commune_officer", "province_officer", "admin")
ENTITY = "report_target"


class TargetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    stage: StageCode
    share_percent: Annotated[int, msgspec.Meta(ge=1, le=100)]
    due_on: date
    area: str | None = None  # a province or commune code; none: the caller's whole jurisdiction


class TargetService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def set(self, *, by: CurrentUser, data: TargetIn, at: datetime) -> Target:
        """Set (or change) the target for an area, stage and date; setting it again replaces it."""
        if by.role not in SETTERS:
            raise Forbidden()
        if data.stage == "registered":
            raise FieldErrors([("stage", gettext("Mọi hộ đã đăng ký đều đạt bước này; hãy chọn bước sau."))])
        if data.due_on < local_date(at):
            raise FieldErrors([("due_on", gettext("Hạn đạt chỉ tiêu đã qua."))])
        place = await SummaryService(self.session).resolve(by=by, area=data.area)
        area = place.code or ""
        values = {
            "id": uuid.uuid4(),
            "area": area,
            "province_code": place.province_code,
            "commune_code": place.commune_code,
            "stage": data.stage,
            "share_percent": data.share_percent,
            "due_on": data.due_on,
            "set_by_id": by.id,
            "set_at": at,
        }
        table = Target.__table__
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        await self.session.execute(
            insert.values(values).on_conflict_do_update(
                index_elements=[table.c.area, table.c.stage, table.c.due_on],
                set_={"share_percent": data.share_percent, "set_by_id": by.id, "set_at": at},
            )
        )
        target = await self.session.scalar(
            select(Target).where(
                Target.area == area, Target.stage == data.stage, Target.due_on == data.due_on
            )
        )
        assert target is not None
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=target.id,
            action="set",
            actor_id=by.id,
            at=at,
            changes={
                "area": [None, area],
                "stage": [None, data.stage],
                "share_percent": [None, data.share_percent],
                "due_on": [None, data.due_on.isoformat()],
            },
            province_code=place.province_code,
        )
        return target

    async def remove(self, *, by: CurrentUser, target_id: uuid.UUID, at: datetime) -> None:
        target = await self.session.get(Target, target_id)
        if (
            target is None
            or not by.scope.allows_area(province_code=target.province_code, commune_code=target.commune_code)
            or (target.area == "" and by.scope.level != "all")
        ):
            raise NotFound()
        if by.role not in SETTERS:
            raise Forbidden()
        await self.session.execute(delete(Target).where(Target.id == target_id))
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=target_id,
            action="delete",
            actor_id=by.id,
            at=at,
            changes={"share_percent": [target.share_percent, None]},
            province_code=target.province_code,
        )
