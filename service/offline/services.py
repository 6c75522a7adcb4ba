"""Building a device's data, scoped like every list."""

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.schemas import CurrentUser
from service.i18n import gettext
from service.merchants.privacy import display_phone, visibility
from service.merchants.schemas import CATEGORY_NAMES, KIND_NAMES, STAGE_NAMES, MerchantFilters
from service.merchants.services import MerchantService
from service.offline.schemas import DeviceBank, DeviceCommune, DeviceData, DeviceTrader, DeviceVillage
from service.payments import banks as bank_directory
from service.places.services import PlaceService
from service.web import utcnow

MAX_TRADERS = 5000  # a team's traders; a device is not the place for a commune's whole list


PAGE = 100


async def device_data(db: AsyncSession, user: CurrentUser) -> DeviceData:
    places = PlaceService(db)
    communes = await places.communes_in_scope(scope=user.scope) if user.team_id else []
    if user.commune_code and not communes:
        communes = [await places.commune(code=user.commune_code)]
    villages = [v for c in communes for v in await places.villages(commune_code=c.code)]
    traders: list[DeviceTrader] = []
    truncated = False
    if user.team_id is not None:  # a team's traders; officers' areas are too large for a tablet
        merchants = MerchantService(db)
        filters = MerchantFilters(team_id=user.team_id, sort="name")
        cursor = None
        while True:
            page = await merchants.search(by=user, filters=filters, cursor=cursor, limit=PAGE)
            for m in page.items:
                seen = visibility(user, team_id=m.team_id)
                traders.append(
                    DeviceTrader(
                        id=m.id,
                        version=m.version,
                        business_name=m.business_name,
                        owner_name=m.owner_name,
                        owner_phone=display_phone(m.owner_phone, seen) if seen.phone else None,
                        kind=m.kind,
                        category=m.category,
                        commune_code=m.commune_code,
                        village_id=m.village_id,
                        market=m.market,
                        stall=m.stall,
                        current_stage=m.current_stage,
                        next_follow_up=m.next_follow_up.isoformat() if m.next_follow_up else None,
                    )
                )
            cursor = page.next_cursor
            if cursor is None:
                break
            if len(traders) >= MAX_TRADERS:
                truncated = True
                break
    return DeviceData(
        user_id=user.id,
        fetched_at=utcnow().isoformat(),
        communes=[DeviceCommune(code=c.code, name=c.full_name) for c in communes],
        villages=[DeviceVillage(id=v.id, name=v.name, commune_code=v.commune_code) for v in villages],
        markets=sorted({t.market for t in traders if t.market}),
        kinds={k: gettext(v) for k, v in KIND_NAMES.items()},
        categories={k: gettext(v) for k, v in CATEGORY_NAMES.items()},
        stages={k: gettext(v) for k, v in STAGE_NAMES.items()},
        banks=[DeviceBank(bin=b.bin, short_name=b.short_name, name=b.full_name) for b in receiving_banks()],
        traders=traders,
        truncated=truncated,
    )


def receiving_banks() -> list[bank_directory.Bank]:
    found = [b for b in bank_directory.all_banks() if b.receives_transfers]
    return sorted(found, key=lambda b: b.short_name.casefold())
