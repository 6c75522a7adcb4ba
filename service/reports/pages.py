"""Officer dashboards as tablet pages: the summary of an area with charts and tables, drill-down to
its sub-areas, targets, every table as CSV or XLSX, and the teams' feedback."""

import re
import uuid
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter
from litestar.response import Redirect, Template
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import officers, requires_role, requires_user
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors
from service.i18n import gettext
from service.onboarding.stages import STAGES, StageCode, local_date
from service.reports import charts, exports
from service.reports.exports import LEVEL_NAMES
from service.reports.feedback import (
    HANDLED_NOTE_MAX,
    HANDLERS,
    NOTE_MAX,
    PAGE_SIZE,
    REPORTERS,
    STATUS_NAMES,
    TOPICS,
    FeedbackIn,
    FeedbackService,
    Topic,
    parse_area,
)
from service.reports.headline import area_query, headline, merchant_list, number
from service.reports.summaries import (
    NO_VILLAGE,
    Area,
    Figures,
    Summary,
    SummaryService,
    TargetProgress,
    is_behind,
)
from service.reports.targets import SETTERS, TargetIn, TargetService
from service.text import vi_sort_key
from service.web import Form, clean_form, flash, parse_form, utcnow

_AREA = re.compile(r"^(\d{2}|\d{5})?$")
TARGET_STAGES = [s for s in STAGES if s.code != "registered"]


def _month(month: str) -> str:
    """A chart label: 2026-05 as 05/26, short enough for twelve side by side."""
    return f"{month[5:]}/{month[2:4]}"


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def dashboard_url(level: str, code: str | None) -> str | None:
    """The dashboard of an area, or None where there is none (a commune's merchants without village)."""
    if level == "country":
        return "/reports"
    if not code or code.endswith(NO_VILLAGE):
        return None
    key = {"province": "area", "commune": "area", "village": "village", "team": "team"}[level]
    return f"/reports?{key}={code}"


def _is_jurisdiction(by: CurrentUser, place: Area) -> bool:
    """Whether the area is all the caller sees, so unfiltered lists (the worklist) show just it."""
    scope = by.scope
    return (
        (scope.level == "all" and place.level == "country")
        or (scope.level == "province" and place.level == "province" and place.code == by.province_code)
        or (scope.level == "commune" and place.level == "commune" and place.code == by.commune_code)
        or (
            scope.level == "team"
            and place.level == "team"
            and by.team_id is not None
            and place.code == by.team_id.hex
        )
    )


class Row(Struct, kw_only=True):
    """A row of a sub-area or team table, with what the page needs beside the figures."""

    f: Figures
    rank: int  # the row's place in Vietnamese alphabetical order of names, for sorting by name
    empty: bool  # every figure is zero: hidden until "show all"
    behind: bool  # below at least one target


def table_rows(rows: list[Figures], targets: list[TargetProgress], *, behind: bool) -> list[Row]:
    ranks = {id(f): n for n, f in enumerate(sorted(rows, key=lambda f: vi_sort_key(f.name)))}
    return [
        Row(
            f=f,
            rank=ranks[id(f)],
            empty=not (f.merchants or f.teams or f.members or f.active_volunteers),
            behind=behind and is_behind(f, targets),
        )
        for f in rows
    ]


def _allows(by: CurrentUser, place: Area, level: str, code: str | None) -> bool:
    """Whether the caller may open an area above `place` (a breadcrumb link)."""
    if level == "country" or by.scope.level == "team":  # teams see their own page only
        return by.scope.level == "all"
    return by.scope.allows_area(
        province_code=place.province_code, commune_code=code if level == "commune" else None
    )


def _feedback_area(place: Area) -> dict[str, str | None]:
    if place.level == "province":
        return {"province_code": place.code, "commune_code": None}
    if place.level == "country":
        return {"province_code": None, "commune_code": None}
    return {"province_code": None, "commune_code": place.commune_code}


