"""Reports over JSON: the summary of an area with its sub-areas, targets, and the teams' feedback."""

import uuid
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.reports.feedback import (
    PAGE_SIZE,
    FeedbackIn,
    FeedbackOut,
    FeedbackPage,
    FeedbackService,
    HandleIn,
    Status,
    parse_area,
)
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


class FeedbackApi(Controller):
    path = "/api/v1/reports/feedback"
    tags = ["reports"]
    guards = [requires_user]

    @post(
        "/",
        name="api.reports.feedback_create",
        status_code=201,
        responses={
            200: ResponseSpec(FeedbackOut, description="Sent again with the same `id`: the first record"),
            403: ResponseSpec(None, description="Only volunteers and team leaders report"),
            409: ResponseSpec(None, description="The `id` belongs to another report"),
            422: ResponseSpec(None, description='`{"errors": [{"field", "message"}]}`'),
        },
    )
    async def create(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[FeedbackIn]
    ) -> Response[FeedbackOut]:
        """A team reports a problem or need for one of its villages, or (without `village_id`) for
        its commune. Safe to retry with the same `id`: the first record comes back with 200."""
        out, replayed = await FeedbackService(db_session).create(by=request.user, data=data, at=utcnow())
        return Response(
            out,
            status_code=200 if replayed else 201,
            headers={"Idempotent-Replayed": "true"} if replayed else {},
        )

    @get("/", name="api.reports.feedback_list")
    async def list_feedback(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        area: Annotated[str | None, Parameter(max_length=5, description="A province or commune code")] = None,
        status: FromQuery[Status] = "open",
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = PAGE_SIZE,
    ) -> FeedbackPage:
        """Reports within the caller's jurisdiction, newest first; cursor pagination."""
        return await FeedbackService(db_session).list(
            request.user, **parse_area(area), status=status, cursor=cursor, limit=limit
        )

    @get("/counts", name="api.reports.feedback_counts")
    async def counts(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        area: Annotated[str | None, Parameter(max_length=5, description="A province or commune code")] = None,
    ) -> dict[str, dict[str, int]]:
        """Open and handled reports per topic within the caller's jurisdiction."""
        return await FeedbackService(db_session).counts(request.user, **parse_area(area))

    @post(
        "/{feedback_id:uuid}/handled",
        name="api.reports.feedback_handle",
        status_code=200,
        responses={
            403: ResponseSpec(None, description="Only officers mark reports handled"),
            404: ResponseSpec(None, description="No such report, or outside the caller's jurisdiction"),
        },
    )
    async def handle(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        feedback_id: FromPath[uuid.UUID],
        data: JSONBody[HandleIn | None] = None,
    ) -> FeedbackOut:
        """Mark a report handled. Again later: nothing changes (the first time and note stay)."""
        out, _ = await FeedbackService(db_session).handle(
            by=request.user, feedback_id=feedback_id, note=data.note if data else None, at=utcnow()
        )
        return out
