"""The device's data over JSON (`GET /api/v1/device/data`), for search and forms on a tablet without a
connection."""

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.offline.schemas import DeviceData
from service.offline.services import device_data


class DeviceApi(Controller):
    path = "/api/v1/device"
    tags = ["device"]
    guards = [requires_user]

    @get("/data", name="api.device.data")
    async def data(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Response[DeviceData]:
        """What a tablet keeps for working offline: the caller's communes, villages and markets,
        kinds, categories, stages, banks, and the caller's team's traders (no ID numbers; phones only
        for roles that see them). Empty trader list for users without a team."""
        out = await device_data(db_session, request.user)
        return Response(out, headers={"Cache-Control": "no-store"})
