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
- `checkins/<YYYY-MM>`  its weekly payment check-ins (payments.checkins) by the month each week
                        was first answered; kept like visits
- `paid_on/<day>`       1, on the latest day it reported a cashless payment in a check-in (live
                        merchants): "paying in the last 30 days" is a short range of these
- `views/<YYYY-MM>`, `qr_fetches/<YYYY-MM>`  its public storefront page's views and payment QR
                        fetches per month (storefronts.reach); kept like visits

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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from advanced_alchemy.types import GUID
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.merchants import events
from service.merchants.models import Merchant, live
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.stages import STAGES, local_date
from service.payments.checkins import paid as checkin_paid
from service.payments.models import PaymentCheckin
from service.reports.models import ReportCount
from service.storefronts.models import StorefrontReach

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
    checkin_days: tuple[date, ...] = ()  # the day each week's check-in was first answered
    last_paid_on: date | None = None  # the latest day of a paying check-in
    reach: Mapping[Figure, int] = field(default_factory=dict)  # (views|qr_fetches, month) → n
    live: bool = True  # deleted merchants keep only what records work done (visits, signals)

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
    """What happened at and around the trader whether or not it is still listed: visits, check-ins,
    storefront reach (and, while live, its latest paying day)."""
    figures = Counter(("visits", month(day)) for day in state.visit_days)
    figures.update(("checkins", month(day)) for day in state.checkin_days)
    figures.update(state.reach)
    if state.live and state.last_paid_on is not None:
        figures["paid_on", state.last_paid_on.isoformat()] += 1
    return figures


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
            stages.Event(
                stage=stage, kind=kind, source=source, occurred_at=occurred_at, recorded_at=recorded_at
            )
        )
    visits: dict[uuid.UUID, list[date]] = {}
    for merchant_id, visited_on in await session.execute(
        select(Visit.merchant_id, Visit.visited_on).where(which(Visit.merchant_id))
    ):
        visits.setdefault(merchant_id, []).append(visited_on)
    checkins: dict[uuid.UUID, list[date]] = {}
    paid_on: dict[uuid.UUID, date] = {}
    for merchant_id, day, answer in await session.execute(
        select(PaymentCheckin.merchant_id, PaymentCheckin.day, PaymentCheckin.answer).where(
            which(PaymentCheckin.merchant_id)
        )
    ):
        checkins.setdefault(merchant_id, []).append(day)
        if checkin_paid(answer) and (merchant_id not in paid_on or paid_on[merchant_id] < day):
            paid_on[merchant_id] = day
    reach: dict[uuid.UUID, Counter[Figure]] = {}
    r = StorefrontReach
    for merchant_id, day, views, fetches in await session.execute(
        select(r.merchant_id, r.day, r.views, r.qr_fetches).where(which(r.merchant_id))
    ):
        counts = reach.setdefault(merchant_id, Counter())
        counts["views", month(day)] += views
        counts["qr_fetches", month(day)] += fetches
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
            checkin_days=tuple(checkins.get(row.id, ())),
            last_paid_on=paid_on.get(row.id),
            reach=+reach.get(row.id, Counter()),
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
    await apply(
        session, difference(spread(after, stage_figures(after)), spread(before, stage_figures(before)))
    )


@events.reacts_to("payment_reported", order=100)
async def _payment_reported(session: AsyncSession, event: events.TraderEvent) -> None:
    """A new week's check-in counts in its month; the trader's latest paying day moves."""
    place: events.Place = event.detail["place"]
    figures: Counter[Figure] = Counter()
    if not event.detail["replaced"]:
        figures["checkins", month(event.detail["day"])] += 1
    previous, latest = event.detail["previous"], event.detail["latest"]
    if previous != latest:
        if previous is not None:
            figures["paid_on", previous.isoformat()] -= 1
        if latest is not None:
            figures["paid_on", latest.isoformat()] += 1
    areas = areas_of(place.province_code, place.commune_code, place.village_id, place.team_id)
    await apply(
        session,
        Counter({(level, area, *figure): n for level, area in areas for figure, n in figures.items()}),
    )


@events.reacts_to("storefront_reach", order=100)
async def _storefront_reach(session: AsyncSession, event: events.TraderEvent) -> None:
    """Storefront views and QR fetches, flushed in batches, at each trader's areas."""
    counts: Mapping[uuid.UUID, Mapping[Figure, int]] = event.detail["counts"]
    m = Merchant
    rows = await session.execute(
        select(m.id, m.province_code, m.commune_code, m.village_id, m.team_id).where(
            m.id.in_(list(counts)), m.merged_into_id.is_(None)
        )
    )
    delta: Counter[Key] = Counter()
    for merchant_id, province, commune, village, team in rows:
        for level, area in areas_of(province, commune, village, team):
            for (metric, bucket), n in counts[merchant_id].items():
                delta[level, area, metric, bucket] += n
    await apply(session, delta)


