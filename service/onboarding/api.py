"""Onboarding over JSON: tablets sync stage events and visits; worklists, timelines, team progress and
the merchants behind a report figure."""

import uuid

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import managers, requires_user
from service.onboarding.figures import AreaFilter, Figure, FigureList, FigureListService
from service.onboarding.overview import OverviewService
from service.onboarding.schemas import (
    Cursor,
    StageEventIn,
    StageResult,
    TeamProgress,
    Timeline,
    VisitIn,
    VisitOut,
    Worklist,
)
from service.onboarding.services import OnboardingService
from service.web import replay_response, utcnow

_ERRORS = {
    404: ResponseSpec(None, description="No such merchant, or outside the caller's jurisdiction"),
    403: ResponseSpec(None, description="The caller's role may not record this"),
    422: ResponseSpec(None, description='`{"errors": [{"field", "message"}]}`: missing evidence, bad values'),
}


class OnboardingApi(Controller):
    path = "/api/v1"
    tags = ["onboarding"]
    guards = [requires_user]

    @post(
        "/merchants/{merchant_id:uuid}/stage-events",
        name="api.onboarding.stage_events",
        status_code=201,
        responses={200: ResponseSpec(StageResult, description="Already held: nothing added"), **_ERRORS},
    )
    async def record_stage(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[StageEventIn],
    ) -> Response[StageResult]:
        """Record a stage reached (with its evidence) or stopped (`regressed`, with a reason); team
        leaders send `verified`, or `rejected` with a reason, for a volunteer's claim. Events are
        placed by `occurred_at`, however late they arrive. The same `client_event_id` again gets
        the first answer (same status and body, header `Idempotent-Replayed: true`)."""
        result, replayed = await OnboardingService(db_session).record_stage(
            by=request.user, merchant_id=merchant_id, data=data, at=utcnow()
        )
        return replay_response(result, replayed=replayed)  # type: ignore[return-value]

    @post(
        "/merchants/{merchant_id:uuid}/visits",
        name="api.onboarding.visits",
        status_code=201,
        responses=_ERRORS,
    )
    async def record_visit(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[VisitIn],
    ) -> Response[VisitOut]:
        """Record a support visit. `next_follow_up` becomes the merchant's next follow-up when this
        is its latest visit. The same `client_event_id` again gets the first answer."""
        visit, replayed = await OnboardingService(db_session).record_visit(
            by=request.user, merchant_id=merchant_id, data=data, at=utcnow()
        )
        return Response(visit, status_code=201, headers={"Idempotent-Replayed": "true"} if replayed else {})

    @get("/merchants/{merchant_id:uuid}/timeline", name="api.onboarding.timeline")
    async def timeline(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Timeline:
        return await OverviewService(db_session).timeline(by=request.user, merchant_id=merchant_id)

    @get("/worklist", name="api.onboarding.worklist")
    async def worklist(
        self, request: Request, db_session: NamedDependency[AsyncSession], mine: FromQuery[bool | None] = None
    ) -> Worklist:
        """Follow-ups due today or overdue, traders who may have stopped using QR (their two latest
        weekly answers, in consecutive weeks, say no customer paid by QR), QR codes issued 30+ days
        ago and not in use, merchants without a payment account, and merchants stalled 60+ days at
        one stage. Volunteers get their share by default (`mine=false`: the whole team, with who
        takes each)."""
        return await OverviewService(db_session).worklist(by=request.user, now=utcnow(), mine=mine)

    @get("/teams/{team_id:uuid}/progress", name="api.onboarding.team_progress", guards=[managers])
    async def team_progress(
        self, request: Request, db_session: NamedDependency[AsyncSession], team_id: FromPath[uuid.UUID]
    ) -> TeamProgress:
        return await OverviewService(db_session).team_progress(by=request.user, team_id=team_id, now=utcnow())


class FigureListApi(Controller):
    path = "/api/v1/lists"
    tags = ["onboarding"]
    guards = [requires_user]

    @get("/{figure:str}", name="api.onboarding.figure_list")
    async def figure_list(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        figure: FromPath[Figure],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
        cursor: FromQuery[Cursor] = None,
    ) -> FigureList:
        """The merchants behind a report figure, by name, 50 at a time: `using_qr` (holding
        `qr_active`), `qr_held_not_used` (holding `qr_issued`, not `qr_active`), split into
        `qr_just_started` (for fewer than 30 days) and `installed_not_using` (30 days or more), and
        `listed`. `total` equals the figure of the report summary for the same area."""
        return await FigureListService(db_session).merchants(
            by=request.user,
            figure=figure,
            now=utcnow(),
            where=AreaFilter(area=area or None, village=village, team=team),
            cursor=cursor or None,
        )
