"""The officer reports are true: every figure of `GET /api/v1/reports/summary`, for the country, a
province, its communes, their villages (and the "no village" row) and teams, and every sub-area
row, equals a recomputation from the raw tables (`report_truth`):

- after a seeded random day of work in Huế through every write path;
- after two writes to one trader sent at the same moment (checked to overlap in the database);
- for each definition on its own, as an officer would notice it in the JSON.

The counters kept by the write paths also equal a rebuild from the raw tables each time.

Each check recomputes the truth at the summary's own `as_of`, so time-dependent figures are
compared at the same instant. Tests that also assert a literal number (a visit 29 days ago counts,
30 does not) run on an app whose clock starts at 00:02 in Vietnam on the first of a month (the
`clock` fixture): Vietnam's date cannot change between setting up and asking, and the numbers are
checked just after a new day, week and month began.
"""

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from service.accounts.models import Team, User
from service.accounts.services import AccountService
from service.db import create_engine, session_maker
from service.generated.demo import demo_merchant_id
from service.merchants.models import Merchant
from service.onboarding.models import StageEvent, Visit
from service.payments.models import PaymentAccount
from service.places.models import Village
from service.reports import counters
from tests.helpers import browser_login, csrf_from
from tests.integration import report_truth as truth
from tests.integration.test_merchant_import import GOOD_HEADER, commit_form, csv_bytes, upload
from tests.integration.test_storefronts import add_product, editor, publish, submit

PROVINCE = "46"
COMMUNES = ("19753", "19774", "19777", "19789")  # Phú Xuân and three other communes of Huế
DEMO_TRADERS_46 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15)  # positions of the demo traders in Huế
ADMIN = "demo-admin"
OFFICER = "demo-province"
SEEDS = (7, 19753, 2026)
# What every seed's run must have done at least once.
EXERCISED = (
    "register", "claim", "verify", "reject", "regress", "visit", "refused-visit", "move", "delete",
    "merge", "add-account", "remove-account", "poster", "publish", "unpublish", "republish", "import",
    "deactivate-team",
)  # fmt: skip
# Each of those, and the operations that do it when the random run did not.
CATCH_UP = {
    "register": "register",
    "claim": "claim",
    "verify": "claim review:verified",
    "reject": "claim review:rejected",
    "regress": "claim regress",
    "visit": "visit",
    "refused-visit": "visit:refused",
    "move": "move",
    "delete": "delete",
    "merge": "merge",
    "add-account": "add_account",
    "remove-account": "add_account remove_account",
    "poster": "add_account poster",
    "publish": "storefront:publish",
    "unpublish": "storefront:publish storefront:unpublish",
    "republish": "storefront:publish storefront:unpublish storefront:republish",
    "import": "spreadsheet",
    "deactivate-team": "deactivate",
}
assert set(CATCH_UP) == set(EXERCISED)
GIA_HOI = "Tổ công nghệ số Gia Hội"  # 19753; no demo traders, so its figures start at zero
DONG_BA = "Tổ công nghệ số chợ Đông Ba"  # 19753
VY_DA = "Tổ công nghệ số Vỹ Dạ"  # 19777
NOTE = "Đã xem tại sạp"
REASON = "Không thấy bằng chứng tại sạp"
GOODS = ["Bưởi", "Cá kho", "Bánh mì", "Nón lá", "Tạp hóa", "Rau muống", "Chè đậu", "Giày dép", "Sửa xe"]
PEOPLE = ["Cô Lan", "Anh Tú", "Bà Sáu", "Chú Bảy", "Dì Hạnh", "Ông Khải", "Chị Mai", "Em Nhi"]
ROUND_STATUSES = {200, 201, 204, 404, 409}  # a race may legitimately end in 404 or 409, never 5xx


def utc_now() -> datetime:
    return datetime.now(UTC)


def noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), truth.VIETNAM).replace(hour=12).astimezone(UTC)


# --- the raw tables, read by the test itself -------------------------------------------------------


@pytest.fixture
async def sessions(settings) -> AsyncIterator:
    """Sessions on the test's database, beside the app's own."""
    engine = create_engine(settings)
    try:
        yield session_maker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def tokens(sessions) -> "Tokens":
    return Tokens(sessions)


async def area_of_every_summary(sessions, communes) -> list[tuple[str, str | None]]:
    """The country, the province, the communes, each of their villages, every team of the province."""
    async with sessions() as session:
        villages = list(
            await session.scalars(
                select(Village.id).where(Village.commune_code.in_(communes)).order_by(Village.id)
            )
        )
        teams = list(
            await session.scalars(select(Team.id).where(Team.province_code == PROVINCE).order_by(Team.id))
        )
    return [
        ("country", None),
        ("province", PROVINCE),
        *(("commune", c) for c in sorted(communes)),
        *(("village", v.hex) for v in villages),
        *(("team", t.hex) for t in teams),
    ]


async def untrue_figures(client, sessions, tokens, areas) -> list[str]:
    """Every figure of these areas' summaries (and their sub-area rows) that the raw tables contradict."""
    admin = await tokens(ADMIN)
    async with sessions() as session:
        world = await truth.load(session)
    problems = []
    for level, code in areas:
        params = {"country": {}, "province": {"area": code}, "commune": {"area": code}}.get(level)
        if params is None:
            params = {level: code}
        response = await client.get("/api/v1/reports/summary", params=params, headers=admin)
        assert response.status_code == 200, (level, code, response.text)
        got = response.json()
        assert (got["level"], got["code"]) == (level, code)
        expected = truth.summary(world, datetime.fromisoformat(got["as_of"]), level, code)
        problems += truth.differences(got, expected, f"{level} {code or ''}".strip())
    return problems


async def counters_against_a_rebuild(sessions) -> list[str]:
    """Counters (and volunteers' latest visits) kept by the write paths that a rebuild from the raw
    tables would change; the rebuild is rolled back."""
    async with sessions() as session:
        kept = await counters.stored(session)
        last_visits = dict((await session.execute(select(User.id, User.last_visit_at))).all())
        await counters.rebuild(session)
        rebuilt = await counters.stored(session)
        rebuilt_visits = dict((await session.execute(select(User.id, User.last_visit_at))).all())
        await session.rollback()
    problems = [
        f"counter {key}: kept {kept.get(key, 0)}, rebuilt {rebuilt.get(key, 0)}"
        for key in sorted(set(kept) | set(rebuilt))
        if kept.get(key, 0) != rebuilt.get(key, 0)
    ]
    problems += [
        f"user {user_id} last_visit_at: kept {last_visits[user_id]}, rebuilt {rebuilt_visits[user_id]}"
        for user_id in last_visits
        if last_visits[user_id] != rebuilt_visits[user_id]
    ]
    return problems


async def assert_true(client, sessions, tokens, areas, context: str = "") -> None:
    problems = await untrue_figures(client, sessions, tokens, areas)
    problems += await counters_against_a_rebuild(sessions)
    assert not problems, f"{context}\n" + "\n".join(problems)


# --- the people of the demo --------------------------------------------------------------------


@dataclass
class Crew:
    id: uuid.UUID
    name: str
    commune: str
    active: bool
    leader: str
    volunteers: list[str]


