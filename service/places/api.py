"""Provinces, communes and villages over JSON (reference data for forms and tablets)."""

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.places.schemas import CommuneOut, ProvinceOut, VillageOut
from service.places.services import PlaceService


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
