"""Summary counters: what each merchant adds to the figures of the areas it belongs to.

A merchant contributes, at each level it belongs to (province, commune, village, team):

- `merchants`           1
- `stage/<code>`        1 for its current stage
- `hold/<code>`         1 for every stage it holds now, whatever its highest ("using QR now" is
                        `hold/qr_active`)
- `reached/<code>`      1 for every stage it ever held by a claim that stood (`Progress.stood`: a
                        claim a team leader rejected does not count)
- `new/<YYYY-MM>`       1 for the month it was registered
- `stalled_on/<day>`    the day its current stage was reached, unless it is at the last stage
- `unused`, `unused_on/<day>`  1, and the day it got its QR code, while it holds `qr_issued` and
                        not `qr_active`
- `to_qr_active/<days>`, `to_listed/<days>`  days from registration to holding that stage
- `visits/<YYYY-MM>`    its visits per month; a deleted merchant keeps these (the work happened),
                        a merged one's moved to the survivor

Days and months are Vietnam's calendar. A figure such as "QR issued 30+ days ago" is `unused` less
the `unused_on` buckets after a cut-off day chosen at read time (at most 30 rows), so it is exact
whenever it is asked; stalled is likewise the merchants below the last stage less the recent
`stalled_on` buckets.

The counters follow the traders through the one seam (`merchants.events`), in the transaction of
the change and under the trader's row lock: a stage change announces its standing before and after
(`stage_changed`) and the difference is added; a visit adds itself; registration, an edit that
moves a merchant, deletion and merge are recounted (`contributions` before the change, the same
after it, the difference added), and anything that happens to those merchants meanwhile (stage 1 of
a registration, the survivor's recomputed stage after a merge) is inside that recount. An import
counts its merchants by where and when they registered (`add_registered`). `rebuild` recomputes
everything from the raw tables with set-based SQL; tests compare the two.
"""

import contextvars
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, delete, func, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.merchants import events
from service.merchants.bulk import insert_rows
from service.merchants.models import Merchant, live
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.stages import STAGES, local_date
from service.reports.models import ReportCount

Figure = tuple[str, str]  # (metric, bucket)
Key = tuple[str, str, str, str]  # (level, area, metric, bucket)
LEVELS = ("p", "c", "v", "t")
LAST_STAGE = STAGES[-1].code
CHUNK = 5000  # ids per IN (...) when loading contributions (both databases bind 32,766 values)
RECOUNTING = "report_counters_recounting"  # session.info: merchants a recount in progress covers

_disabled = contextvars.ContextVar("report_counters_disabled", default=False)


@contextmanager
def disabled() -> Iterator[None]:
    """Turn counter maintenance off (the benchmark's baseline only: the figures drift)."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def month(day: date) -> str:
    return day.strftime("%Y-%m")


def days_bucket(days: int) -> str:
    return f"{max(days, 0):05d}"  # sorts as text


def village_key(commune_code: str, village_id: uuid.UUID | None) -> str:
    return village_id.hex if village_id else f"{commune_code}-"


@dataclass(frozen=True)
class MerchantState:
    """What the figures need to know about one merchant that is not merged away."""

    province_code: str
    commune_code: str
    village_id: uuid.UUID | None
    team_id: uuid.UUID
    created_at: datetime
    current_stage: str
    stage_reached_at: datetime
    holds: Mapping[str, datetime] = field(default_factory=dict)  # merchant_stages: stage → reached_at
    reached: frozenset[str] = frozenset()  # Progress.stood
    visit_days: tuple[date, ...] = ()
    live: bool = True  # deleted merchants keep their visits only

    def areas(self) -> tuple[tuple[str, str], ...]:
        return areas_of(self.province_code, self.commune_code, self.village_id, self.team_id)


def areas_of(
    province_code: str, commune_code: str, village_id: uuid.UUID | None, team_id: uuid.UUID
) -> tuple[tuple[str, str], ...]:
    return (
        ("p", province_code),
        ("c", commune_code),
        ("v", village_key(commune_code, village_id)),
        ("t", team_id.hex),
    )


def stage_figures(state: MerchantState) -> Counter[Figure]:
    """The figures that follow the merchant's profile and stages (none once it is deleted)."""
    if not state.live:
        return Counter()
    created = local_date(state.created_at)
    figures: Counter[Figure] = Counter(
        {("merchants", ""): 1, ("stage", state.current_stage): 1, ("new", month(created)): 1}
    )
    for code in state.reached:
        figures["reached", code] += 1
    for code in state.holds:
        figures["hold", code] += 1
    if state.current_stage != LAST_STAGE:
        figures["stalled_on", local_date(state.stage_reached_at).isoformat()] += 1
    if "qr_issued" in state.holds and "qr_active" not in state.holds:
        figures["unused", ""] += 1
        figures["unused_on", local_date(state.holds["qr_issued"]).isoformat()] += 1
    for code in ("qr_active", "listed"):
        if code in state.holds:
            figures[f"to_{code}", days_bucket((local_date(state.holds[code]) - created).days)] += 1
    return figures