@dataclass
class Demo:
    teams: dict[uuid.UUID, Crew]
    villages: dict[str, list[uuid.UUID]]  # commune → villages
    team_named: dict[str, uuid.UUID]
    village_named: dict[str, uuid.UUID]

    @classmethod
    async def read(cls, sessions) -> "Demo":
        async with sessions() as session:
            crews = {
                row.id: Crew(row.id, row.name, row.commune_code, row.active, "", [])
                for row in await session.execute(
                    select(Team.id, Team.name, Team.commune_code, Team.active).where(
                        Team.province_code == PROVINCE
                    )
                )
            }
            for username, role, team_id in await session.execute(
                select(User.username, User.role, User.team_id)
                .where(User.team_id.in_(list(crews)))
                .order_by(User.username)
            ):
                if role == "team_leader":
                    crews[team_id].leader = username
                else:
                    crews[team_id].volunteers.append(username)
            villages: dict[str, list[uuid.UUID]] = {}
            village_named: dict[str, uuid.UUID] = {}
            for village_id, commune, name in await session.execute(
                select(Village.id, Village.commune_code, Village.name).order_by(Village.id)
            ):
                villages.setdefault(commune, []).append(village_id)
                village_named[name] = village_id
        return cls(
            teams=crews,
            villages=villages,
            team_named={c.name: c.id for c in crews.values()},
            village_named=village_named,
        )


