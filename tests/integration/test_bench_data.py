"""`onboard bench-data`: the generated data set is what the write path would have made of it."""

import asyncio
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from service import cli
from service.accounts.models import Team, User, team_villages
from service.db import create_engine, pg_admin, session_maker
from service.merchants.identifiers import normalize_phone
from service.merchants.models import Merchant
from service.merchants.services import _folds
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.services import as_rule
from service.onboarding.stages import local_date
from service.places.models import Village
from service.reports.models import ReportCount
from service.settings import Settings
from tests.conftest import PG_URL, SECRET, _pg_url, run_blocking

MERCHANTS = 2000


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh migrated database (not the demo template), filled by the command itself."""
    if PG_URL:
        name = f"onboard_bench_data_{os.getpid()}"
        run_blocking(asyncio.run, pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bench') / 'bench.sqlite3'}"
    saved = {k: os.environ.get(k) for k in ("ONBOARD_DATABASE_URL", "ONBOARD_SECRET_KEY")}
    os.environ.update(ONBOARD_DATABASE_URL=url, ONBOARD_SECRET_KEY=SECRET)
    try:
        code = run_blocking(cli.main, ["bench-data", "--merchants", str(MERCHANTS), "--seed", "3", "--quiet"])
        assert code == 0
        # A second run refuses: bench data goes into an empty database.
        assert run_blocking(cli.main, ["bench-data", "--merchants", "10", "--quiet"]) == 1
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield url
    if PG_URL:
        run_blocking(asyncio.run, pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def session(bench_url: str):
    engine = create_engine(Settings(database_url=bench_url, secret_key=SECRET))
    try:
        async with session_maker(engine)() as s:
            yield s
    finally:
        await engine.dispose()


async def test_every_province_has_merchants_and_the_count_is_exact(session) -> None:
    assert await session.scalar(select(func.count()).select_from(Merchant)) == MERCHANTS
    assert await session.scalar(select(func.count(func.distinct(Merchant.province_code)))) == 34
    communes = (
        await session.execute(select(Merchant.commune_code, func.count()).group_by(Merchant.commune_code))
    ).all()
    sizes = sorted(n for _, n in communes)
    assert sizes[-1] >= 5 * sizes[len(sizes) // 2]  # a few big communes, a long tail
    counted = select(func.sum(ReportCount.n)).where(
        ReportCount.level == "p", ReportCount.metric == "merchants"
    )
    assert await session.scalar(counted) == MERCHANTS  # the report counters were rebuilt


async def test_stage_columns_and_held_stages_are_progress_of_the_log(session) -> None:
    log: dict[uuid.UUID, list[StageEvent]] = defaultdict(list)
    for event in await session.scalars(select(StageEvent).order_by(StageEvent.occurred_at)):
        log[event.merchant_id].append(event)
    held: dict[uuid.UUID, set] = defaultdict(set)
    for row in await session.scalars(select(MerchantStage)):
        held[row.merchant_id].add((row.stage, row.reached_at, row.verified, row.event_id))
    reached = set()
    for merchant in await session.scalars(select(Merchant)):
        events = log[merchant.id]
        now = stages.progress(map(as_rule, events))
        assert (merchant.current_stage, merchant.stage_reached_at) == (
            now.stage,
            now.reached_at or merchant.created_at,
        )
        assert held[merchant.id] == {
            (code, event.occurred_at, code in now.verified, event.ref) for code, event in now.holds.items()
        }
        assert events[0].stage == "registered" and events[0].occurred_at == merchant.created_at
        assert events[0].client_event_id == f"auto:registered:{merchant.id.hex}"
        rules = [as_rule(e) for e in events]
        for n, event in enumerate(events):  # nothing the write path would have dropped as a repeat
            assert event.recorded_at >= event.occurred_at
            if event.kind != "verified":
                assert not stages.redundant(
                    rules[:n], stage=event.stage, at=event.occurred_at, kind=event.kind
                )
        reached |= now.ever
    assert reached == set(stages.BY_CODE)


async def test_funnel_falls_off_along_the_chain(session) -> None:
    counts = dict(
        (
            await session.execute(
                select(StageEvent.stage, func.count(func.distinct(StageEvent.merchant_id)))
                .where(StageEvent.kind == "reached")
                .group_by(StageEvent.stage)
            )
        ).all()
    )
    shares = [counts.get(s.code, 0) / MERCHANTS for s in stages.STAGES]
    assert shares[0] == 1
    assert 0.6 < shares[1] < 0.8 and 0.15 < shares[4] < 0.35 and shares[7] < 0.05
    assert shares[2:] == sorted(shares[2:], reverse=True)
    assert await session.scalar(select(func.count()).where(StageEvent.kind == "regressed")) > 0


async def test_visits_are_by_the_merchants_team_and_set_last_visits(session) -> None:
    assert not (
        await session.execute(
            select(Visit.id)
            .join(Merchant, Merchant.id == Visit.merchant_id)
            .join(User, User.id == Visit.volunteer_id)
            .where((User.team_id != Merchant.team_id) | User.role.not_in(("volunteer", "team_leader")))
        )
    ).all()
    latest: dict[uuid.UUID, Visit] = {}
    by_volunteer: dict[uuid.UUID, object] = {}
    for visit in await session.scalars(select(Visit)):
        assert visit.visited_on == local_date(visit.occurred_at)
        assert visit.next_follow_up is None or visit.next_follow_up > visit.visited_on
        best = latest.get(visit.merchant_id)
        if best is None or (visit.occurred_at, visit.recorded_at) > (best.occurred_at, best.recorded_at):
            latest[visit.merchant_id] = visit
        if by_volunteer.get(visit.volunteer_id, visit.occurred_at) <= visit.occurred_at:
            by_volunteer[visit.volunteer_id] = visit.occurred_at
    assert len(latest) > MERCHANTS // 2
    for merchant in await session.scalars(select(Merchant)):
        visit = latest.get(merchant.id)
        expected = (visit.occurred_at, visit.next_follow_up) if visit else (None, None)
        assert (merchant.last_visit_at, merchant.next_follow_up) == expected
    users = (await session.execute(select(User.id, User.last_visit_at))).all()
    assert {u: at for u, at in users if at is not None} == by_volunteer


async def test_teams_members_and_merchant_fields_look_real(session) -> None:
    members: dict[uuid.UUID, list[User]] = defaultdict(list)
    for user in await session.scalars(select(User).where(User.team_id.is_not(None))):
        members[user.team_id].append(user)
    villages = {v.id: v for v in await session.scalars(select(Village))}
    covered: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for team_id, village_id in await session.execute(select(team_villages)):
        covered[team_id].append(village_id)
    for team in await session.scalars(select(Team)):
        people = members[team.id]
        assert 3 <= len(people) <= 7
        leader = next(u for u in people if u.id == team.leader_id)
        assert leader.role == "team_leader"
        assert all(
            (u.province_code, u.commune_code) == (team.province_code, team.commune_code) for u in people
        )
        assert 1 <= len(covered[team.id]) <= 3
        assert all(villages[v].commune_code == team.commune_code for v in covered[team.id])
    for merchant in await session.scalars(select(Merchant)):
        assert normalize_phone(merchant.owner_phone) == merchant.owner_phone
        folds = _folds(
            {
                "business_name": merchant.business_name,
                "owner_name": merchant.owner_name,
                "market": merchant.market,
            }
        )
        assert (merchant.name_fold, merchant.search_fold) == (folds["name_fold"], folds["search_fold"])
        assert merchant.village_id is None or merchant.village_id in covered[merchant.team_id]
        assert merchant.consent_by_id in {u.id for u in members[merchant.team_id]}
    assert len({m for m in await session.scalars(select(Merchant.owner_phone))}) == MERCHANTS


async def test_indexes_dropped_for_the_load_are_back(session) -> None:
    from service.generated.national import _secondary_indexes

    tables = [Merchant.__table__, StageEvent.__table__, MerchantStage.__table__, Visit.__table__]
    dialect = (await session.connection()).dialect.name
    found = {name for name, _ in await _secondary_indexes(session, [t.name for t in tables], dialect=dialect)}
    assert found == {index.name for table in tables for index in table.indexes}
