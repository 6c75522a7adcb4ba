"""What a tablet needs to keep working without a connection.

- `/sw.js`: the service worker, served from the site root so that it controls the staff pages.
- `POST /device/token`: a bearer token for the signed-in page session; the outbox sends with it
  (the API refuses the session cookie for writes, which carry no CSRF token).
- `GET /api/v1/device/data`: the reference lists and the team's traders, for search and forms on
  the device; scoped like every list, without ID numbers, phones only where the role sees them.
- `/outbox`: the list of what waits on the device (drawn by the page's script from IndexedDB).
- `/offline/forms/…`: the visit, stage, payment account and QR photo forms without a trader, which the
  service worker shows for a trader the tablet has not opened online (one registered offline).
"""

import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.i18n import gettext
from service.merchants.privacy import display_phone, visibility
from service.merchants.schemas import CATEGORY_NAMES, KIND_NAMES, STAGE_NAMES, MerchantFilters
from service.merchants.services import MerchantService
from service.onboarding import stages
from service.onboarding.schemas import StageStatus, template_labels
from service.onboarding.services import RECORDERS
from service.onboarding.stages import local_date
from service.payments import banks as bank_directory
from service.payments.schemas import BankOut
from service.places.services import PlaceService
from service.web import utcnow

SERVICE_WORKER = Path(__file__).parent.parent / "static" / "js" / "sw.js"
NO_TRADER = uuid.UUID(int=0)  # the shells' placeholder, replaced on the device by the trader's id
NO_NAME = "…"
MAX_TRADERS = 5000  # a team's traders; a device is not the place for a commune's whole list
PAGE = 100


class DeviceTrader(Struct, kw_only=True):
    id: uuid.UUID
    version: int
    business_name: str
    owner_name: str
    owner_phone: str | None  # formatted, only for readers who see phones
    kind: str
    category: str
    commune_code: str
    village_id: uuid.UUID | None
    market: str | None
    stall: str | None
    current_stage: str
    next_follow_up: str | None


class DeviceVillage(Struct):
    id: uuid.UUID
    name: str
    commune_code: str


class DeviceCommune(Struct):
    code: str
    name: str


class DeviceBank(Struct):
    bin: str
    short_name: str
    name: str


class DeviceData(Struct, kw_only=True):
    user_id: uuid.UUID
    fetched_at: str
    communes: list[DeviceCommune]
    villages: list[DeviceVillage]
    markets: list[str]
    kinds: dict[str, str]
    categories: dict[str, str]
    stages: dict[str, str]
    banks: list[DeviceBank]
    traders: list[DeviceTrader]
    truncated: bool


class DeviceToken(Struct):
    token: str
    expires_at: str
    user_id: uuid.UUID


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
        banks=[DeviceBank(bin=b.bin, short_name=b.short_name, name=b.full_name) for b in _receiving_banks()],
        traders=traders,
        truncated=truncated,
    )


@get("/sw.js", name="offline.service_worker", include_in_schema=False, cache_control=None)
async def service_worker() -> Response[bytes]:
    """From the root, so its scope covers every page; never cached, so an update reaches tablets."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


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


def _receiving_banks() -> list[bank_directory.Bank]:
    found = [b for b in bank_directory.all_banks() if b.receives_transfers]
    return sorted(found, key=lambda b: b.short_name.casefold())


def _shell_merchant() -> dict[str, Any]:
    return {"id": NO_TRADER, "business_name": NO_NAME, "current_stage": "registered"}


def _neutral_ladder() -> list[StageStatus]:
    return [
        StageStatus(
            code=s.code,
            order=s.order,
            name=s.name,
            criteria=s.criteria,
            evidence=s.evidence,
            claimable=s.claimable,
            held=s.code == "registered",
            reached_at=None,
            status="automatic" if s.code == "registered" else "not_yet",
        )
        for s in stages.STAGES
    ]


class DevicePages(Controller):
    guards = [requires_user]

    @post("/device/token", name="offline.token", status_code=201)
    async def token(self, request: Request, db_session: NamedDependency[AsyncSession]) -> DeviceToken:
        """A token for the outbox, lasting no longer than a page session."""
        settings = request.app.state.settings
        user: CurrentUser = request.user
        token, expires_at = await AccountService(db_session).issue_token(
            user_id=user.id, now=utcnow(), max_age=min(settings.session_max_age, settings.api_token_max_age)
        )
        return DeviceToken(token=token, expires_at=expires_at.isoformat(), user_id=user.id)

    @get("/outbox", name="offline.outbox")
    async def outbox(self) -> Template:
        return Template("offline/outbox.html.j2")

    @get("/offline/page", name="offline.page")
    async def offline_page(self) -> Template:
        return Template("offline/offline.html.j2")

    @get("/offline/forms/visit", name="offline.visit_form")
    async def visit_form(self) -> Template:
        values = {
            "client_event_id": str(uuid.uuid4()),
            "visited_on": local_date(utcnow()).isoformat(),
            "topics": [],
            "next": "",
        }
        context = {"m": _shell_merchant(), "values": values, "errors": {}, "trader_answer": None}
        return Template(
            "onboarding/visit.html.j2", context={**context, **template_labels(), "offline_shell": True}
        )

    @get("/offline/forms/stage", name="offline.stage_form")
    async def stage_form(
        self, request: Request, stage: FromQuery[str | None] = None, kind: FromQuery[str | None] = None
    ) -> Template:
        chosen = stages.BY_CODE.get(stage or "")
        regress = kind == "regressed"
        if chosen is not None and not regress and not chosen.claimable:
            chosen = None
        values = {
            "client_event_id": str(uuid.uuid4()),
            "stage": chosen.code if chosen else "",
            "kind": "regressed" if regress else "reached",
            "visit_on": local_date(utcnow()).isoformat(),
            "next": "",
        }
        return Template(
            "onboarding/stage.html.j2",
            context={
                "m": _shell_merchant(),
                "ladder": _neutral_ladder(),
                "stage": chosen,
                "support": None,
                "values": values,
                "errors": {},
                "can_record": request.user.role in RECORDERS,
                **template_labels(),
                "offline_shell": True,
            },
        )

    @get("/offline/forms/payment-qr", name="offline.payment_qr_form")
    async def payment_qr_form(self) -> Template:
        return Template(
            "payments/account_import.html.j2",
            context={
                "merchant": {"id": NO_TRADER, "business_name": NO_NAME},
                "values": {"payload": ""},
                "error": None,
                "offline_shell": True,
            },
        )

    @get("/offline/forms/payment-account", name="offline.payment_account_form")
    async def payment_account_form(self) -> Template:
        return Template(
            "payments/account_new.html.j2",
            context={
                "merchant": {"id": NO_TRADER, "business_name": NO_NAME},
                "values": {"id": str(uuid.uuid4()), "service": "account", "holder_name": ""},
                "errors": {},
                "banks": [BankOut.of(b) for b in _receiving_banks()],
                "offline_shell": True,
            },
        )