def visit_figures(state: MerchantState) -> Counter[Figure]:
    return Counter(("visits", month(day)) for day in state.visit_days)


def spread(state: MerchantState, figures: Mapping[Figure, int], sign: int = 1) -> Counter[Key]:
    """The figures, at every level the merchant belongs to."""
    out: Counter[Key] = Counter()
    for level, area in state.areas():
        for (metric, bucket), n in figures.items():
            out[level, area, metric, bucket] += sign * n
    return out


async def states(session: AsyncSession, merchant_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, MerchantState]:
    """These merchants as the figures see them (merged ones contribute nothing)."""
    ids = list(dict.fromkeys(merchant_ids))
    found: dict[uuid.UUID, MerchantState] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(await _load(session, lambda column, chunk=chunk: column.in_(chunk)))
    return found


async def _load(
    session: AsyncSession, which: Callable[[ColumnElement], ColumnElement[bool]]
) -> dict[uuid.UUID, MerchantState]:
    """The merchants whose id `which` selects, with their held stages, the stages that stood (their
    log replayed by the same rules as the write path) and visit days (one query per table)."""
    rows = (
        await session.execute(
            select(
                Merchant.id,
                Merchant.province_code,
                Merchant.commune_code,
                Merchant.village_id,
                Merchant.team_id,
                Merchant.created_at,
                Merchant.current_stage,
                Merchant.stage_reached_at,
                Merchant.deleted_at,
            ).where(which(Merchant.id), Merchant.merged_into_id.is_(None))
        )
    ).all()
    if not rows:
        return {}
    holds: dict[uuid.UUID, dict[str, datetime]] = {}
    for merchant_id, stage, reached_at in await session.execute(
        select(MerchantStage.merchant_id, MerchantStage.stage, MerchantStage.reached_at).where(
            which(MerchantStage.merchant_id)
        )
    ):
        holds.setdefault(merchant_id, {})[stage] = reached_at
    logs: dict[uuid.UUID, list[stages.Event]] = {}
    for merchant_id, stage, kind, source, occurred_at, recorded_at in await session.execute(
        select(
            StageEvent.merchant_id,
            StageEvent.stage,
            StageEvent.kind,
            StageEvent.source,
            StageEvent.occurred_at,
            StageEvent.recorded_at,
        ).where(which(StageEvent.merchant_id), StageEvent.kind != "verified")
    ):
        logs.setdefault(merchant_id, []).append(
            stages.Event(stage=stage, kind=kind, source=source, occurred_at=occurred_at, recorded_at=recorded_at)
        )
    visits: dict[uuid.UUID, list[date]] = {}
    for merchant_id, visited_on in await session.execute(
        select(Visit.merchant_id, Visit.visited_on).where(which(Visit.merchant_id))
    ):
        visits.setdefault(merchant_id, []).append(visited_on)
    return {
        row.id: MerchantState(
            province_code=row.province_code,
            commune_code=row.commune_code,
            village_id=row.village_id,
            team_id=row.team_id,
            created_at=row.created_at,
            current_stage=row.current_stage,
            stage_reached_at=row.stage_reached_at,
            holds=holds.get(row.id, {}),
            reached=stages.progress(logs.get(row.id, ())).stood,
            visit_days=tuple(visits.get(row.id, ())),
            live=row.deleted_at is None,
        )
        for row in rows
    }


