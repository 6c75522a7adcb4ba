"""Administrative units (read-only national data) and villages (created per commune)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.schemas import CurrentUser
from service.accounts.scope import Scope
from service.errors import DomainError, Forbidden, NotFound
from service.i18n import N_
from service.places.models import Commune, Province, Village
from service.places.schemas import AreaNames, CommuneOut, ProvinceOut, VillageOut
from service.text import fold, nfc, vi_sort_key


class VillageExists(DomainError):
    status_code = 409


class PlaceService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def provinces(self) -> list[ProvinceOut]:
        rows = await self.session.scalars(select(Province))
        out = [ProvinceOut(code=p.code, name=p.name, full_name=p.full_name, kind=p.kind) for p in rows]
        return sorted(out, key=lambda p: vi_sort_key(p.name))

    async def communes(self, *, province_code: str, query: str = "", limit: int = 500) -> list[CommuneOut]:
        """Communes of a province whose folded name contains the folded query (accent-insensitive)."""
        if await self.session.get(Province, province_code) is None:
            raise NotFound()
        stmt = select(Commune).where(Commune.province_code == province_code)
        if key := fold(query):
            stmt = stmt.where(Commune.name_fold.contains(key, autoescape=True))
        rows = await self.session.scalars(stmt.limit(limit))
        out = [_commune_out(c) for c in rows]
        return sorted(out, key=lambda c: vi_sort_key(c.name))

    async def communes_in_scope(self, *, scope: Scope) -> list[CommuneOut]:
        stmt = select(Commune).where(scope.where(province=Commune.province_code, commune=Commune.code))
        if scope.level == "team":
            stmt = select(Commune).where(Commune.code == scope.commune_code)
        rows = await self.session.scalars(stmt)
        return sorted((_commune_out(c) for c in rows), key=lambda c: vi_sort_key(c.name))

    async def commune(self, *, code: str) -> CommuneOut:
        row = await self.session.get(Commune, code)
        if row is None:
            raise NotFound()
        return _commune_out(row)

    async def area_names(self, *, province_code: str | None, commune_code: str | None) -> AreaNames:
        province = await self.session.get(Province, province_code) if province_code else None
        commune = await self.session.get(Commune, commune_code) if commune_code else None
        return AreaNames(
            province_code=province_code,
            province_name=province.full_name if province else None,
            commune_code=commune_code,
            commune_name=commune.full_name if commune else None,
        )

    async def villages(self, *, commune_code: str) -> list[VillageOut]:
        rows = await self.session.scalars(select(Village).where(Village.commune_code == commune_code))
        out = [VillageOut(id=v.id, name=v.name, kind=v.kind, commune_code=v.commune_code) for v in rows]
        return sorted(out, key=lambda v: vi_sort_key(v.name))

    async def create_village(
        self, *, by: CurrentUser, commune_code: str, name: str, kind: str, at: datetime
    ) -> Village:
        commune = await self.session.get(Commune, commune_code)
        if commune is None:
            raise NotFound()
        if by.role not in (
            "team_leader",
            "commune_officer",
            "province_officer",
            "admin",
        ) or not by.scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
            raise Forbidden()
        name = nfc(name)
        existing = await self.session.scalar(
            select(Village.id).where(Village.commune_code == commune_code, Village.name_fold == fold(name))
        )
        if existing:
            raise VillageExists(N_("Thôn/tổ dân phố này đã có trong danh sách."), field="name")
        village = Village(
            province_code=commune.province_code,
            commune_code=commune_code,
            name=name,
            name_fold=fold(name),
            kind=kind,
            created_at=at,
        )
        self.session.add(village)
        await self.session.flush()
        return village


def _commune_out(c: Commune) -> CommuneOut:
    return CommuneOut(
        code=c.code, name=c.name, full_name=c.full_name, kind=c.kind, province_code=c.province_code
    )
