from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import managers, requires_user
from service.errors import DomainError, Forbidden
from service.i18n import gettext
from service.places.schemas import CommuneOut, ProvinceOut, VillageForm, VillageOut
from service.places.services import PlaceService
from service.web import Form, flash, parse_form


class AreasApi(Controller):
    """Reference data for the tablet forms. Provinces and communes are public national data."""

    path = "/api/v1/areas"
    tags = ["areas"]

    @get("/provinces", name="api.areas.provinces", cache=3600)
    async def provinces(self, db_session: NamedDependency[AsyncSession]) -> list[ProvinceOut]:
        return await PlaceService(db_session).provinces()

    @get("/provinces/{code:str}/communes", name="api.areas.communes")
    async def communes(
        self,
        db_session: NamedDependency[AsyncSession],
        code: FromPath[str],
        q: Annotated[str, Parameter(max_length=100)] = "",
    ) -> list[CommuneOut]:
        return await PlaceService(db_session).communes(province_code=code, query=q)

    @get("/communes/{code:str}/villages", name="api.areas.villages", guards=[requires_user])
    async def villages(
        self, db_session: NamedDependency[AsyncSession], code: FromPath[str]
    ) -> list[VillageOut]:
        return await PlaceService(db_session).villages(commune_code=code)


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