def total(found: Iterable[MerchantState]) -> Counter[Key]:
    """The contributions of many merchants. Merchants of one team registered on one day at one stage
    contribute alike (an import: thousands of them), so each distinct contribution is spread once."""
    alike: Counter[tuple] = Counter()
    for state in found:
        figures = stage_figures(state) + visit_figures(state)
        alike[state.areas(), frozenset(figures.items())] += 1
    out: Counter[Key] = Counter()
    for (areas, figures), times in alike.items():
        for level, area in areas:
            for (metric, bucket), n in figures:
                out[level, area, metric, bucket] += n * times
    return out


async def contributions(session: AsyncSession, merchant_ids: Iterable[uuid.UUID]) -> Counter[Key]:
    return total((await states(session, merchant_ids)).values())


async def apply(session: AsyncSession, delta: Mapping[Key, int]) -> None:
    """Add a difference to the stored counters, in one statement. Rows are written in key order,
    so two transactions touching the same areas lock them in the same order (no deadlock)."""
    rows = [
        {"level": level, "area": area, "metric": metric, "bucket": bucket, "n": n}
        for (level, area, metric, bucket), n in sorted(delta.items())
        if n
    ]
    if not rows or _disabled.get():
        return
    table = ReportCount.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.level, table.c.area, table.c.metric, table.c.bucket],
        set_={"n": table.c.n + insert.excluded.n},
    )
    await session.execute(statement, rows)


def difference(after: Counter[Key], before: Counter[Key]) -> Counter[Key]:
    delta = Counter(after)
    delta.subtract(before)
    return delta


async def recount(
    session: AsyncSession, merchant_ids: Sequence[uuid.UUID], *, before: Mapping[Key, int]
) -> None:
    """After a change the stage write path does not see: add what these merchants contribute now
    less what they did `before` it (`contributions` taken then; empty for new merchants)."""
    if not _disabled.get():
        await apply(session, difference(await contributions(session, merchant_ids), Counter(before)))


async def add_registered(session: AsyncSession, merchant_ids: Sequence[uuid.UUID]) -> None:
    """New merchants that hold stage 1 only (an import, after `record_registered`): their figures
    follow from where they are and the day they registered, so only those columns are read, and
    each distinct (areas, day) is counted once."""
    if _disabled.get():
        return
    alike: Counter[tuple] = Counter()
    first: dict[tuple, MerchantState] = {}
    for start in range(0, len(merchant_ids), CHUNK):
        rows = await session.execute(
            select(
                Merchant.province_code,
                Merchant.commune_code,
                Merchant.village_id,
                Merchant.team_id,
                Merchant.created_at,
                Merchant.stage_reached_at,
            ).where(Merchant.id.in_(merchant_ids[start : start + CHUNK]), live())
        )
        for province, commune, village, team, created_at, reached_at in rows:
            key = (province, commune, village, team, local_date(created_at), local_date(reached_at))
            alike[key] += 1
            if key not in first:
                first[key] = MerchantState(
                    province_code=province,
                    commune_code=commune,
                    village_id=village,
                    team_id=team,
                    created_at=created_at,
                    current_stage="registered",
                    stage_reached_at=reached_at,
                    holds={"registered": created_at},
                    reached=frozenset({"registered"}),
                )
    out: Counter[Key] = Counter()
    for key, times in alike.items():
        state = first[key]
        out.update(spread(state, {figure: n * times for figure, n in stage_figures(state).items()}))
    await apply(session, out)


# --- listening to the traders' changes ---------------------------------------------------------


def _recounting(session: AsyncSession) -> Counter[uuid.UUID]:
    return session.info.setdefault(RECOUNTING, Counter())


@events.reacts_to("registered", "imported", "moved", "merged", "deleted", order=100)
async def _recount_around(session: AsyncSession, event: events.TraderEvent) -> AsyncIterator[None]:
    """Count the merchants before the change and again after it. Whatever else happens to them
    meanwhile (stage 1 of a registration, a merge's recomputed stage) is inside the difference, so
    the stage listener below leaves them alone until then."""
    ids = list(event.merchant_ids)
    new = event.kind in events.NEW_TRADERS
    before = Counter() if new or _disabled.get() else await contributions(session, ids)
    recounting = _recounting(session)
    recounting.update(ids)
    try:
        yield
    finally:
        recounting.subtract(ids)
        for merchant_id in ids:
            if recounting[merchant_id] <= 0:
                del recounting[merchant_id]
    if event.kind == "imported":
        await add_registered(session, ids)
    else:
        await recount(session, ids, before=before)


