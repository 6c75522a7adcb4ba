"""The officer summary recomputed from the raw tables, independently of the service.

Reads merchants, stage_events, visits, teams, users, team_villages, villages (and the province and
commune lists, to know the sub-areas) with plain selects and computes every figure in Python from
the definitions alone. It does not read the report counters, `merchant_stages`, the merchants'
`current_stage`/`stage_reached_at`, users' `last_visit_at`, nor call `stages.progress` or anything in
`service.reports`: a figure that agrees with this module agrees with the rules, not with a second
copy of the service's own bookkeeping.

The rules (Vietnam time is UTC+7, no daylight saving; "today" is Vietnam's date at `now`):

- A merchant is live while it is neither deleted nor merged into another record.
- Its stage events, replayed in the order they happened (occurred_at, then recorded_at): `reached`
  starts a hold of the stage unless it is held; `regressed` ends the hold if there is one; a hold
  ended by a `regressed` from a team leader's review was a rejected claim. `verified` changes none
  of these figures.
- holding: live merchants holding the stage at the end; using QR = holding qr_active.
- current stage: the highest stage held ("registered" if none), since the start of that hold
  (registration if none held); by_stage counts live merchants by current stage.
- reached: live merchants that had a hold of the stage not ended by a rejection.
- QR held, not used: holding qr_issued and not qr_active; installed but not using when that hold
  began 30 or more calendar days ago, just started otherwise.
- stalled: current stage below digital_ops, since 60 or more calendar days.
- new by month: live merchants by Vietnam month of registration, the last 12 months.
- visits by month: visits by month of visited_on, of merchants not merged away (a deleted
  merchant's visits still count), the last 12 months; likewise check-ins (by the day each week was
  first answered), storefront views and QR fetches (by day).
- paying merchants in 30 days: live merchants with an answer other than "0" on one of the last 30
  calendar days.
- medians (the area itself): days from the Vietnam date of registration to the Vietnam date the
  hold of qr_active (listed) began, over live merchants holding it.
- teams: active teams; members: active volunteers and team leaders of active teams; active
  volunteers (leaders): those members whose latest visit happened on or after the start of the
  Vietnam day 29 days before today.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User, team_villages
from service.merchants.models import Merchant
from service.onboarding.models import StageEvent, Visit
from service.payments.models import PaymentCheckin
from service.places.models import Commune, Province, Village
from service.storefronts.models import StorefrontReach

VIETNAM = timezone(timedelta(hours=7))
ORDER = (
    "registered",
    "identity",
    "bank_account",
    "qr_issued",
    "qr_active",
    "listed",
    "ecommerce",
    "digital_ops",
)
MEMBER_ROLES = ("volunteer", "team_leader")
MONTHS = 12
FIGURES = (
    "merchants",
    "by_stage",
    "holding",
    "using_qr",
    "using_qr_percent",
    "reached",
    "qr_held_not_used",
    "qr_just_started",
    "installed_not_using",
    "stalled",
    "teams",
    "members",
    "active_volunteers",
    "active_leaders",
    "visits_by_month",
    "new_by_month",
)


def vn_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def last_months(today: date, count: int = MONTHS) -> list[str]:
    keys = []
    year, month = today.year, today.month
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class Trader:
    """One merchant row, with what its log says."""

    id: uuid.UUID
    province: str
    commune: str
    village: uuid.UUID | None
    team: uuid.UUID
    created_at: datetime
    live: bool
    merged: bool
    holds: dict[str, datetime] = field(default_factory=dict)  # stage held at the end → hold began
    stood: set[str] = field(default_factory=set)  # holds not ended by a rejection
    visit_days: list[date] = field(default_factory=list)
    checkins: list[tuple[date, str]] = field(default_factory=list)  # (day first answered, answer)
    reach: list[tuple[date, int, int]] = field(default_factory=list)  # (day, views, qr fetches)

    @property
    def stage(self) -> str:
        held = [code for code in ORDER if code in self.holds]
        return held[-1] if held else "registered"

    @property
    def since(self) -> datetime:
        return self.holds.get(self.stage, self.created_at)

    @property
    def village_code(self) -> str:
        return self.village.hex if self.village else f"{self.commune}-"


@dataclass
class Person:
    id: uuid.UUID
    role: str
    team: uuid.UUID | None
    active: bool
    last_visit: datetime | None


@dataclass
class Squad:
    id: uuid.UUID
    province: str
    commune: str
    active: bool
    villages: set[uuid.UUID]


@dataclass
class World:
    traders: list[Trader]
    people: list[Person]
    squads: dict[uuid.UUID, Squad]
    villages: dict[uuid.UUID, str]  # village id → commune code
    communes: dict[str, str]  # commune code → province code
    provinces: list[str]


def replay(trader: Trader, events: Iterable[tuple[str, str, str, datetime, datetime]]) -> None:
    """Holds and rejected claims from (stage, kind, source, occurred_at, recorded_at) rows."""
    for stage, kind, source, occurred_at, _recorded_at in sorted(events, key=lambda e: (e[3], e[4])):
        if kind == "reached":
            if stage not in trader.holds:
                trader.holds[stage] = occurred_at
        elif kind == "regressed" and stage in trader.holds:
            del trader.holds[stage]
            if source != "review":
                trader.stood.add(stage)
    trader.stood |= set(trader.holds)


async def load(session: AsyncSession) -> World:
    traders: dict[uuid.UUID, Trader] = {}
    for row in await session.execute(
        select(
            Merchant.id,
            Merchant.province_code,
            Merchant.commune_code,
            Merchant.village_id,
            Merchant.team_id,
            Merchant.created_at,
            Merchant.deleted_at,
            Merchant.merged_into_id,
        )
    ):
        traders[row.id] = Trader(
            id=row.id,
            province=row.province_code,
            commune=row.commune_code,
            village=row.village_id,
            team=row.team_id,
            created_at=row.created_at,
            live=row.deleted_at is None and row.merged_into_id is None,
            merged=row.merged_into_id is not None,
        )
    logs: dict[uuid.UUID, list[tuple[str, str, str, datetime, datetime]]] = {}
    for row in await session.execute(
        select(
            StageEvent.merchant_id,
            StageEvent.stage,
            StageEvent.kind,
            StageEvent.source,
            StageEvent.occurred_at,
            StageEvent.recorded_at,
        )
    ):
        logs.setdefault(row.merchant_id, []).append(
            (row.stage, row.kind, row.source, row.occurred_at, row.recorded_at)
        )
    for merchant_id, log in logs.items():
        replay(traders[merchant_id], log)
    latest: dict[uuid.UUID, datetime] = {}
    for merchant_id, volunteer_id, visited_on, occurred_at in await session.execute(
        select(Visit.merchant_id, Visit.volunteer_id, Visit.visited_on, Visit.occurred_at)
    ):
        traders[merchant_id].visit_days.append(visited_on)
        if volunteer_id not in latest or occurred_at > latest[volunteer_id]:
            latest[volunteer_id] = occurred_at
    for merchant_id, day, answer in await session.execute(
        select(PaymentCheckin.merchant_id, PaymentCheckin.day, PaymentCheckin.answer)
    ):
        traders[merchant_id].checkins.append((day, answer))
    for merchant_id, day, views, fetches in await session.execute(
        select(
            StorefrontReach.merchant_id,
            StorefrontReach.day,
            StorefrontReach.views,
            StorefrontReach.qr_fetches,
        )
    ):
        traders[merchant_id].reach.append((day, views, fetches))
    covering: dict[uuid.UUID, set[uuid.UUID]] = {}
    for team_id, village_id in await session.execute(
        select(team_villages.c.team_id, team_villages.c.village_id)
    ):
        covering.setdefault(team_id, set()).add(village_id)
    squads = {
        row.id: Squad(
            id=row.id,
            province=row.province_code,
            commune=row.commune_code,
            active=bool(row.active),
            villages=covering.get(row.id, set()),
        )
        for row in await session.execute(select(Team.id, Team.province_code, Team.commune_code, Team.active))
    }
    people = [
        Person(
            id=row.id, role=row.role, team=row.team_id, active=bool(row.active), last_visit=latest.get(row.id)
        )
        for row in await session.execute(select(User.id, User.role, User.team_id, User.active))
    ]
    villages = dict((await session.execute(select(Village.id, Village.commune_code))).all())
    communes = dict((await session.execute(select(Commune.code, Commune.province_code))).all())
    provinces = sorted(await session.scalars(select(Province.code)))
    return World(
        traders=list(traders.values()),
        people=people,
        squads=squads,
        villages=villages,
        communes=communes,
        provinces=provinces,
    )


# --- figures of one area ------------------------------------------------------------------------


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), VIETNAM)


def figures(
    world: World, now: datetime, trader_in: Callable[[Trader], bool], squad_in: Callable[[Squad], bool]
) -> dict[str, Any]:
    """Every figure of the area whose merchants `trader_in` selects and whose teams `squad_in` does."""
    today = vn_date(now)
    months = last_months(today)
    mine = [t for t in world.traders if not t.merged and trader_in(t)]
    live = [t for t in mine if t.live]
    holding = Counter(code for t in live for code in t.holds)
    reached = Counter(code for t in live for code in t.stood)
    by_stage = Counter(t.stage for t in live)
    not_used = [t for t in live if "qr_issued" in t.holds and "qr_active" not in t.holds]
    installed = [t for t in not_used if vn_date(t.holds["qr_issued"]) <= today - timedelta(days=30)]
    stalled = [t for t in live if t.stage != "digital_ops" and vn_date(t.since) <= today - timedelta(days=60)]
    new = Counter(vn_date(t.created_at).strftime("%Y-%m") for t in live)
    visits = Counter(day.strftime("%Y-%m") for t in mine for day in t.visit_days)
    checkins = Counter(day.strftime("%Y-%m") for t in mine for day, _ in t.checkins)
    views, fetches = Counter(), Counter()
    for t in mine:
        for day, seen, fetched in t.reach:
            views[day.strftime("%Y-%m")] += seen
            fetches[day.strftime("%Y-%m")] += fetched
    # Paying: a live trader whose latest answer other than "0" was given on a day in the last 30.
    paying = [
        t
        for t in live
        if any(answer != "0" and day >= today - timedelta(days=29) for day, answer in t.checkins)
    ]
    squads = {s.id for s in world.squads.values() if s.active and squad_in(s)}
    members = [p for p in world.people if p.active and p.role in MEMBER_ROLES and p.team in squads]
    since = start_of_day(today - timedelta(days=29))
    recent = [p for p in members if p.last_visit is not None and p.last_visit >= since]
    merchants = len(live)
    using = holding["qr_active"]
    return {
        "merchants": merchants,
        "by_stage": {code: by_stage[code] for code in ORDER},
        "holding": {code: holding[code] for code in ORDER},
        "using_qr": using,
        "using_qr_percent": round(100 * using / merchants, 1) if merchants else 0.0,
        "reached": {code: reached[code] for code in ORDER},
        "qr_held_not_used": len(not_used),
        "qr_just_started": len(not_used) - len(installed),
        "installed_not_using": len(installed),
        "stalled": len(stalled),
        "teams": len(squads),
        "members": len(members),
        "active_volunteers": sum(1 for p in recent if p.role == "volunteer"),
        "active_leaders": sum(1 for p in recent if p.role == "team_leader"),
        "visits_by_month": {m: visits[m] for m in months},
        "new_by_month": {m: new[m] for m in months},
        "paying_merchants_30d": len(paying),
        "checkins_by_month": {m: checkins[m] for m in months},
        "storefront_views_by_month": {m: views[m] for m in months},
        "qr_fetches_by_month": {m: fetches[m] for m in months},
    }


def medians(world: World, trader_in: Callable[[Trader], bool]) -> dict[str, float | None]:
    live = [t for t in world.traders if t.live and trader_in(t)]
    return {
        f"median_days_to_{code}": median(
            # A stage recorded as held from before the trader was registered (noted on paper first)
            # counts as reached on the day of registration: 0 days, never fewer.
            [max(0, (vn_date(t.holds[code]) - vn_date(t.created_at)).days) for t in live if code in t.holds]
        )
        for code in ("qr_active", "listed")
    }


# --- areas ----------------------------------------------------------------------------------------


def _area(level: str, code: str | None) -> tuple[Callable[[Trader], bool], Callable[[Squad], bool]]:
    """Which merchants and which teams make the area."""
    if level == "country":
        return (lambda t: True), (lambda s: True)
    if level == "province":
        return (lambda t: t.province == code), (lambda s: s.province == code)
    if level == "commune":
        return (lambda t: t.commune == code), (lambda s: s.commune == code)
    if level == "village":
        if code and code.endswith("-"):
            commune = code[:-1]
            return (lambda t: t.commune == commune and t.village is None), (lambda s: False)
        village = uuid.UUID(code)
        return (lambda t: t.village == village), (lambda s: village in s.villages)
    team = uuid.UUID(code)
    return (lambda t: t.team == team), (lambda s: s.id == team)


def children(world: World, level: str, code: str | None) -> list[tuple[str, str]]:
    if level == "country":
        return [("province", p) for p in world.provinces]
    if level == "province":
        return [("commune", c) for c, p in sorted(world.communes.items()) if p == code]
    if level == "commune":
        villages = [("village", v.hex) for v, c in world.villages.items() if c == code]
        return [*villages, ("village", f"{code}-")]
    return []


def summary(world: World, now: datetime, level: str, code: str | None) -> dict[str, Any]:
    """What the summary of the area must say, its sub-areas (and a commune's teams) keyed by code."""
    trader_in, squad_in = _area(level, code)
    out = figures(world, now, trader_in, squad_in)
    out.update(medians(world, trader_in))
    out["children"] = {
        child: figures(world, now, *_area(kind, child)) for kind, child in children(world, level, code)
    }
    if level == "commune":
        out["teams_list"] = {
            s.id.hex: figures(world, now, *_area("team", s.id.hex))
            for s in world.squads.values()
            if s.commune == code and s.active
        }
    return out


def differences(got: dict[str, Any], expected: dict[str, Any], where: str) -> list[str]:
    """Every figure of a summary response that differs from the truth, as readable lines."""
    out: list[str] = []

    def compare(got_figures: dict[str, Any], truth: dict[str, Any], place: str) -> None:
        for name in FIGURES:
            if got_figures.get(name) != truth[name]:
                if isinstance(truth[name], dict):
                    keys = sorted(set(truth[name]) | set(got_figures.get(name) or {}))
                    for key in keys:
                        a, b = (got_figures.get(name) or {}).get(key), truth[name].get(key)
                        if a != b:
                            out.append(f"{place} {name}[{key}]: summary {a}, truth {b}")
                else:
                    out.append(f"{place} {name}: summary {got_figures.get(name)}, truth {truth[name]}")

    compare(got, expected, where)
    for name in ("median_days_to_qr_active", "median_days_to_listed"):
        if got.get(name) != expected[name]:
            out.append(f"{where} {name}: summary {got.get(name)}, truth {expected[name]}")
    for part in ("children", "teams_list"):
        if part not in expected:
            continue
        rows = {row["code"]: row for row in got.get(part, [])}
        if set(rows) != set(expected[part]):
            out.append(f"{where} {part}: summary {sorted(rows)}, truth {sorted(expected[part])}")
        for code, truth in expected[part].items():
            if code in rows:
                compare(rows[code], truth, f"{where} > {'sub-area' if part == 'children' else 'team'} {code}")
    return out