class Tokens:
    """Bearer tokens of the demo's people, issued as `POST /api/v1/session` issues them, without
    checking the password: a sign-in's deliberately slow hash (a third of a second) for each of
    twenty people would be most of this module's time. Signing in itself is tested elsewhere."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.known: dict[str, dict[str, str]] = {}

    async def __call__(self, username: str) -> dict[str, str]:
        if username not in self.known:
            async with self.sessions() as session:
                user_id = await session.scalar(select(User.id).where(User.username == username))
                token, _ = await AccountService(session).issue_token(
                    user_id=user_id, now=utc_now(), max_age=3600
                )
                await session.commit()
            self.known[username] = {"Authorization": f"Bearer {token}"}
        return self.known[username]


# --- writes --------------------------------------------------------------------------------------

_phones = iter(range(100_000, 1_000_000))


async def enrol(client, headers, *, commune: str, **fields) -> dict:
    """Register a trader; a likely-duplicate answer (similar names) is confirmed as not one."""
    n = next(_phones)
    body = {
        "kind": "market_stall",
        "business_name": f"{GOODS[n % len(GOODS)]} {PEOPLE[n // len(GOODS) % len(PEOPLE)]} {n}",
        "category": "fresh_produce",
        "owner_name": "Lê Thị Hoa",
        "owner_phone": f"0937{n:06d}",
        "commune_code": commune,
        "consent_purposes": ["contact", "statistics"],
        **fields,
    }
    response = await client.post("/api/v1/merchants", json=body, headers=headers)
    if response.status_code == 409 and "duplicates" in response.json():
        body["not_duplicate_of"] = [d["id"] for d in response.json()["duplicates"]]
        response = await client.post("/api/v1/merchants", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def stage_body(stage: str, at: datetime, kind: str = "reached", **extra) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_event_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "stage": stage,
        "kind": kind,
    }
    if kind == "reached" and stage in ("identity", "bank_account", "qr_issued", "digital_ops"):
        body["note"] = NOTE
    if kind == "reached" and stage == "ecommerce":
        body["link"] = "https://shopee.vn/cho-dong-ba"
    if kind in ("regressed", "rejected"):
        body["note"] = REASON
    return {**body, **extra}


def visit_body(at: datetime, **extra) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "minutes": 20,
        "topics": ["qr_payments"],
        "outcome": "progressed",
        **extra,
    }


async def post_stage(client, headers, merchant_id, body) -> httpx.Response:
    return await client.post(f"/api/v1/merchants/{merchant_id}/stage-events", json=body, headers=headers)


async def post_visit(client, headers, merchant_id, body) -> httpx.Response:
    return await client.post(f"/api/v1/merchants/{merchant_id}/visits", json=body, headers=headers)


async def version_of(client, headers, merchant_id) -> int:
    response = await client.get(f"/api/v1/merchants/{merchant_id}", headers=headers, follow_redirects=False)
    assert response.status_code == 200, response.text
    return response.json()["version"]


async def as_browser(client, username: str) -> None:
    client.cookies.clear()
    response = await browser_login(client, username)
    assert response.status_code == 303, response.text


async def deactivate_team(client, team_id: uuid.UUID) -> httpx.Response:
    """An officer's "stop this team" button on the team list (the browser session must be an officer's)."""
    page = await client.get("/teams/")
    assert page.status_code == 200, page.text
    return await client.post(
        f"/teams/{team_id}/deactivate", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )


# --- the random day of work --------------------------------------------------------------------


@dataclass
class Trader:
    """What the driver needs to pick a sensible next write (read from the raw tables each time)."""

    id: uuid.UUID
    team: uuid.UUID
    commune: str
    village: uuid.UUID | None
    created_at: datetime
    consent: list[str]
    live: bool
    holds: dict[str, tuple[datetime, str]]  # stage → (hold began, source of the event that began it)
    has_account: bool = False
    ever: set[str] = field(default_factory=set)  # stages ever reached


async def traders(sessions, merchant_ids: list[uuid.UUID]) -> list[Trader]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    Merchant.id,
                    Merchant.team_id,
                    Merchant.commune_code,
                    Merchant.village_id,
                    Merchant.created_at,
                    Merchant.consent_purposes,
                    Merchant.deleted_at,
                    Merchant.merged_into_id,
                ).where(Merchant.id.in_(merchant_ids))
            )
        ).all()
        log = (
            await session.execute(
                select(
                    StageEvent.merchant_id,
                    StageEvent.stage,
                    StageEvent.kind,
                    StageEvent.source,
                    StageEvent.occurred_at,
                )
                .where(StageEvent.merchant_id.in_(merchant_ids))
                .order_by(StageEvent.occurred_at, StageEvent.recorded_at)
            )
        ).all()
        accounts = set(
            await session.scalars(
                select(PaymentAccount.merchant_id).where(
                    PaymentAccount.merchant_id.in_(merchant_ids), PaymentAccount.removed_at.is_(None)
                )
            )
        )
    holds: dict[uuid.UUID, dict[str, tuple[datetime, str]]] = {}
    ever: dict[uuid.UUID, set[str]] = {}
    for merchant_id, stage, kind, source, occurred_at in log:
        held = holds.setdefault(merchant_id, {})
        if kind == "reached":
            held.setdefault(stage, (occurred_at, source))
            ever.setdefault(merchant_id, set()).add(stage)
        elif kind == "regressed":
            held.pop(stage, None)
    by_id = {
        m.id: Trader(
            id=m.id,
            team=m.team_id,
            commune=m.commune_code,
            village=m.village_id,
            created_at=m.created_at,
            consent=list(m.consent_purposes),
            live=m.deleted_at is None and m.merged_into_id is None,
            holds=holds.get(m.id, {}),
            has_account=m.id in accounts,
            ever=ever.get(m.id, set()),
        )
        for m in rows
    }
    return [by_id[m] for m in merchant_ids if m in by_id]


@dataclass
class Day:
    """A seeded random sequence of writes in Huế, over HTTP only. Every request's answer must be one
    the driver expects for it (never a 5xx); the figures are checked afterwards."""

    client: Any
    sessions: Any
    seed: int
    demo: Demo
    tokens: Tokens
    rng: random.Random = field(init=False)
    pool: list[uuid.UUID] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    done: Counter = field(default_factory=Counter)
    shared: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)  # (survivor, table, client id)
    browser: str = ""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.pool = [demo_merchant_id(i) for i in DEMO_TRADERS_46]

    def story(self) -> str:
        return f"seed {self.seed}; operations:\n" + "\n".join(self.log)

    def expect(self, what: str, response: httpx.Response, allowed: set[int]) -> httpx.Response:
        self.log.append(f"{len(self.log) + 1:3d} {what} -> {response.status_code}")
        assert response.status_code in allowed and response.status_code < 500, (
            f"{what}: {response.status_code} {response.text[:500]}\n{self.story()}"
        )
        self.done[what.split()[0]] += 1
        return response

    def active_teams(self) -> list[Crew]:
        return [c for c in self.demo.teams.values() if c.active]

    async def member(self, team_id: uuid.UUID, leader_share: float = 0.2) -> dict[str, str]:
        crew = self.demo.teams[team_id]
        people = [crew.leader] if self.rng.random() < leader_share else crew.volunteers
        return await self.tokens(self.rng.choice(people))

    async def live_traders(self, *, working: bool = True) -> list[Trader]:
        """Live traders of the pool; `working`: only those whose team is active (its members act)."""
        found = await traders(self.sessions, self.pool)
        return [t for t in found if t.live and (not working or self.demo.teams[t.team].active)]

    async def pick(self, **kw) -> Trader | None:
        candidates = await self.live_traders(**kw)
        return self.rng.choice(candidates) if candidates else None

    async def become(self, username: str) -> None:
        if self.browser != username:
            await as_browser(self.client, username)
            self.browser = username

    # --- the operations -------------------------------------------------------------------------

    async def register(self) -> None:
        crew = self.rng.choice(self.active_teams())
        village = self.rng.choice([*self.demo.villages.get(crew.commune, []), None])
        consent = ["contact", "statistics"] + (["storefront"] if self.rng.random() < 0.5 else [])
        headers = await self.member(crew.id)
        fields: dict[str, Any] = {"consent_purposes": consent}
        if village:
            fields["village_id"] = str(village)
        # Most now; some by a tablet that was offline, up to the oldest registration accepted (60
        # days, which makes the trader stalled at once).
        days = self.rng.choice([0, 0, 0, 0, 2, 15, 31, 45, 60])
        if days:
            at = (
                utc_now()
                - timedelta(days=days)
                + timedelta(minutes=5 if days == 60 else self.rng.randint(0, 600))
            )
            fields["registered_at"] = at.isoformat()
        created = await enrol(self.client, headers, commune=crew.commune, **fields)
        self.pool.append(uuid.UUID(created["id"]))
        self.log.append(
            f"{len(self.log) + 1:3d} register {created['id'][:8]} {days}d ago team {crew.name} -> 201"
        )
        self.done["register"] += 1

    async def claim(self) -> None:
        t = await self.pick()
        if t is None:
            return
        now = utc_now()
        stages = ["identity", "bank_account", "qr_issued", "ecommerce", "digital_ops"]
        weights = [3, 3, 3, 1, 1]
        issued = t.holds.get("qr_issued")
        earliest = max(issued[0] + timedelta(days=8), now - timedelta(days=90)) if issued else now
        if earliest < now:
            stages.append("qr_active")
            weights.append(6)
        stage = self.rng.choices(stages, weights)[0]
        extra: dict[str, Any] = {}
        if stage == "qr_active":
            at = earliest + (now - earliest) * self.rng.random()
            extra = {
                "visit_on": truth.vn_date(at).isoformat(),
                "customer_payments_7d": self.rng.randint(1, 30),
            }
        else:
            days = self.rng.choice([0, 1, 5, 20, 31, 40, 45, 61, 75, 90])
            at = now - timedelta(days=days, minutes=self.rng.randint(0, 600))
        headers = await self.member(t.team)
        response = await post_stage(self.client, headers, t.id, stage_body(stage, at, **extra))
        self.expect(f"claim {t.id.hex[:8]} {stage} {(now - at).days}d ago", response, {200, 201})

    async def review(self, kind: str = "") -> None:
        candidates = [
            (t, s)
            for t in await self.live_traders()
            for s, (_, source) in t.holds.items()
            if source == "manual"
        ]
        if not candidates:
            return
        t, stage = self.rng.choice(candidates)
        kind = kind or self.rng.choice(["verified", "rejected"])
        leader = await self.tokens(self.demo.teams[t.team].leader)
        response = await post_stage(self.client, leader, t.id, stage_body(stage, utc_now(), kind=kind))
        self.expect(
            f"{'reject' if kind == 'rejected' else 'verify'} {t.id.hex[:8]} {stage}", response, {200, 201}
        )

    async def regress(self) -> None:
        candidates = [(t, s) for t in await self.live_traders() for s in t.holds if s != "registered"]
        if not candidates:
            return
        t, stage = self.rng.choice(candidates)
        headers = await self.member(t.team, leader_share=0)
        response = await post_stage(
            self.client, headers, t.id, stage_body(stage, utc_now(), kind="regressed")
        )
        self.expect(f"regress {t.id.hex[:8]} {stage}", response, {200, 201})

    async def visit(self, refused: str = "") -> None:
        t = await self.pick()
        if t is None:
            return
        now = utc_now()
        today = truth.vn_date(now)
        earliest = max(truth.vn_date(t.created_at), today - timedelta(days=60))
        headers = await self.member(t.team, leader_share=0.25)
        if refused or self.rng.random() < 0.1:  # a day the service must refuse
            day = truth.vn_date(t.created_at) - timedelta(days=1)
            if day >= today - timedelta(days=60):
                what = "before registration"
            else:
                day, what = today - timedelta(days=61), "61 days ago"
            response = await post_visit(
                self.client, headers, t.id, visit_body(min(noon(day), now), visited_on=day.isoformat())
            )
            self.expect(f"refused-visit {t.id.hex[:8]} {what}", response, {422})
            assert response.json()["errors"][0]["field"] == "visited_on", response.text
            return
        day = earliest + timedelta(days=self.rng.randint(0, (today - earliest).days))
        at = now if day == today else noon(day)
        response = await post_visit(self.client, headers, t.id, visit_body(at))
        self.expect(f"visit {t.id.hex[:8]} on {day}", response, {201})

    async def move(self) -> None:
        t = await self.pick(working=False)
        if t is None:
            return
        officer = await self.tokens(OFFICER)
        change: dict[str, Any] = {}
        how = self.rng.choice(["village", "team", "commune"])
        same_commune = [c for c in self.active_teams() if c.commune == t.commune and c.id != t.team]
        if not self.demo.teams[t.team].active:  # its team stopped: any edit must give it another
            how = "team" if same_commune else "commune"
        if how == "team" and same_commune:
            change["team_id"] = str(self.rng.choice(same_commune).id)
        elif how in ("commune", "team"):
            how = "commune"
            crew = self.rng.choice([c for c in self.active_teams() if c.commune != t.commune])
            village = self.rng.choice([*self.demo.villages.get(crew.commune, []), None])
            change = {
                "commune_code": crew.commune,
                "team_id": str(crew.id),
                "village_id": village and str(village),
            }
        else:
            how = "village"
            options = [v for v in [*self.demo.villages.get(t.commune, []), None] if v != t.village]
            village = self.rng.choice(options)
            change["village_id"] = village and str(village)
        body = {"version": await version_of(self.client, officer, t.id), **change}
        response = await self.client.patch(f"/api/v1/merchants/{t.id}", json=body, headers=officer)
        if response.status_code == 409 and "duplicates" in response.json():
            body["not_duplicate_of"] = [d["id"] for d in response.json()["duplicates"]]
            response = await self.client.patch(f"/api/v1/merchants/{t.id}", json=body, headers=officer)
        self.expect(f"move {t.id.hex[:8]} {how} {change}", response, {200})

    async def delete(self) -> None:
        t = await self.pick(working=False)
        if t is None:
            return
        response = await self.client.delete(f"/api/v1/merchants/{t.id}", headers=await self.tokens(OFFICER))
        self.expect(f"delete {t.id.hex[:8]}", response, {204})

    async def merge(self, shared: str = "") -> None:
        candidates = await self.live_traders()
        if len(candidates) < 2:
            return
        survivor, duplicate = self.rng.sample(candidates, 2)
        if shared:  # two tablets used the same client ids for the two records
            now = utc_now()
            stage = next(
                (
                    s
                    for s in ("digital_ops", "ecommerce", "identity")
                    if s not in survivor.holds | duplicate.holds
                ),
                "identity",
            )
            n = len(self.log)
            for table, same in (("visits", f"sv{self.seed}-{n}"), ("stage_events", f"ss{self.seed}-{n}")):
                stored = 0
                for t in (survivor, duplicate):
                    headers = await self.member(t.team, leader_share=0)
                    if table == "visits":
                        body = {**visit_body(now), "client_event_id": same}
                        response = await post_visit(self.client, headers, t.id, body)
                        stored += (
                            self.expect(f"visit {t.id.hex[:8]} client id {same}", response, {201}).status_code
                            == 201
                        )
                    else:
                        body = {**stage_body(stage, now - timedelta(days=3)), "client_event_id": same}
                        response = await post_stage(self.client, headers, t.id, body)
                        response = self.expect(
                            f"claim {t.id.hex[:8]} {stage} client id {same}", response, {200, 201}
                        )
                        stored += response.status_code == 201  # 200: already held, nothing stored
                if stored == 2:
                    self.shared.append((survivor.id, table, same))
        response = await self.client.post(
            f"/api/v1/merchants/{survivor.id}/merge",
            json={"duplicate_id": str(duplicate.id)},
            headers=await self.tokens(OFFICER),
        )
        self.expect(f"merge {duplicate.id.hex[:8]} into {survivor.id.hex[:8]}", response, {200})

    async def add_account(self) -> None:
        t = await self.pick()
        if t is None:
            return
        body = {
            "bank_bin": self.rng.choice(["970436", "970405", "970415"]),
            "account": str(self.rng.randint(10**9, 10**10 - 1)),
        }
        response = await self.client.post(
            f"/api/v1/merchants/{t.id}/payment-accounts", json=body, headers=await self.member(t.team)
        )
        self.expect(f"add-account {t.id.hex[:8]}", response, {201})

    async def remove_account(self) -> None:
        candidates = [t for t in await self.live_traders() if t.has_account]
        if not candidates:
            return
        t = self.rng.choice(candidates)
        headers = await self.member(t.team)
        accounts = (
            await self.client.get(f"/api/v1/merchants/{t.id}/payment-accounts", headers=headers)
        ).json()
        account = self.rng.choice(accounts)
        response = await self.client.delete(
            f"/api/v1/merchants/{t.id}/payment-accounts/{account['id']}", headers=headers
        )
        self.expect(f"remove-account {t.id.hex[:8]} ({len(accounts)} before)", response, {204})

    async def poster(self) -> None:
        candidates = await self.live_traders()
        with_account = [t for t in candidates if t.has_account]
        t = self.rng.choice(with_account if with_account and self.rng.random() < 0.8 else candidates)
        response = await self.client.post(
            f"/api/v1/merchants/{t.id}/posters", headers=await self.member(t.team)
        )
        self.expect(f"poster {t.id.hex[:8]}", response, {201} if t.has_account else {409})  # 409: no account

    async def storefront(self, mode: str = "") -> None:
        """Publish (with a product) or unpublish a storefront; `mode` forces one: "publish",
        "unpublish", or "republish" (publish one that was unpublished)."""
        candidates = [t for t in await self.live_traders(working=False) if "storefront" in t.consent]
        listed = [t for t in candidates if "listed" in t.holds]
        unlisted = [t for t in candidates if "listed" not in t.holds]
        again = [t for t in unlisted if "listed" in t.ever]
        await self.become(ADMIN)
        if listed and (mode == "unpublish" or (not mode and self.rng.random() < 0.5)):
            t = self.rng.choice(listed)
            response = await submit(self.client, editor(t.id), f"/merchants/{t.id}/storefront/unpublish")
            self.expect(f"unpublish {t.id.hex[:8]}", response, {303})
            return
        if not unlisted:
            return
        t = self.rng.choice(again if again and mode == "republish" else unlisted)
        if "listed" in t.ever:
            response = await publish(self.client, t.id)
            if response.status_code == 409:  # listed by a record merged into it: its own page has no product
                await add_product(self.client, t.id, f"Món số {len(self.log)}", "30.000")
                response = await publish(self.client, t.id)
            self.expect(f"republish {t.id.hex[:8]}", response, {303})
            return
        product = await add_product(self.client, t.id, f"Món số {len(self.log)}", "30.000")
        self.expect(f"product {t.id.hex[:8]}", product, {303})
        self.expect(f"publish {t.id.hex[:8]}", await publish(self.client, t.id), {303})

    async def spreadsheet(self) -> None:
        crew = self.demo.teams[self.demo.team_named[GIA_HOI]]
        await self.become(crew.leader)
        names = []
        rows = []
        for i in range(3):
            n = next(_phones)
            names.append(f"Hàng {GOODS[(n + i) % len(GOODS)]} nhập {n}")
            village = self.rng.choice(["Gia Hội", ""])
            rows.append(
                [
                    str(i + 1),
                    names[-1],
                    "Trần Thị Thu",
                    f"0938{n:06d}",
                    "Sạp chợ",
                    "Ăn uống",
                    village,
                    "liên hệ",
                ]
            )
        preview = await upload(self.client, csv_bytes([GOOD_HEADER, *rows]), f"nhap-{self.seed}.csv")
        assert preview.status_code == 200, preview.text
        committed = await self.client.post(
            "/merchants/import/commit", data=commit_form(preview.text), follow_redirects=False
        )
        self.expect("import 3 rows", committed, {303})
        async with self.sessions() as session:
            self.pool += list(
                await session.scalars(select(Merchant.id).where(Merchant.business_name.in_(names)))
            )

    async def deactivate(self) -> None:
        crew = self.demo.teams[self.demo.team_named[VY_DA]]
        await self.become(ADMIN)
        self.expect(f"deactivate-team {crew.name}", await deactivate_team(self.client, crew.id), {303})
        crew.active = False

    OPERATIONS = (
        ("register", 12),
        ("claim", 22),
        ("review", 7),
        ("regress", 4),
        ("visit", 14),
        ("move", 7),
        ("delete", 3),
        ("merge", 3),
        ("add_account", 6),
        ("remove_account", 4),
        ("poster", 4),
        ("storefront", 6),
    )

    async def run(self, count: int) -> None:
        names, weights = zip(*self.OPERATIONS, strict=True)
        script = ["register"] * 10 + [self.rng.choices(names, weights)[0] for _ in range(count - 13)]
        once = [
            "spreadsheet", "deactivate", "merge:shared", "visit:refused", "poster", "delete",
            "review:verified", "review:rejected",
        ]  # fmt: skip
        for name in once:
            script.insert(self.rng.randint(12, len(script)), name)
        # A storefront published, unpublished and published again, in that order among the rest.
        places = sorted(self.rng.sample(range(12, len(script)), 3), reverse=True)
        for at, mode in zip(places, ("republish", "unpublish", "publish"), strict=True):
            script.insert(at, f"storefront:{mode}")
        for name in script:
            await self.do(name)
        # Whatever the dice left out, done now, so that every seed's run has each kind of write.
        for kind, names in CATCH_UP.items():
            for _ in range(3):
                if self.done[kind]:
                    break
                for name in names.split():
                    await self.do(name)

    async def do(self, name: str) -> None:
        operation, _, mode = name.partition(":")
        await (getattr(self, operation)(mode) if mode else getattr(self, operation)())


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_figure_at_every_level_equals_the_raw_tables_after_a_random_day_of_work(
    client, sessions, tokens, seed
) -> None:
    demo = await Demo.read(sessions)
    day = Day(client=client, sessions=sessions, seed=seed, demo=demo, tokens=tokens)
    await day.run(random.Random(seed).randint(60, 90))
    client.cookies.clear()
    # The run did what it is meant to exercise (a seed that does not is a bad seed).
    for kind in EXERCISED:
        assert day.done[kind], f"seed {seed} never did {kind}: {dict(day.done)}"
    assert {table for _, table, _ in day.shared} == {"visits", "stage_events"}, day.story()
    # Two records that used the same client ids: both rows live on, on the survivor.
    async with sessions() as session:
        for survivor, table, same in day.shared:
            while later := await session.scalar(
                select(Merchant.merged_into_id).where(Merchant.id == survivor)
            ):
                survivor = later  # merged again since
            model = Visit if table == "visits" else StageEvent
            rows = list(
                await session.scalars(
                    select(model.client_event_id).where(
                        model.merchant_id == survivor, model.client_event_id.contains(same)
                    )
                )
            )
            assert len(rows) == 2 and same in rows, (table, same, rows, day.story())
        communes = set(COMMUNES) | set(
            await session.scalars(select(Merchant.commune_code).where(Merchant.id.in_(day.pool)))
        )
    areas = await area_of_every_summary(sessions, communes)
    await assert_true(client, sessions, tokens, areas, day.story())


# --- writes to one trader at the same moment ---------------------------------------------------


@dataclass
class Sent:
    label: str
    method: str
    url: str
    headers: dict[str, str]
    json: Any = None


class Tracer:
    """What the app's database connections do, by request: each request runs in its own task,
    named after it, so the statements and commits it makes can be told apart."""

    def __init__(self, engine):
        self.engine = engine.sync_engine
        self.trace: list[tuple[float, str, str]] = []

    @staticmethod
    def _task() -> str:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return ""
        return task.get_name() if task else ""

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.trace.append((time.perf_counter(), self._task(), statement))

    def _commit(self, conn) -> None:
        self.trace.append((time.perf_counter(), self._task(), "COMMIT"))

    def _rollback(self, conn) -> None:
        self.trace.append((time.perf_counter(), self._task(), "ROLLBACK"))

    def __enter__(self) -> "Tracer":
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)

    def lock_held(self, task: str) -> tuple[float, float] | None:
        """When the request asked for the trader's row lock (SQLite: the no-op UPDATE that takes the
        write lock; PostgreSQL: SELECT … FOR UPDATE) and when its transaction ended."""
        asked = None
        for at, name, statement in self.trace:
            if name != task:
                continue
            if asked is None and (
                statement.startswith("UPDATE merchants SET version=merchants.version")
                or ("FROM merchants" in statement and "FOR UPDATE" in statement)
            ):
                asked = at
            elif asked is not None and statement in ("COMMIT", "ROLLBACK"):
                return asked, at
        return None


async def _all_at_once(app, requests: list[Sent]) -> list[httpx.Response]:
    """Inside the app's event loop: every request started together, each in its own task."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
    ) as c:

        async def send(r: Sent) -> httpx.Response:
            asyncio.current_task().set_name(r.label)
            return await c.request(r.method, r.url, headers=r.headers, json=r.json)

        return await asyncio.gather(*(send(r) for r in requests))