def _state_of(place: events.Place, standing: events.Standing) -> MerchantState:
    return MerchantState(
        province_code=place.province_code,
        commune_code=place.commune_code,
        village_id=place.village_id,
        team_id=place.team_id,
        created_at=place.created_at,
        current_stage=standing.stage,
        stage_reached_at=standing.reached_at,
        holds=standing.holds,
        reached=standing.stood,
    )


@events.reacts_to("stage_changed", order=100)
async def _stage_changed(session: AsyncSession, event: events.TraderEvent) -> None:
    """The difference a stage change makes, from the standing before and after it."""
    if any(merchant_id in _recounting(session) for merchant_id in event.merchant_ids):
        return
    place: events.Place = event.detail["place"]
    after = _state_of(place, event.detail["after"])
    before = _state_of(place, event.detail["before"])
    await apply(session, difference(spread(after, stage_figures(after)), spread(before, stage_figures(before))))


@events.reacts_to("visit_recorded", order=100)
async def _visit_recorded(session: AsyncSession, event: events.TraderEvent) -> None:
    place: events.Place = event.detail["place"]
    areas = areas_of(place.province_code, place.commune_code, place.village_id, place.team_id)
    await apply(session, Counter({(level, area, "visits", month(event.detail["visited_on"])): 1 for level, area in areas}))


# --- rebuilding from the raw tables ----------------------------------------------------------


def _local(column: Any, dialect: str, pattern: str) -> ColumnElement[str]:
    """A UTC timestamp column as Vietnam's calendar day ("day") or month ("month"), as text."""
    if dialect == "postgresql":
        shifted = func.timezone("UTC", column) + text("interval '7 hours'")
        return func.to_char(shifted, "YYYY-MM-DD" if pattern == "day" else "YYYY-MM")
    return func.strftime("%Y-%m-%d" if pattern == "day" else "%Y-%m", column, "+7 hours")


def _day_number(column: Any, dialect: str) -> ColumnElement[int]:
    """A UTC timestamp column as a count of Vietnam's calendar days (for differences of days)."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column) + text("interval '7 hours'")) - literal_column("date '2000-01-01'")
    return cast(func.julianday(func.date(column, "+7 hours")), Integer)


def _date_month(column: Any, dialect: str) -> ColumnElement[str]:
    return func.to_char(column, "YYYY-MM") if dialect == "postgresql" else func.strftime("%Y-%m", column)


def _stood():
    """(merchant_id, stage) of every stage held by a claim that stood, in SQL: the log's moves per
    merchant and stage in the order they happened, each hold's start (a `reached` after nothing or
    after a `regressed`) paired with the `regressed` that ended it; a hold counts unless a team
    leader's review ended it. The same rule as `stages.progress(...).stood`."""
    e = StageEvent
    order = (e.occurred_at, e.recorded_at)
    moves = (
        select(
            e.merchant_id,
            e.stage,
            e.kind,
            e.source,
            e.occurred_at,
            e.recorded_at,
            func.lag(e.kind).over(partition_by=(e.merchant_id, e.stage), order_by=order).label("prev"),
        )
        .where(e.kind.in_(("reached", "regressed")))
        .subquery("moves")
    )
    m = moves.c
    turns = (
        select(
            m.merchant_id,
            m.stage,
            m.kind,
            func.lead(m.source)
            .over(partition_by=(m.merchant_id, m.stage), order_by=(m.occurred_at, m.recorded_at))
            .label("ended_by"),
        )
        .where(
            ((m.kind == "reached") & ((m.prev.is_(None)) | (m.prev == "regressed")))
            | ((m.kind == "regressed") & (m.prev == "reached"))
        )
        .subquery("turns")
    )
    t = turns.c
    return (
        select(t.merchant_id, t.stage)
        .where(t.kind == "reached", (t.ended_by.is_(None)) | (t.ended_by != "review"))
        .distinct()
        .subquery("stood")
    )