class TargetForm(Struct, kw_only=True, forbid_unknown_fields=False):
    stage: StageCode
    share_percent: int
    due_on: date


def _target_in(values: dict[str, Any], area: str) -> tuple[TargetIn | None, dict[str, str]]:
    form, errors = parse_form(values, TargetForm)
    if form is not None and not 1 <= form.share_percent <= 100:
        errors = {"share_percent": gettext("Tỷ lệ phải từ 1 đến 100.")}
    if form is None or errors:
        return None, errors
    return TargetIn(
        stage=form.stage, share_percent=form.share_percent, due_on=form.due_on, area=area or None
    ), {}


async def _context(
    session: AsyncSession, by: CurrentUser, summary: Summary, place: Area, *, show_all: bool = False
) -> dict[str, Any]:
    merchants = summary.merchants
    stages = [
        {
            "code": s.code,
            "name": gettext(s.name),
            "current": summary.by_stage.get(s.code, 0),
            "share": percent(summary.by_stage.get(s.code, 0), merchants),
            "reached": summary.reached.get(s.code, 0),
            "reached_share": percent(summary.reached.get(s.code, 0), merchants),
        }
        for s in STAGES
    ]
    months = list(summary.new_by_month)
    trend = [
        {
            "month": m,
            "visits": summary.visits_by_month.get(m, 0),
            "new": summary.new_by_month.get(m, 0),
            "checkins": summary.checkins_by_month.get(m, 0),
            "views": summary.storefront_views_by_month.get(m, 0),
            "qr_fetches": summary.qr_fetches_by_month.get(m, 0),
        }
        for m in months
    ]
    list_url = merchant_list(by, place)
    worklist = None
    if _is_jurisdiction(by, place):
        worklist = "/worklist?team=1" if by.scope.level == "team" else "/worklist"
    feedback = await FeedbackService(session).counts(by, **_feedback_area(place))
    feedback_url = "/reports/feedback"
    if place.level in ("province", "commune"):
        feedback_url += f"?area={place.code}"
    elif place.level in ("village", "team"):
        feedback_url += f"?area={place.commune_code}"
    query = urlencode(area_query(place))
    return {
        "s": summary,
        "h": headline(summary, place, by=by),
        "children": table_rows(summary.children, summary.targets, behind=True),
        "teams": table_rows(summary.teams_list, summary.targets, behind=False),
        "show_all": show_all,
        "place": place,
        "level_name": gettext(LEVEL_NAMES[place.level]),
        "stages": stages,
        "trend": trend,
        "charts": {
            "stages": charts.bar_chart(
                [(row["name"], row["current"]) for row in stages],
                title=gettext("Tiểu thương theo giai đoạn hiện tại"),
            ),
            "funnel": charts.funnel(
                [(row["name"], row["reached"]) for row in stages],
                total=merchants,
                title=gettext("Tỷ lệ từng đạt mỗi giai đoạn"),
            ),
            "visits": charts.trend(
                [(_month(row["month"]), row["visits"]) for row in trend],
                title=gettext("Lượt thăm theo tháng"),
            ),
            "new": charts.trend(
                [(_month(row["month"]), row["new"]) for row in trend],
                title=gettext("Tiểu thương mới theo tháng"),
            ),
            "checkins": charts.trend(
                [(_month(row["month"]), row["checkins"]) for row in trend],
                title=gettext("Câu trả lời hằng tuần về khách trả bằng QR, theo tháng"),
            ),
            "views": charts.trend(
                [(_month(row["month"]), row["views"]) for row in trend],
                title=gettext("Lượt xem gian hàng trực tuyến theo tháng"),
            ),
        },
        "stage_codes": [s.code for s in STAGES],
        "stage_names": {s.code: s.name for s in STAGES},
        "target_stages": TARGET_STAGES,
        "can_set_targets": by.role in SETTERS and place.level in ("country", "province", "commune"),
        "list_url": list_url,
        "list_sep": "&" if list_url and not list_url.endswith("?") else "",
        "worklist": worklist,
        "feedback": feedback,
        "feedback_url": feedback_url,
        "topics": TOPICS,
        "url": dashboard_url,
        "allows": lambda level, code: _allows(by, place, level, code),
        "query": query,
        "number": number,
        "today": local_date(summary.as_of).isoformat(),
    }


