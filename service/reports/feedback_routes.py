"""The feedback channel over JSON (tablets) and as tablet pages: teams report, officers handle."""

import re
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Redirect, Template
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import officers, requires_role, requires_user
from service.errors import FieldErrors
from service.i18n import gettext
from service.reports.feedback import (
    HANDLED_NOTE_MAX,
    HANDLERS,
    NOTE_MAX,
    REPORTERS,
    STATUS_NAMES,
    TOPICS,
    FeedbackIn,
    FeedbackOut,
    FeedbackPage,
    FeedbackService,
    HandleIn,
    Status,
    Topic,
)
from service.web import Form, clean_form, flash, parse_form, utcnow

PAGE_SIZE = 25
reporters = requires_role(*REPORTERS)
_AREA = re.compile(r"^(\d{2}|\d{5})$")


def _area(area: str | None) -> dict[str, str | None]:
    """`area` is a province code (2 digits) or a commune code (5 digits)."""
    if not area:
        return {"province_code": None, "commune_code": None}
    if not _AREA.match(area):
        raise FieldErrors([("area", gettext("Mã địa bàn không hợp lệ."))])
    return (
        {"province_code": area, "commune_code": None}
        if len(area) == 2
        else {
            "province_code": None,
            "commune_code": area,
        }
    )


# --- JSON API ------------------------------------------------------------------------------------


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
            request.user, **_area(area), status=status, cursor=cursor, limit=limit
        )

    @get("/counts", name="api.reports.feedback_counts")
    async def counts(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        area: Annotated[str | None, Parameter(max_length=5, description="A province or commune code")] = None,
    ) -> dict[str, dict[str, int]]:
        """Open and handled reports per topic within the caller's jurisdiction."""
        return await FeedbackService(db_session).counts(request.user, **_area(area))

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


# --- tablet pages --------------------------------------------------------------------------------


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
        where = _area(area or None)
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


route_handlers = [FeedbackApi, FeedbackPages]
