"""Onboarding pages: the worklist, the visit and stage forms, the merchant timeline, the team leader's
page, and the merchants behind a dashboard figure (`/lists/{figure}`)."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import managers, requires_user
from service.errors import FieldErrors
from service.i18n import gettext
from service.merchants.schemas import STAGE_NAMES
from service.merchants.services import MerchantService
from service.onboarding import stages
from service.onboarding.figures import AreaFilter, Figure, FigureListService
from service.onboarding.overview import OverviewService
from service.onboarding.schemas import (
    ClientEventId,
    Cursor,
    Note,
    Outcome,
    StageEventIn,
    Topic,
    VisitIn,
    template_labels,
)
from service.onboarding.services import RECORDERS, OnboardingService, form_moment
from service.onboarding.stages import local_date
from service.payments import checkins
from service.payments.checkins import CheckinService
from service.payments.schemas import CheckinAnswer
from service.web import Form, clean_form, flash, parse_form, safe_next, utcnow


def _many(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value in (None, ""):
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


class VisitForm(Struct, kw_only=True, forbid_unknown_fields=False):
    client_event_id: ClientEventId
    visited_on: date
    minutes: Annotated[int, Meta(ge=1, le=600)]
    topics: list[Topic] = []
    outcome: Outcome
    note: Note | None = None
    next_follow_up: date | None = None
    checkin: CheckinAnswer | None = None  # the weekly question, asked at the visit


class StageForm(Struct, kw_only=True, forbid_unknown_fields=False):
    client_event_id: ClientEventId
    stage: stages.StageCode
    kind: Literal["reached", "regressed"] = "reached"
    note: Note | None = None
    link: Annotated[str, Meta(max_length=500)] | None = None
    visit_on: date | None = None
    customer_payments_7d: Annotated[int, Meta(ge=0, le=100_000)] | None = None


class OnboardingPages(Controller):
    guards = [requires_user]

    @get("/worklist", name="onboarding.worklist")
    async def worklist(
        self, request: Request, db_session: NamedDependency[AsyncSession], team: FromQuery[bool] = False
    ) -> Template:
        mine = False if team else None
        work = await OverviewService(db_session).worklist(by=request.user, now=utcnow(), mine=mine)
        return Template("onboarding/worklist.html.j2", context={"work": work, **template_labels()})

    @get("/merchants/{merchant_id:uuid}/timeline", name="onboarding.timeline")
    async def timeline(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        overview = OverviewService(db_session)
        timeline = await overview.timeline(by=request.user, merchant_id=merchant_id)
        signals = await overview.signals(by=request.user, merchant_id=merchant_id, now=utcnow())
        return Template(
            "onboarding/timeline.html.j2", context={"t": timeline, "signals": signals, **template_labels()}
        )

    # visits

    @get("/merchants/{merchant_id:uuid}/visits/new", name="onboarding.visit_form")
    async def visit_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        next: FromQuery[str | None] = None,
    ) -> Template:
        values = {
            "client_event_id": str(uuid.uuid4()),
            "visited_on": local_date(utcnow()).isoformat(),
            "topics": [],
            "next": safe_next(next) or "",
        }
        return await self._visit_page(request, db_session, merchant_id, values=values, errors={})

    @post("/merchants/{merchant_id:uuid}/visits/new", name="onboarding.visit_create")
    async def visit_create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        values = {**clean_form(data), "topics": _many(data, "topics")}
        form, errors = parse_form(values, VisitForm)
        if form is not None:
            now = utcnow()
            visit = VisitIn(
                client_event_id=form.client_event_id,
                occurred_at=form_moment(form.visited_on, now=now),
                visited_on=form.visited_on,
                minutes=form.minutes,
                topics=form.topics,
                outcome=form.outcome,
                note=form.note,
                next_follow_up=form.next_follow_up,
            )
            try:
                await OnboardingService(db_session).record_visit(
                    by=request.user, merchant_id=merchant_id, data=visit, at=now
                )
                if form.checkin is not None:  # the trader's answer, as the team's for the visit's week
                    await CheckinService(db_session).record_for(
                        by=request.user,
                        merchant_id=merchant_id,
                        answer=form.checkin,
                        day=form.visited_on,
                        at=now,
                    )
            except FieldErrors as exc:
                errors = dict(exc.errors)
        if errors:
            return await self._visit_page(
                request, db_session, merchant_id, values=values, errors=errors, status=422
            )
        flash(request, gettext("Đã ghi lần thăm."), "success")
        return _back(request, values, merchant_id)

    async def _visit_page(
        self,
        request: Request,
        db: AsyncSession,
        merchant_id: uuid.UUID,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        merchants = MerchantService(db)
        merchant = merchants.out(
            await merchants.get(by=request.user, merchant_id=merchant_id), by=request.user
        )
        trader_answer = await CheckinService(db).answer_of_week(
            merchant_id=merchant.id, day=local_date(utcnow()), source="trader"
        )
        return Template(
            "onboarding/visit.html.j2",
            context={
                "m": merchant,
                "values": values,
                "errors": errors,
                "trader_answer": trader_answer.answer if trader_answer else None,
                **template_labels(),
            },
            status_code=status,
        )

    # stages

    @get("/merchants/{merchant_id:uuid}/stages/new", name="onboarding.stage_form")
    async def stage_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        stage: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Template:
        values = {
            "client_event_id": str(uuid.uuid4()),
            "stage": stage if stage in STAGE_NAMES else "",
            "kind": "regressed" if kind == "regressed" else "reached",
            "visit_on": local_date(utcnow()).isoformat(),
            "next": safe_next(next) or "",
        }
        return await self._stage_page(request, db_session, merchant_id, values=values, errors={})

    @post("/merchants/{merchant_id:uuid}/stages/new", name="onboarding.stage_create")
    async def stage_create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        values = clean_form(data)
        form, errors = parse_form(values, StageForm)
        result = None
        if form is not None:
            event = StageEventIn(
                client_event_id=form.client_event_id,
                occurred_at=utcnow(),
                stage=form.stage,
                kind=form.kind,
                note=form.note,
                link=form.link,
                visit_on=form.visit_on,
                customer_payments_7d=form.customer_payments_7d,
            )
            try:
                result, _ = await OnboardingService(db_session).record_stage(
                    by=request.user, merchant_id=merchant_id, data=event, at=event.occurred_at
                )
            except FieldErrors as exc:
                errors = dict(exc.errors)
        if errors or result is None:
            return await self._stage_page(
                request, db_session, merchant_id, values=values, errors=errors, status=422
            )
        if result.status_code == 201:
            flash(
                request,
                gettext("Đã ghi nhận: {stage}.", stage=gettext(STAGE_NAMES[values["stage"]])),
                "success",
            )
        else:
            flash(request, gettext("Giai đoạn này đã được ghi nhận trước đó; không ghi thêm."), "info")
        return _back(request, values, merchant_id)

    async def _stage_page(
        self,
        request: Request,
        db: AsyncSession,
        merchant_id: uuid.UUID,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        merchant, ladder = await OverviewService(db).ladder(by=request.user, merchant_id=merchant_id)
        stage = stages.BY_CODE.get(values.get("stage") or "")
        if stage is not None and values.get("kind") != "regressed" and not stage.claimable:
            stage = None  # recorded by the system only: show the ladder instead
        support = None
        if stage is not None and stage.code == "qr_active" and values.get("kind") != "regressed":
            # The trader's latest "customers paid by QR" answer: support for the claim, not proof.
            latest = await CheckinService(db).latest_paid(merchant_id=merchant.id)
            support = checkins.out(latest) if latest else None
        return Template(
            "onboarding/stage.html.j2",
            context={
                "m": merchant,
                "ladder": ladder,
                "stage": stage,
                "support": support,
                "values": values,
                "errors": errors,
                "can_record": request.user.role in RECORDERS,
                **template_labels(),
            },
            status_code=status,
        )

    @post("/merchants/{merchant_id:uuid}/stages/{stage:str}/review", name="onboarding.review")
    async def review(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        stage: FromPath[str],
        data: Form,
    ) -> Redirect:
        values = clean_form(data)
        verify = values.get("decision") == "verify"
        target = safe_next(values.get("next")) or request.app.route_reverse(
            "onboarding.timeline", merchant_id=merchant_id
        )
        if stage not in STAGE_NAMES:
            flash(request, gettext("Giá trị không hợp lệ."), "error")
            return Redirect(target, status_code=303)
        event = StageEventIn(
            client_event_id=str(values.get("client_event_id") or uuid.uuid4())[:64],
            occurred_at=utcnow(),
            stage=stage,  # type: ignore[arg-type]
            kind="verified" if verify else "rejected",
            note=values.get("reason") or None,
        )
        try:
            await OnboardingService(db_session).record_stage(
                by=request.user, merchant_id=merchant_id, data=event, at=event.occurred_at
            )
        except FieldErrors as exc:
            flash(request, "; ".join(message for _, message in exc.errors), "error")
            return Redirect(target, status_code=303)
        name = gettext(STAGE_NAMES[stage])
        if verify:
            flash(request, gettext("Đã xác minh: {stage}.", stage=name), "success")
        else:
            flash(request, gettext("Đã trả lại: {stage}. Người khai sẽ thấy lý do.", stage=name), "success")
        return Redirect(target, status_code=303)

    # the team leader's page

    @get("/teams/{team_id:uuid}/progress", name="onboarding.team_progress", guards=[managers])
    async def team_progress(
        self, request: Request, db_session: NamedDependency[AsyncSession], team_id: FromPath[uuid.UUID]
    ) -> Template:
        overview, now = OverviewService(db_session), utcnow()
        progress = await overview.team_progress(by=request.user, team_id=team_id, now=now)
        signals = await overview.team_signals(by=request.user, team_id=team_id, now=now)
        return Template(
            "onboarding/team.html.j2",
            context={
                "p": progress,
                "signals": signals,
                "new_id": lambda: str(uuid.uuid4()),
                **template_labels(),
            },
        )


def _back(request: Request, values: dict[str, Any], merchant_id: uuid.UUID) -> Redirect:
    target = safe_next(values.get("next")) or request.app.route_reverse(
        "onboarding.timeline", merchant_id=merchant_id
    )
    return Redirect(target, status_code=303)


class FigureListPages(Controller):
    path = "/lists"
    guards = [requires_user]

    @get("/{figure:str}", name="onboarding.figure_list")
    async def figure_list(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        figure: FromPath[Figure],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
        cursor: FromQuery[Cursor] = None,
    ) -> Template:
        where = AreaFilter(area=area or None, village=village, team=team)
        found = await FigureListService(db_session).merchants(
            by=request.user, figure=figure, now=utcnow(), where=where, cursor=cursor or None
        )
        return Template(
            "onboarding/figure_list.html.j2",
            context={"found": found, "query": urlencode(where.query()), **template_labels()},
        )
