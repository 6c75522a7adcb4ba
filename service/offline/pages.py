"""The tablet's offline pages: the bearer token for the outbox, the outbox page and the form shells."""

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.offline.schemas import DeviceToken
from service.offline.services import receiving_banks
from service.onboarding import stages
from service.onboarding.schemas import StageStatus, template_labels
from service.onboarding.services import RECORDERS
from service.onboarding.stages import local_date
from service.payments.schemas import BankOut
from service.web import utcnow

NO_TRADER = uuid.UUID(int=0)  # the shells' placeholder, replaced on the device by the trader's id


NO_NAME = "…"


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
                "banks": [BankOut.of(b) for b in receiving_banks()],
                "offline_shell": True,
            },
        )