class ReportPages(Controller):
    path = "/reports"
    guards = [requires_user]

    async def _render(
        self,
        request: Request,
        session: AsyncSession,
        *,
        area: str | None = None,
        village: uuid.UUID | None = None,
        team: uuid.UUID | None = None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        show_all: bool = False,
    ) -> Template:
        reports = SummaryService(session)
        place = await reports.resolve(by=request.user, area=area, village=village, team=team)
        summary = await reports.of(place, now=utcnow())
        context = await _context(session, request.user, summary, place, show_all=show_all)
        context["values"] = values or {"stage": "qr_active", "share_percent": "", "due_on": ""}
        context["errors"] = errors or {}
        return Template("reports/dashboard.html.j2", context=context, status_code=status)

    @get("/", name="reports.dashboard")
    async def dashboard(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
        show_all: Annotated[bool, QueryParameter(name="all")] = False,
    ) -> Template:
        """The dashboard; `all=1` shows the sub-areas without any figure too (a switch does it in
        place when scripts run)."""
        return await self._render(
            request, db_session, area=area or None, village=village, team=team, show_all=show_all
        )

    @post("/targets", name="reports.target_set")
    async def set_target(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        values = clean_form(data)
        area = str(values.get("area") or "")
        if not _AREA.match(area):
            raise FieldErrors([("area", gettext("Mã địa bàn không hợp lệ."))])
        target, errors = _target_in(values, area)
        if target is not None:
            try:
                await TargetService(db_session).set(by=request.user, data=target, at=utcnow())
            except FieldErrors as exc:
                errors = dict(exc.errors)
        if errors:
            return await self._render(
                request, db_session, area=area or None, values=values, errors=errors, status=422
            )
        flash(request, gettext("Đã lưu chỉ tiêu."), "success")
        back = request.app.route_reverse("reports.dashboard") + (f"?area={area}" if area else "")
        return Redirect(back, status_code=303)

    @post("/targets/{target_id:uuid}/delete", name="reports.target_delete")
    async def delete_target(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        target_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Redirect:
        area = str(clean_form(data).get("area") or "")
        await TargetService(db_session).remove(by=request.user, target_id=target_id, at=utcnow())
        flash(request, gettext("Đã xóa chỉ tiêu."), "success")
        back = request.app.route_reverse("reports.dashboard")
        if area and _AREA.match(area):
            back += f"?area={area}"
        return Redirect(back, status_code=303)

    async def _export(
        self,
        request: Request,
        session: AsyncSession,
        fmt: Literal["csv", "xlsx"],
        table: exports.Table,
        area: str | None,
        village: uuid.UUID | None,
        team: uuid.UUID | None,
    ) -> Response[bytes]:
        reports = SummaryService(session)
        place = await reports.resolve(by=request.user, area=area or None, village=village, team=team)
        summary = await reports.of(place, now=utcnow())
        headers, rows = exports.table_rows(summary, table)
        if fmt == "csv":
            body, media_type = exports.csv_bytes(headers, rows), exports.CSV_TYPE
        else:
            body, media_type = await exports.xlsx_bytes(headers, rows, sheet=table), exports.XLSX_TYPE
        name = exports.filename(summary, table, fmt)
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @get("/export.csv", name="reports.export_csv")
    async def export_csv(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        table: FromQuery[exports.Table],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
    ) -> Response[bytes]:
        return await self._export(request, db_session, "csv", table, area, village, team)

    @get("/export.xlsx", name="reports.export_xlsx")
    async def export_xlsx(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        table: FromQuery[exports.Table],
        area: FromQuery[str | None] = None,
        village: FromQuery[uuid.UUID | None] = None,
        team: FromQuery[uuid.UUID | None] = None,
    ) -> Response[bytes]:
        return await self._export(request, db_session, "xlsx", table, area, village, team)


reporters = requires_role(*REPORTERS)


class FeedbackForm(Struct, kw_only=True, forbid_unknown_fields=False):
    id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    topic: Topic | None = None
    note: Annotated[str, Meta(max_length=NOTE_MAX)] | None = None


def _labels() -> dict[str, Any]:
    return {
        "topics": TOPICS,
        "statuses": STATUS_NAMES,
        "note_max": NOTE_MAX,
        "handled_note_max": HANDLED_NOTE_MAX,
    }


class FeedbackPages(Controller):
    path = "/reports/feedback"
    guards = [requires_user]

    @get("/", name="reports.feedback_list")
    async def list_feedback(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        status: Annotated[str, Parameter(pattern="^(open|handled|all)$")] = "open",
        area: Annotated[str | None, Parameter(max_length=5)] = None,
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    ) -> Template:
        feedback = FeedbackService(db_session)
        where = parse_area(area or None)
        page = await feedback.list(
            request.user,
            **where,
            status=status,  # type: ignore[arg-type]
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
        counts = await feedback.counts(request.user, **where)
        return Template(
            "reports/feedback_list.html.j2",
            context={
                "page": page,
                "counts": counts,
                "status": status,
                "area": area or "",
                "can_handle": request.user.role in HANDLERS,
                "can_report": request.user.role in REPORTERS,
                **_labels(),
            },
        )

    @get("/new", name="reports.feedback_new", guards=[reporters])
    async def new(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        values = {"id": str(uuid.uuid4()), "village_id": "", "topic": "", "note": ""}
        return await self._form(request, db_session, values=values, errors={})

    @post("/new", name="reports.feedback_create", guards=[reporters])
    async def create(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        values = clean_form(data)
        form, errors = parse_form(values, FeedbackForm)
        if form is not None:
            feedback = FeedbackIn(id=form.id, village_id=form.village_id, topic=form.topic, note=form.note)
            try:
                _, replayed = await FeedbackService(db_session).create(
                    by=request.user, data=feedback, at=utcnow()
                )
            except FieldErrors as exc:
                errors = dict(exc.errors)
        if errors:
            return await self._form(request, db_session, values=values, errors=errors, status=422)
        if replayed:
            flash(request, gettext("Phản ánh này đã được gửi trước đó."), "info")
        else:
            flash(request, gettext("Đã gửi phản ánh tới cơ quan quản lý."), "success")
        return Redirect(request.app.route_reverse("reports.feedback_list"), status_code=303)

    async def _form(
        self,
        request: Request,
        db: AsyncSession,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        villages = await FeedbackService(db).villages_for(by=request.user)
        return Template(
            "reports/feedback_new.html.j2",
            context={"values": values, "errors": errors, "villages": villages, **_labels()},
            status_code=status,
        )

    @post("/{feedback_id:uuid}/handled", name="reports.feedback_handle", guards=[officers])
    async def handle(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        feedback_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Redirect:
        values = clean_form(data)
        back = request.app.route_reverse("reports.feedback_list")
        status = values.get("status")
        if status in STATUS_NAMES:
            back += f"?status={status}"
        try:
            _, changed = await FeedbackService(db_session).handle(
                by=request.user, feedback_id=feedback_id, note=values.get("note") or None, at=utcnow()
            )
        except FieldErrors as exc:
            flash(request, "; ".join(message for _, message in exc.errors), "error")
            return Redirect(back, status_code=303)
        if changed:
            flash(request, gettext("Đã đánh dấu phản ánh là đã xử lý."), "success")
        else:
            flash(request, gettext("Phản ánh này đã được xử lý trước đó."), "info")
        return Redirect(back, status_code=303)
