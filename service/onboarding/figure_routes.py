"""The merchants behind a dashboard figure, as a page and as JSON (`onboarding.figures`):
`/lists/{figure}?area=<code>|village=<id>|team=<id>`, the caller's jurisdiction without an area."""

import uuid
from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.onboarding.figures import AreaFilter, Figure, FigureList, FigureListService
from service.onboarding.schemas import template_labels
from service.web import utcnow

Cursor = Annotated[str | None, Parameter(max_length=400)]


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