def at_once(client, tracer: Tracer, *requests: Sent) -> tuple[list[httpx.Response], bool]:
    """Send the requests at the same moment, and tell whether they really overlapped: each one asked
    for the trader's lock before the other's transaction ended, so one of them waited for the other.

    The test client hands each request to the app's event loop (in its own thread) and blocks until
    the response: `asyncio.gather` over it would send them one after the other. So the requests are
    started together inside that loop, through an ASGI client of the same app."""
    tracer.trace.clear()
    responses = client.blocking_portal.call(_all_at_once, client.app, list(requests))
    spans = [tracer.lock_held(r.label) for r in requests]
    overlapped = all(spans) and all(
        a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :]
    )
    return responses, overlapped


RACES = ("move+visit", "move+claim", "delete+visit-or-claim", "merge+claim-or-visit")
ROUNDS = 5
ATTEMPTS = 5  # a round whose requests did not overlap is sent again, with fresh traders


async def test_every_figure_stays_true_when_two_writes_to_one_trader_race(client, sessions, tokens) -> None:
    """Pairs of writes to one trader sent at the same moment, five rounds each: an edit that moves
    the trader (village or team) and a visit; a move and a stage event; a deletion and a visit or
    stage event; a merge and a stage event or visit on the duplicate or the survivor. Either may
    win (the loser may get 404), never a 5xx, and every figure is exact afterwards."""
    demo = await Demo.read(sessions)
    dong_ba, gia_hoi = demo.teams[demo.team_named[DONG_BA]], demo.teams[demo.team_named[GIA_HOI]]
    volunteer = await tokens(dong_ba.volunteers[0])
    leader, officer = await tokens(dong_ba.leader), await tokens("demo-commune")
    village_dong_ba = demo.village_named["Tổ dân phố Đông Ba"]
    village_gia_hoi = demo.village_named["Tổ dân phố Gia Hội"]
    areas = [
        a
        for a in await area_of_every_summary(sessions, {"19753"})
        if a[0] != "team" or uuid.UUID(a[1]) in (dong_ba.id, gia_hoi.id)
    ]
    overlapped: Counter = Counter()
    attempts: dict[str, list[int]] = {race: [] for race in RACES}
    statuses: Counter = Counter()
    story: list[str] = []

    async def trader_with_a_past() -> str:
        """A trader of the Đông Ba team: bank account 50 days ago, QR code 40 days ago, a visit today."""
        t = await enrol(client, volunteer, commune="19753", village_id=str(village_dong_ba))
        now = utc_now()
        for stage, days in (("bank_account", 50), ("qr_issued", 40)):
            response = await post_stage(
                client, volunteer, t["id"], stage_body(stage, now - timedelta(days=days))
            )
            assert response.status_code == 201, response.text
        assert (await post_visit(client, volunteer, t["id"], visit_body(now))).status_code == 201
        return t["id"]

    def claim(merchant_id: str, n: int) -> Sent:
        """A stage event that changes the trader's figures: QR in use now, digital bookkeeping since
        61 days ago (the top stage, placed before the rest of its log), or the QR code taken down."""
        now = utc_now()
        body = [
            stage_body("qr_active", now, visit_on=truth.vn_date(now).isoformat(), customer_payments_7d=9),
            stage_body("digital_ops", now - timedelta(days=61)),
            stage_body("qr_issued", now, kind="regressed"),
        ][n % 3]
        return Sent("claim", "POST", f"/api/v1/merchants/{merchant_id}/stage-events", volunteer, body)

    def visit(merchant_id: str) -> Sent:
        return Sent(
            "visit", "POST", f"/api/v1/merchants/{merchant_id}/visits", volunteer, visit_body(utc_now())
        )

    def move(merchant_id: str, n: int) -> Sent:
        change = [
            {"village_id": str(village_gia_hoi)},
            {"team_id": str(gia_hoi.id)},
            {"village_id": None},
            {"team_id": str(gia_hoi.id), "village_id": str(village_gia_hoi)},
        ][n % 4]
        return Sent("move", "PATCH", f"/api/v1/merchants/{merchant_id}", officer, {"version": 1, **change})

    async def race_once(race: str, n: int, attempt: int) -> bool:
        one = await trader_with_a_past()
        if race == "move+visit":
            pair = [move(one, n), visit(one)]
        elif race == "move+claim":
            pair = [move(one, n), claim(one, n)]
        elif race == "delete+visit-or-claim":
            pair = [
                Sent("delete", "DELETE", f"/api/v1/merchants/{one}", leader),
                visit(one) if n % 2 else claim(one, n),
            ]
        else:  # another record merged into `one`, while it or `one` gets a stage event or a visit
            other = await trader_with_a_past()
            target = (other, one)[n % 2]
            merge = Sent("merge", "POST", f"/api/v1/merchants/{one}/merge", leader, {"duplicate_id": other})
            pair = [merge, claim(target, n) if n % 4 < 2 else visit(target)]
        pair = pair if n % 2 else pair[::-1]  # either one sent first
        for i, sent in enumerate(pair):
            sent.label = f"{race} round {n} try {attempt} {sent.label} {i}"
        with Tracer(client.app.state.session_maker.kw["bind"]) as tracer:
            responses, both = at_once(client, tracer, *pair)
        overlapped[race] += both
        for sent, response in zip(pair, responses, strict=True):
            statuses[sent.label.split()[5], response.status_code] += 1
            story.append(f"{sent.label}: {sent.method} {sent.url} {sent.json} -> {response.status_code}")
            assert response.status_code in ROUND_STATUSES, (sent.label, response.text, "\n".join(story))
        return both

    for race in RACES:
        for n in range(ROUNDS):
            for attempt in range(1, ATTEMPTS + 1):
                if await race_once(race, n, attempt):
                    break
            attempts[race].append(attempt)
        await assert_true(client, sessions, tokens, areas, f"after the races {race}:\n" + "\n".join(story))
    # Every round really raced: both requests asked for the trader's lock before either had finished.
    assert all(overlapped[race] == ROUNDS for race in RACES), (dict(overlapped), attempts, dict(statuses))