@events.reacts_to("visit_recorded", order=100)
async def _visit_recorded(session: AsyncSession, event: events.TraderEvent) -> None:
    place: events.Place = event.detail["place"]
    areas = areas_of(place.province_code, place.commune_code, place.village_id, place.team_id)
    await apply(
        session,
        Counter({(level, area, "visits", month(event.detail["visited_on"])): 1 for level, area in areas}),
    )


# --- rebuilding from the raw tables ----------------------------------------------------------


EPOCH = date(1970, 1, 1)
OLD = "0000-00-00"  # the day bucket that holds every day older than any cut a summary makes
KEEP_DAYS = 62  # a summary cuts day buckets at most 60 days back; older ones are only summed
DAY_METRICS = ("stalled_on", "unused_on", "paid_on")


def fold(day: date, *, today: date) -> str:
    """A day bucket as a rebuild writes it: the day, or OLD once no summary reads it apart."""
    return day.isoformat() if day >= today - timedelta(days=KEEP_DAYS) else OLD


def folded(counts: Mapping[Key, int], *, today: date) -> Counter[Key]:
    """Counters with every old day bucket folded into OLD, the form a rebuild writes: the write
    paths add to exact days, a rebuild folds the old ones, and both give every summary the same
    figures. Compare the two in this form."""
    out: Counter[Key] = Counter()
    for (level, area, metric, bucket), n in counts.items():
        if metric in DAY_METRICS and bucket != OLD:
            bucket = fold(date.fromisoformat(bucket), today=today)
        out[level, area, metric, bucket] += n
    return Counter({key: n for key, n in out.items() if n})


def _day(column: Any, dialect: str) -> ColumnElement[int]:
    """A UTC timestamp as Vietnam's calendar day, counted in days since 1970-01-01 (exact integers)."""
    if dialect == "postgresql":
        return cast(func.floor((func.extract("epoch", column) + 7 * 3600) / 86400), Integer)
    return (cast(func.strftime("%s", column), Integer) + 7 * 3600) // 86400


def _month(column: Any, dialect: str) -> ColumnElement[str]:
    """A UTC timestamp as Vietnam's calendar month, "YYYY-MM"."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column) + text("interval '7 hours'"), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+7 hours")


def _day_text(column: Any, dialect: str) -> ColumnElement[str]:
    """A UTC timestamp as Vietnam's calendar day, "YYYY-MM-DD"."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column) + text("interval '7 hours'"), "YYYY-MM-DD")
    return func.date(column, "+7 hours")


