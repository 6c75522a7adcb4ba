"""The villages of a commune: the list, and adding one (officers of the commune)."""

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import managers
from service.errors import DomainError, Forbidden
from service.i18n import gettext
from service.places.schemas import VillageForm
from service.places.services import PlaceService
from service.web import Form, flash, parse_form


class VillagePages(Controller):
    path = "/places/communes/{code:str}/villages"
    guards = [managers]

    @get("/", name="places.villages")
    async def list(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> Template:
        return await self._page(request, db_session, code, values={}, errors={})

    @post("/", name="places.villages_create")
    async def create(
        self, request: Request, db_session: NamedDependency[AsyncSession], code: FromPath[str], data: Form
    ) -> Template | Redirect:
        form, errors = parse_form(data, VillageForm)
        if form is not None:
            try:
                await PlaceService(db_session).create_village(
                    by=request.user, commune_code=code, name=form.name, kind=form.kind, at=datetime.now(UTC)
                )
            except DomainError as exc:
                if not exc.field:
                    raise
                errors = {exc.field: exc.text()}
        if errors:
            return await self._page(request, db_session, code, values=data, errors=errors, status_code=422)
        flash(request, gettext("Đã thêm thôn/tổ dân phố."), "success")
        return Redirect(request.app.route_reverse("places.villages", code=code), status_code=303)

    async def _page(
        self, request: Request, db: AsyncSession, code: FromPath[str], **context: Any
    ) -> Template:
        places = PlaceService(db)
        commune = await places.commune(code=code)
        if not request.user.scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
            raise Forbidden()
        status = context.pop("status_code", 200)
        villages = await places.villages(commune_code=code)
        return Template(
            "places/villages.html.j2",
            context={"commune": commune, "villages": villages, **context},
            status_code=status,
        )