# --- each definition, as an officer would notice it ------------------------------------------------


async def team_of(sessions, name: str) -> Crew:
    demo = await Demo.read(sessions)
    return demo.teams[demo.team_named[name]]


async def figures_of(client, tokens, **params) -> dict:
    response = await client.get("/api/v1/reports/summary", params=params, headers=await tokens(ADMIN))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_rejected_claim_leaves_reached_while_a_stopped_one_stays_in_it(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    volunteer, leader = await tokens(team.volunteers[0]), await tokens(team.leader)
    rejected = (await enrol(client, volunteer, commune="19753"))["id"]
    stopped = (await enrol(client, volunteer, commune="19753"))["id"]
    for merchant_id in (rejected, stopped):
        response = await post_stage(
            client, volunteer, merchant_id, stage_body("identity", utc_now() - timedelta(days=3))
        )
        assert response.status_code == 201, response.text
    claimed = await figures_of(client, tokens, team=team.id.hex)
    assert (
        claimed["holding"]["identity"],
        claimed["reached"]["identity"],
        claimed["by_stage"]["identity"],
    ) == (2, 2, 2)

    refusal = await post_stage(client, leader, rejected, stage_body("identity", utc_now(), kind="rejected"))
    assert refusal.status_code == 201 and refusal.json()["event"]["kind"] == "rejected", refusal.text
    stop = await post_stage(client, volunteer, stopped, stage_body("identity", utc_now(), kind="regressed"))
    assert stop.status_code == 201, stop.text
    after = await figures_of(client, tokens, team=team.id.hex)
    assert after["holding"]["identity"] == 0 and after["by_stage"]["identity"] == 0
    assert (
        after["reached"]["identity"] == 1
    )  # the trader who stopped did reach it; the rejected claim never stood
    assert after["by_stage"]["registered"] == after["merchants"] == 2
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_removing_the_last_payment_account_drops_the_qr_stages_from_holding_but_not_from_reached(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    volunteer = await tokens(team.volunteers[0])
    trader_id = (await enrol(client, volunteer, commune="19753"))["id"]
    accounts = f"/api/v1/merchants/{trader_id}/payment-accounts"
    ids = []
    for number in ("0011001234567", "0011009876543"):
        response = await client.post(
            accounts, json={"bank_bin": "970436", "account": number}, headers=volunteer
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    now = utc_now()
    for body in (
        stage_body("qr_issued", now - timedelta(days=20)),
        stage_body("qr_active", now, visit_on=truth.vn_date(now).isoformat(), customer_payments_7d=5),
    ):
        assert (await post_stage(client, volunteer, trader_id, body)).status_code == 201
    using = await figures_of(client, tokens, team=team.id.hex)
    qr = ("bank_account", "qr_issued", "qr_active")
    assert [using["holding"][s] for s in qr] == [1, 1, 1] and using["using_qr"] == 1
    assert using["using_qr_percent"] == 100.0 and using["by_stage"]["qr_active"] == 1

    assert (await client.delete(f"{accounts}/{ids[0]}", headers=volunteer)).status_code == 204
    one_left = await figures_of(client, tokens, team=team.id.hex)
    assert [one_left["holding"][s] for s in qr] == [1, 1, 1]  # another account still receives

    assert (await client.delete(f"{accounts}/{ids[1]}", headers=volunteer)).status_code == 204
    none_left = await figures_of(client, tokens, team=team.id.hex)
    assert [none_left["holding"][s] for s in qr] == [0, 0, 0]
    assert (none_left["using_qr"], none_left["using_qr_percent"], none_left["qr_held_not_used"]) == (
        0,
        0.0,
        0,
    )
    assert [none_left["reached"][s] for s in qr] == [1, 1, 1]  # the trader did have them
    assert none_left["by_stage"]["registered"] == 1
    await assert_true(
        client, sessions, tokens, [("team", team.id.hex), ("commune", "19753"), ("province", PROVINCE)]
    )


async def test_unpublishing_drops_listed_from_holding_and_publishing_again_brings_it_back(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    volunteer = await tokens(team.volunteers[0])
    trader_id = (await enrol(client, volunteer, commune="19753", consent_purposes=["storefront", "contact"]))[
        "id"
    ]
    await as_browser(client, team.volunteers[0])
    assert (await add_product(client, trader_id, "Bún bò", "35.000")).status_code == 303

    def listed(figures: dict) -> tuple[int, int, int]:
        return figures["holding"]["listed"], figures["reached"]["listed"], figures["by_stage"]["listed"]

    assert (await publish(client, trader_id)).status_code == 303
    assert listed(await figures_of(client, tokens, team=team.id.hex)) == (1, 1, 1)
    unpublish = await submit(client, editor(trader_id), f"/merchants/{trader_id}/storefront/unpublish")
    assert unpublish.status_code == 303
    hidden = await figures_of(client, tokens, team=team.id.hex)
    assert listed(hidden) == (0, 1, 0) and hidden["by_stage"]["registered"] == 1
    assert (await publish(client, trader_id)).status_code == 303
    again = await figures_of(client, tokens, team=team.id.hex)
    assert listed(again) == (1, 1, 1) and again["median_days_to_listed"] == 0.0
    client.cookies.clear()
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_active_volunteers_count_a_visit_29_days_ago_but_not_30(
    pinned_client, clock, sessions, tokens
) -> None:
    client = pinned_client  # at 00:02 in Vietnam on the first of a month: midnight never passes mid-test
    team = await team_of(sessions, DONG_BA)
    trader_id = demo_merchant_id(0)  # Bún hến Đông Ba O Nga, registered long before
    before = await figures_of(client, tokens, team=team.id.hex)
    before_commune = await figures_of(client, tokens, area="19753")
    set_up = clock()
    day_29 = truth.start_of_day(truth.vn_date(set_up) - timedelta(days=29))  # the first moment that counts
    async with sessions() as session:  # volunteers without a visit yet (the demo's are recent)
        idle = [
            username
            for username in team.volunteers
            if await session.scalar(select(User.last_visit_at).where(User.username == username)) is None
        ]
    on_time, too_late = idle[:2]
    for username, at in ((on_time, day_29), (too_late, day_29 - timedelta(minutes=1))):
        response = await post_visit(client, await tokens(username), trader_id, visit_body(at))
        assert response.status_code == 201, response.text
    after = await figures_of(client, tokens, team=team.id.hex)
    # 29 days ago counts; 30 days ago (a minute earlier) does not
    assert after["active_volunteers"] == before["active_volunteers"] + 1
    assert after["active_leaders"] == before["active_leaders"]
    commune = await figures_of(client, tokens, area="19753")
    assert commune["active_volunteers"] == before_commune["active_volunteers"] + 1
    await assert_true(
        client, sessions, tokens, [("team", team.id.hex), ("commune", "19753"), ("country", None)]
    )


async def test_team_leaders_count_in_active_leaders_not_in_active_volunteers(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    leader = await tokens(team.leader)
    levels = {"team": {"team": team.id.hex}, "commune": {"area": "19753"}, "province": {"area": PROVINCE}}
    before = {level: await figures_of(client, tokens, **params) for level, params in levels.items()}
    trader_id = (await enrol(client, leader, commune="19753"))["id"]
    assert (await post_visit(client, leader, trader_id, visit_body(utc_now()))).status_code == 201
    for level, params in levels.items():
        after = await figures_of(client, tokens, **params)
        assert after["active_leaders"] == before[level]["active_leaders"] + 1, level
        assert after["active_volunteers"] == before[level]["active_volunteers"], level
        assert after["members"] == before[level]["members"], level
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_a_deactivated_teams_members_vanish_from_every_level(client, sessions, tokens) -> None:
    team = await team_of(sessions, VY_DA)
    members = 1 + len(team.volunteers)
    volunteer = await tokens(team.volunteers[0])
    trader_id = (await enrol(client, volunteer, commune="19777"))["id"]
    assert (await post_visit(client, volunteer, trader_id, visit_body(utc_now()))).status_code == 201
    levels = {
        "country": {},
        "province": {"area": PROVINCE},
        "commune": {"area": "19777"},
        "team": {"team": team.id.hex},
    }
    before = {level: await figures_of(client, tokens, **params) for level, params in levels.items()}
    assert before["commune"]["members"] == members and before["commune"]["active_volunteers"] == 1

    await as_browser(client, ADMIN)
    assert (await deactivate_team(client, team.id)).status_code == 303
    client.cookies.clear()
    for level, params in levels.items():
        after = await figures_of(client, tokens, **params)
        assert after["members"] == before[level]["members"] - members, level
        assert after["teams"] == before[level]["teams"] - 1, level
        assert after["active_leaders"] == before[level]["active_leaders"], level
        assert after["active_volunteers"] == before[level]["active_volunteers"] - 1, level
        assert after["merchants"] == before[level]["merchants"], level  # its traders still count
    commune = await figures_of(client, tokens, area="19777")
    assert commune["teams_list"] == [] and all(v["members"] == 0 for v in commune["children"])
    own = await figures_of(client, tokens, team=team.id.hex)
    assert (own["teams"], own["members"], own["active_volunteers"]) == (0, 0, 0)
    areas = await area_of_every_summary(sessions, {"19777"})
    await assert_true(client, sessions, tokens, areas)


async def test_a_visit_dated_before_registration_or_61_days_ago_is_refused_on_visited_on(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, DONG_BA)
    volunteer = await tokens(team.volunteers[0])
    new_id = (await enrol(client, volunteer, commune="19753"))["id"]
    old_id = demo_merchant_id(2)  # registered months ago
    before = await figures_of(client, tokens, team=team.id.hex)
    today = truth.vn_date(utc_now())
    refused = []
    for merchant_id, day in ((new_id, today - timedelta(days=1)), (old_id, today - timedelta(days=61))):
        body = visit_body(noon(day), visited_on=day.isoformat())
        refused.append(await post_visit(client, volunteer, merchant_id, body))
    for response in refused:
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["visited_on"], response.text
    day_60 = today - timedelta(days=60)
    accepted = await post_visit(
        client, volunteer, old_id, visit_body(noon(day_60), visited_on=day_60.isoformat())
    )
    assert accepted.status_code == 201, accepted.text
    after = await figures_of(client, tokens, team=team.id.hex)
    month = day_60.strftime("%Y-%m")
    assert after["visits_by_month"][month] == before["visits_by_month"][month] + 1
    assert sum(after["visits_by_month"].values()) == sum(before["visits_by_month"].values()) + 1
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_a_deleted_traders_visits_stay_in_visits_by_month(client, sessions, tokens) -> None:
    team = await team_of(sessions, DONG_BA)
    volunteer, leader = await tokens(team.volunteers[0]), await tokens(team.leader)
    new_id = (await enrol(client, volunteer, commune="19753"))["id"]
    old_id = demo_merchant_id(2)
    now = utc_now()
    assert (await post_visit(client, volunteer, new_id, visit_body(now))).status_code == 201
    assert (
        await post_visit(client, volunteer, old_id, visit_body(now - timedelta(days=40)))
    ).status_code == 201
    levels = {"team": {"team": team.id.hex}, "commune": {"area": "19753"}, "country": {}}
    before = {level: await figures_of(client, tokens, **params) for level, params in levels.items()}
    for merchant_id in (new_id, old_id):
        assert (await client.delete(f"/api/v1/merchants/{merchant_id}", headers=leader)).status_code == 204
    for level, params in levels.items():
        after = await figures_of(client, tokens, **params)
        assert after["merchants"] == before[level]["merchants"] - 2, level
        assert after["visits_by_month"] == before[level]["visits_by_month"], level  # the work happened
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_a_merge_keeps_both_records_events_and_visits_that_used_the_same_client_ids(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    volunteer, leader = await tokens(team.volunteers[0]), await tokens(team.leader)
    survivor = (await enrol(client, volunteer, commune="19753"))["id"]
    duplicate = (await enrol(client, volunteer, commune="19753"))["id"]
    for merchant_id in (survivor, duplicate):
        visit = {**visit_body(utc_now()), "client_event_id": "tablet-7-visit-1"}
        assert (await post_visit(client, volunteer, merchant_id, visit)).status_code == 201
        stage = {
            **stage_body("identity", utc_now() - timedelta(days=2)),
            "client_event_id": "tablet-7-stage-1",
        }
        assert (await post_stage(client, volunteer, merchant_id, stage)).status_code == 201
    before = await figures_of(client, tokens, team=team.id.hex)
    merged = await client.post(
        f"/api/v1/merchants/{survivor}/merge", json={"duplicate_id": duplicate}, headers=leader
    )
    assert merged.status_code == 200, merged.text
    async with sessions() as session:
        for model in (Visit, StageEvent):
            ids = sorted(
                await session.scalars(
                    select(model.client_event_id).where(
                        model.merchant_id == uuid.UUID(survivor), model.client_event_id.contains("tablet-7-")
                    )
                )
            )
            assert len(ids) == 2 and ids[1].startswith("tablet-7-") and ids[0].startswith("merged:"), ids
    after = await figures_of(client, tokens, team=team.id.hex)
    assert after["merchants"] == before["merchants"] - 1
    assert after["visits_by_month"] == before["visits_by_month"]  # both visits, now the survivor's
    assert after["reached"]["identity"] == after["holding"]["identity"] == before["holding"]["identity"] - 1
    await assert_true(client, sessions, tokens, [("team", team.id.hex), ("commune", "19753")])


async def test_a_use_dated_before_registration_counts_zero_days_to_qr_active(
    pinned_client, clock, sessions, tokens
) -> None:
    client = pinned_client  # at 00:02 in Vietnam on the first of a month: midnight never passes mid-test
    team = await team_of(sessions, GIA_HOI)
    volunteer = await tokens(team.volunteers[0])
    trader_id = (await enrol(client, volunteer, commune="19753"))["id"]
    now = clock()
    used = now - timedelta(days=20)
    for body in (
        stage_body("qr_issued", now - timedelta(days=30)),
        stage_body("qr_active", used, visit_on=truth.vn_date(used).isoformat(), customer_payments_7d=4),
    ):
        assert (await post_stage(client, volunteer, trader_id, body)).status_code == 201
    figures = await figures_of(client, tokens, team=team.id.hex)
    assert figures["median_days_to_qr_active"] == 0.0  # not -20: never fewer than 0 days
    await assert_true(client, sessions, tokens, [("team", team.id.hex)])


async def test_a_trader_who_keeps_a_receiving_account_through_a_merge_holds_bank_account(
    client, sessions, tokens
) -> None:
    team = await team_of(sessions, GIA_HOI)
    volunteer, leader = await tokens(team.volunteers[0]), await tokens(team.leader)
    survivor = (await enrol(client, volunteer, commune="19753"))["id"]
    duplicate = (await enrol(client, volunteer, commune="19753"))["id"]
    own = await client.post(
        f"/api/v1/merchants/{survivor}/payment-accounts",
        json={"bank_bin": "970436", "account": "0011001234567"},
        headers=volunteer,
    )
    kept = await client.post(
        f"/api/v1/merchants/{duplicate}/payment-accounts",
        json={"bank_bin": "970405", "account": "4000205123456"},
        headers=volunteer,
    )
    assert own.status_code == kept.status_code == 201
    removed = await client.delete(
        f"/api/v1/merchants/{survivor}/payment-accounts/{own.json()['id']}", headers=volunteer
    )
    assert removed.status_code == 204
    merged = await client.post(
        f"/api/v1/merchants/{survivor}/merge", json={"duplicate_id": duplicate}, headers=leader
    )
    assert merged.status_code == 200, merged.text
    accounts = await client.get(f"/api/v1/merchants/{survivor}/payment-accounts", headers=volunteer)
    assert [a["account"] for a in accounts.json()] == ["4000205123456"]
    await assert_true(client, sessions, tokens, [("team", team.id.hex)])  # the figures follow the log
    figures = await figures_of(client, tokens, team=team.id.hex)
    assert figures["holding"]["bank_account"] == 1  # and the log follows the facts


async def test_signals_of_real_use_equal_the_raw_tables_and_follow_a_move(
    pinned_client, clock, sessions, tokens
) -> None:
    """Weekly check-ins and storefront reach in the summary: a paying answer makes a paying merchant,
    a changed answer in the same week is no new check-in, a "0" afterwards leaves the earlier paying
    day standing; views and QR fetches flushed from memory count by month; moving the trader to
    another team moves all of it; every figure equals the raw tables and a rebuild."""
    from tests.integration.test_signals import flush
    from tests.integration.test_storefronts import BUN_HEN, BUN_HEN_SLUG

    client = pinned_client  # at 00:02 in Vietnam on the first of a month: midnight never passes mid-test

    team = await team_of(sessions, DONG_BA)
    volunteer = await tokens(team.volunteers[0])
    url = f"/api/v1/merchants/{BUN_HEN}/payment-checkins"
    assert (await client.get(url, headers=volunteer)).json() == []  # not paying before
    before = await figures_of(client, tokens, team=team.id.hex)
    set_up = clock()
    month_now = truth.vn_date(set_up).strftime("%Y-%m")
    assert (await client.post(url, json={"answer": "1-5"}, headers=volunteer)).status_code in (200, 201)
    assert (await client.post(url, json={"answer": "6-20"}, headers=volunteer)).status_code in (200, 201)
    earlier = (truth.vn_date(set_up) - timedelta(days=8)).isoformat()  # the week before: no answer yet
    zero = await client.post(url, json={"answer": "0", "day": earlier}, headers=volunteer)
    assert zero.status_code in (200, 201), zero.text
    phone = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36"}
    page = await client.get(f"/s/{BUN_HEN_SLUG}", headers=phone)
    assert page.status_code == 200
    assert (await client.get(f"/s/{BUN_HEN_SLUG}/qr.svg", headers=phone)).status_code == 200
    assert (
        await client.get(f"/s/{BUN_HEN_SLUG}", headers={"User-Agent": "Googlebot/2.1"})
    ).status_code == 200
    assert await flush(client) == 1
    after = await figures_of(client, tokens, team=team.id.hex)
    assert after["paying_merchants_30d"] == before["paying_merchants_30d"] + 1
    # Two weeks answered (the second answer of this week replaced the first), one a "0".
    assert sum(after["checkins_by_month"].values()) == sum(before["checkins_by_month"].values()) + 2
    assert after["storefront_views_by_month"][month_now] == before["storefront_views_by_month"][month_now] + 1
    assert after["qr_fetches_by_month"][month_now] == before["qr_fetches_by_month"][month_now] + 1
    await assert_true(
        client, sessions, tokens, [("team", team.id.hex), ("commune", "19753"), ("country", None)]
    )

    other = await team_of(sessions, GIA_HOI)
    leader = await tokens(team.leader)
    trader = (await client.get(f"/api/v1/merchants/{BUN_HEN}", headers=leader)).json()
    moved = await client.patch(
        f"/api/v1/merchants/{BUN_HEN}",
        json={"version": trader["version"], "team_id": other.id.hex},
        headers=await tokens(ADMIN),
    )
    assert moved.status_code == 200, moved.text
    gained = await figures_of(client, tokens, team=other.id.hex)
    assert gained["paying_merchants_30d"] == 1  # Gia Hội had no traders before
    assert sum(gained["storefront_views_by_month"].values()) >= 1
    await assert_true(
        client, sessions, tokens, [("team", team.id.hex), ("team", other.id.hex), ("commune", "19753")]
    )