async def _figures_from_tables(session: AsyncSession) -> Counter[Key]:
    """Every counter, computed by the database from the raw tables: one GROUP BY per figure over the
    merchants' place, then spread to the four levels here (a few rows per area and bucket)."""
    dialect = session.get_bind().dialect.name
    m = Merchant
    place = (m.province_code, m.commune_code, m.village_id, m.team_id)
    alive = live()
    held = MerchantStage
    qr_active = held.__table__.alias("qr_active")
    queries: list[tuple[str, Any, Callable[[Any], str]]] = [
        ("merchants", select(*place, literal_column("''"), func.count()).where(alive), str),
        ("stage", select(*place, m.current_stage, func.count()).where(alive), str),
        ("new", select(*place, _local(m.created_at, dialect, "month"), func.count()).where(alive), str),
        (
            "stalled_on",
            select(*place, _local(m.stage_reached_at, dialect, "day"), func.count()).where(
                alive, m.current_stage != LAST_STAGE
            ),
            str,
        ),
        (
            "hold",
            select(*place, held.stage, func.count()).join(held, held.merchant_id == m.id).where(alive),
            str,
        ),
        (
            "unused_on",
            select(*place, _local(held.reached_at, dialect, "day"), func.count())
            .join(held, and_(held.merchant_id == m.id, held.stage == "qr_issued"))
            .outerjoin(qr_active, and_(qr_active.c.merchant_id == m.id, qr_active.c.stage == "qr_active"))
            .where(alive, qr_active.c.merchant_id.is_(None)),
            str,
        ),
    ]
    for code in ("qr_active", "listed"):
        days = _day_number(held.reached_at, dialect) - _day_number(m.created_at, dialect)
        queries.append(
            (
                f"to_{code}",
                select(*place, days, func.count())
                .join(held, and_(held.merchant_id == m.id, held.stage == code))
                .where(alive),
                lambda d: days_bucket(int(d)),
            )
        )
    stood = _stood()
    queries.append(
        (
            "reached",
            select(*place, stood.c.stage, func.count()).join(stood, stood.c.merchant_id == m.id).where(alive),
            str,
        )
    )
    queries.append(
        (
            "visits",
            select(*place, _date_month(Visit.visited_on, dialect), func.count())
            .join(Visit, Visit.merchant_id == m.id)
            .where(m.merged_into_id.is_(None)),
            str,
        )
    )
    out: Counter[Key] = Counter()
    for metric, query, bucket_of in queries:
        columns = list(query.selected_columns)
        rows = await session.execute(query.group_by(*columns[:5]))
        for province, commune, village, team, bucket, n in rows:
            bucket = bucket_of(bucket)
            for level, area in areas_of(province, commune, village, team):
                out[level, area, metric, bucket] += n
            if metric == "unused_on":
                for level, area in areas_of(province, commune, village, team):
                    out[level, area, "unused", ""] += n
    return out


async def rebuild(session: AsyncSession) -> int:
    """Recompute every counter, and each volunteer's latest visit, from the raw tables (after a bulk
    load, or to check the write paths), in set-based SQL. Returns how many merchants were counted."""
    await session.execute(
        update(User).values(
            last_visit_at=select(func.max(Visit.occurred_at))
            .where(Visit.volunteer_id == User.id)
            .scalar_subquery()
        )
    )
    counted_now = await _figures_from_tables(session)
    await session.execute(delete(ReportCount))
    # The table is empty: plain bulk inserts (COPY on PostgreSQL), not upserts.
    await insert_rows(
        session,
        ReportCount.__table__,
        ("level", "area", "metric", "bucket", "n"),
        [(*key, n) for key, n in sorted(counted_now.items()) if n],
    )
    return int(await session.scalar(select(func.count()).select_from(Merchant).where(live())) or 0)


async def stored(session: AsyncSession) -> Counter[Key]:
    """Every non-zero counter as stored (tests compare it with `rebuild`)."""
    rows = await session.execute(
        select(ReportCount.level, ReportCount.area, ReportCount.metric, ReportCount.bucket, ReportCount.n)
    )
    return Counter({(level, area, metric, bucket): n for level, area, metric, bucket, n in rows if n})
