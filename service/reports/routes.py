"""Reports over JSON: the summary of an area with its sub-areas, and targets."""

import uuid

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.reports.summaries import Summary, SummaryService
from service.reports.targets import TargetIn, TargetService
from service.web import utcnow

_ERRORS = {
    403: ResponseSpec(None, description="The area is outside the caller's jurisdiction"),
    422: ResponseSpec(None, description='`{"errors": [{"field", "message"}]}`: unknown area'),
}


class ReportsApi(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [requires_user]

    @get("/summary", name="api.reports.summary", responses=_ERRORS)
    async def summary(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
    ) -> Summary:
        """Every figure of an area — `area` a province or commune code, `village` or `team` an id,
        none of them: the caller's whole jurisdiction (a team's members: their team) — and the same
        figures for each sub-area in `children` (a commune's teams in `teams_list`). Exact at the
        moment of the request."""
        return await SummaryService(db_session).summary(
            by=request.user, now=utcnow(), area=area or None, village=village, team=team
        )

    @post("/targets", name="api.reports.targets", status_code=201, responses=_ERRORS)
    async def set_target(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[TargetIn]
    ) -> dict[str, object]:
        """Set a target for an area: `share_percent` of its merchants at or past `stage` by
        `due_on`. Setting the same area, stage and date again replaces the share."""
        target = await TargetService(db_session).set(by=request.user, data=data, at=utcnow())
        return {
            "id": target.id,
            "area": target.area,
            "stage": target.stage,
            "share_percent": target.share_percent,
            "due_on": target.due_on,
        }

    @delete("/targets/{target_id:uuid}", name="api.reports.target", status_code=204)
    async def remove_target(
        self, request: Request, db_session: NamedDependency[AsyncSession], target_id: FromPath[uuid.UUID]
    ) -> None:
        await TargetService(db_session).remove(by=request.user, target_id=target_id, at=utcnow())