def _date_text(column: Any, dialect: str, length: int) -> ColumnElement[str]:
    """A date column as text: its month ("YYYY-MM", length 7) or its day (length 10)."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM" if length == 7 else "YYYY-MM-DD")
    return func.substr(column, 1, length)


def _folded(day: ColumnElement[str], cutoff: str) -> ColumnElement[str]:
    """A day bucket as `fold` makes it."""
    return case((day >= cutoff, day), else_=literal(OLD, String))


def _days_bucket(days: ColumnElement[int], dialect: str) -> ColumnElement[str]:
    """`days_bucket` in SQL."""
    if dialect == "postgresql":
        return func.lpad(cast(func.greatest(days, 0), String), 5, "0")
    return func.printf("%05d", func.max(days, 0))


def _hex(column: Any, dialect: str) -> ColumnElement[str]:
    """A UUID column as `uuid.hex` writes it."""
    if dialect == "postgresql":
        return func.replace(cast(column, String), "-", "")
    return func.lower(func.hex(column))


def _rejected():
    """(merchant_id, stage) of the stages every hold of which a team leader rejected. Among the pairs
    with a rejection: the log's moves in the order they happened; each hold's start (a `reached`
    after nothing or after a `regressed`) and its end (a `regressed` after a `reached`) are its
    turns; a hold stood unless the turn after its start is a review's. The pair is rejected when no
    hold of it stood. The same rule as `stages.progress(...).stood`."""
    e = StageEvent
    candidates = select(e.merchant_id, e.stage).where(e.kind == "regressed", e.source == "review").distinct()
    moves = (
        select(
            e.merchant_id,
            e.stage,
            e.kind,
            e.source,
            e.occurred_at,
            e.recorded_at,
            func.lag(e.kind)
            .over(partition_by=(e.merchant_id, e.stage), order_by=(e.occurred_at, e.recorded_at))
            .label("prev"),
        )
        .where(e.kind.in_(("reached", "regressed")), tuple_(e.merchant_id, e.stage).in_(candidates))
        .subquery("moves")
    )
    m = moves.c
    turns = (  # the window runs over the rows the WHERE keeps: the turns
        select(
            m.merchant_id,
            m.stage,
            m.kind,
            func.lead(m.source)
            .over(partition_by=(m.merchant_id, m.stage), order_by=(m.occurred_at, m.recorded_at))
            .label("ended_by"),
        )
        .where(
            ((m.kind == "reached") & (m.prev.is_(None) | (m.prev == "regressed")))
            | ((m.kind == "regressed") & (m.prev == "reached"))
        )
        .subquery("turns")
    )
    t = turns.c
    stood = select(t.merchant_id, t.stage).where(
        t.kind == "reached", t.ended_by.is_(None) | (t.ended_by != "review")
    )
    return candidates.except_(stood).subquery("rejected")


# What each merchant contributes, added up per place (province, commune, village, team) and figure:
# the rebuild's only intermediate result, rolled up to the four levels by the database.
_by_place = Table(
    "report_rebuild_by_place",
    MetaData(),
    Column("province_code", String(2)),
    Column("commune_code", String(5)),
    Column("village_id", GUID, nullable=True),
    Column("team_id", GUID),
    Column("metric", String(12)),
    Column("bucket", String(20)),
    Column("n", Integer),
    prefixes=["TEMPORARY"],
)


def _by_place_queries(dialect: str, *, today: date) -> Iterator[Select]:
    """SELECTs of (place..., metric, bucket, n): one GROUP BY per figure over the raw tables. Old
    day buckets come folded (`folded`)."""
    m = Merchant
    place = (m.province_code, m.commune_code, m.village_id, m.team_id)
    cutoff = (today - timedelta(days=KEEP_DAYS)).isoformat()
    alive = live()
    kept = m.merged_into_id.is_(None)  # what records work done stays with a deleted merchant

    def per_place(
        metric: str | ColumnElement[str], bucket: str | ColumnElement[str], n: Any = None
    ) -> Select:
        grouping = [*place, *(part for part in (metric, bucket) if not isinstance(part, str))]
        metric, bucket = (
            literal(part, String) if isinstance(part, str) else part for part in (metric, bucket)
        )
        return select(*place, metric, bucket, func.count() if n is None else n).group_by(*grouping)

    yield per_place("merchants", "").where(alive)
    yield per_place("stage", m.current_stage).where(alive)
    yield per_place("new", _month(m.created_at, dialect)).where(alive)
    yield per_place("stalled_on", _folded(_day_text(m.stage_reached_at, dialect), cutoff)).where(
        alive, m.current_stage != LAST_STAGE
    )

    held = MerchantStage
    yield per_place("hold", held.stage).join(held, held.merchant_id == m.id).where(alive)
    days = _day(held.reached_at, dialect) - _day(m.created_at, dialect)
    yield (
        per_place(literal("to_", String) + held.stage, _days_bucket(days, dialect))
        .join(held, held.merchant_id == m.id)
        .where(alive, held.stage.in_(("qr_active", "listed")))
    )

    using = held.__table__.alias("using")
    unused = (
        held.merchant_id == m.id,
        held.stage == "qr_issued",
    )
    not_using = (
        ~select(using.c.merchant_id).where(using.c.merchant_id == m.id, using.c.stage == "qr_active").exists()
    )
    yield per_place("unused", "").join(held, and_(*unused)).where(alive, not_using)
    yield (
        per_place("unused_on", _folded(_day_text(held.reached_at, dialect), cutoff))
        .join(held, and_(*unused))
        .where(alive, not_using)
    )

    e = StageEvent
    ever = select(e.merchant_id, e.stage).where(e.kind == "reached").distinct().subquery("ever")
    yield per_place("reached", ever.c.stage).join(ever, ever.c.merchant_id == m.id).where(alive)
    rejected = _rejected()
    yield (
        per_place("reached", rejected.c.stage, -func.count())
        .join(rejected, rejected.c.merchant_id == m.id)
        .where(alive)
    )

    yield (
        per_place("visits", _date_text(Visit.visited_on, dialect, 7))
        .join(Visit, Visit.merchant_id == m.id)
        .where(kept)
    )
    c = PaymentCheckin
    yield per_place("checkins", _date_text(c.day, dialect, 7)).join(c, c.merchant_id == m.id).where(kept)
    latest = (
        select(c.merchant_id, func.max(c.day).label("day"))
        .where(c.answer != "0")
        .group_by(c.merchant_id)
        .subquery("latest_paid")
    )
    yield (
        per_place("paid_on", _folded(_date_text(latest.c.day, dialect, 10), cutoff))
        .join(latest, latest.c.merchant_id == m.id)
        .where(alive)
    )
    r = StorefrontReach
    for metric, column in (("views", r.views), ("qr_fetches", r.qr_fetches)):
        yield (
            per_place(metric, _date_text(r.day, dialect, 7), func.sum(column))
            .join(r, r.merchant_id == m.id)
            .where(kept)
        )


async def rebuild(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Recompute every counter, and each volunteer's latest visit, from the raw tables (after a bulk
    load, or to check the write paths), in set-based SQL: each figure grouped by the merchants'
    place into a temporary table, then added up per area of each level; day buckets older than any
    summary reads apart are folded (`folded`). Returns how many live merchants were counted."""
    today = local_date(now or datetime.now(UTC))
    connection = await session.connection()
    dialect = connection.dialect.name
    # The GROUP BYs sort whole tables: in memory, for this transaction only.
    if dialect == "sqlite":
        await session.execute(text("PRAGMA temp_store = MEMORY"))
    else:
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
        # Rows loaded in bulk (a restore, the bench data) have no statistics yet, and without them
        # PostgreSQL plans the rejected claims as a nested loop over millions of events.
        for table in (Merchant, MerchantStage, StageEvent, Visit, PaymentCheckin, StorefrontReach):
            await session.execute(text(f"ANALYZE {table.__tablename__}"))
    # Each volunteer's latest visit: one pass over the visits, and only the users it changes written.
    latest = (
        select(Visit.volunteer_id, func.max(Visit.occurred_at).label("at"))
        .group_by(Visit.volunteer_id)
        .subquery("latest")
    )
    await session.execute(
        update(User)
        .where(User.id == latest.c.volunteer_id, User.last_visit_at.is_distinct_from(latest.c.at))
        .values(last_visit_at=latest.c.at)
    )
    visited = select(Visit.id).where(Visit.volunteer_id == User.id).exists()
    await session.execute(
        update(User).where(User.last_visit_at.is_not(None), ~visited).values(last_visit_at=None)
    )
    await connection.run_sync(lambda sync: _by_place.drop(sync, checkfirst=True))
    await connection.run_sync(_by_place.create)
    columns = [column.name for column in _by_place.columns]
    for query in _by_place_queries(dialect, today=today):
        await session.execute(insert(_by_place).from_select(columns, query))
    await session.execute(delete(ReportCount))
    p = _by_place.c
    village = case(
        (p.village_id.is_(None), p.commune_code + literal("-", String)), else_=_hex(p.village_id, dialect)
    )
    # Levels and rows in the key's order (level, metric, area, bucket): the key's index is written
    # from left to right, and the rows of one range of the key lie side by side in the table, which
    # is what a summary reads.
    for level, area in (
        ("c", p.commune_code),
        ("p", p.province_code),
        ("t", _hex(p.team_id, dialect)),
        ("v", village),
    ):
        key = (p.metric, area, p.bucket)  # grouped in the order it is written: one sort
        await session.execute(
            insert(ReportCount).from_select(
                ["level", "area", "metric", "bucket", "n"],
                select(literal(level, String), area, p.metric, p.bucket, func.sum(p.n))
                .group_by(*key)
                .having(func.sum(p.n) != 0)
                .order_by(*key),
            )
        )
    await connection.run_sync(_by_place.drop)
    if dialect == "postgresql":
        await session.execute(text("ANALYZE report_counts"))  # every row is new: plan with their statistics
    counted = await session.scalar(
        select(func.sum(ReportCount.n)).where(ReportCount.level == "p", ReportCount.metric == "merchants")
    )
    return int(counted or 0)


async def stored(session: AsyncSession, *, now: datetime | None = None) -> Counter[Key]:
    """Every counter as stored, old day buckets folded (`folded`): tests compare it with `rebuild`."""
    rows = await session.execute(
        select(ReportCount.level, ReportCount.area, ReportCount.metric, ReportCount.bucket, ReportCount.n)
    )
    counts = Counter({(level, area, metric, bucket): n for level, area, metric, bucket, n in rows if n})
    return folded(counts, today=local_date(now or datetime.now(UTC)))
