"""Summary counters: what each merchant adds to the figures of the areas it belongs to.

A merchant contributes, at each level it belongs to (province, commune, village, team):

- `merchants`           1
- `stage/<code>`        1 for its current stage
- `reached/<code>`      1 for every stage it ever reached (a `reached` event in its log)
- `new/<YYYY-MM>`       1 for the month it was registered
- `stalled_on/<day>`    the day its current stage was reached, unless it is at the last stage
- `unused`, `unused_on/<day>`  1, and the day it got its QR code, while it holds `qr_issued` and
                        not `qr_active`
- `to_qr_active/<days>`, `to_listed/<days>`  days from registration to holding that stage
- `visits/<YYYY-MM>`    its visits per month

Days and months are Vietnam's calendar. A figure such as "QR issued 30+ days ago" is `unused` less
the `unused_on` buckets after a cut-off day chosen at read time (at most 30 rows), so it is exact
whenever it is asked; stalled is likewise the merchants below the last stage less the recent
`stalled_on` buckets.

Every write path that changes any of this adds the difference between the merchant's contribution
after and before (`apply`): the stage write path computes both from the log it already holds
(`OnboardingService._apply`); other paths (registration, edits that move a merchant, deletion,
merge) load them (`contributions` before, `recount` after); an import counts its merchants by
where and when they registered (`add_registered`). `rebuild` recomputes everything from the raw
tables; tests compare the two.
"""

import contextvars
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.merchants.bulk import insert_rows
from service.merchants.models import Merchant, live
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.stages import STAGES, local_date
from service.reports.models import ReportCount

Figure = tuple[str, str]  # (metric, bucket)
Key = tuple[str, str, str, str]  # (level, area, metric, bucket)
LEVELS = ("p", "c", "v", "t")
LAST_STAGE = STAGES[-1].code
CHUNK = 5000  # ids per IN (...) when loading contributions (both databases bind 32,766 values)

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


@dataclass(frozen=True)
class MerchantState:
    """What the figures need to know about one live merchant."""

    province_code: str
    commune_code: str
    village_id: uuid.UUID | None
    team_id: uuid.UUID
    created_at: datetime
    current_stage: str
    stage_reached_at: datetime
    holds: Mapping[str, datetime] = field(default_factory=dict)  # merchant_stages: stage → reached_at
    reached: frozenset[str] = frozenset()
    visit_days: tuple[date, ...] = ()

    def areas(self) -> tuple[tuple[str, str], ...]:
        village = self.village_id.hex if self.village_id else f"{self.commune_code}-"
        return (("p", self.province_code), ("c", self.commune_code), ("v", village), ("t", self.team_id.hex))


def stage_figures(state: MerchantState) -> Counter[Figure]:
    """The figures that follow the merchant's profile and stages."""
    created = local_date(state.created_at)
    figures: Counter[Figure] = Counter(
        {("merchants", ""): 1, ("stage", state.current_stage): 1, ("new", month(created)): 1}
    )
    for code in state.reached:
        figures["reached", code] += 1
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
    """The live merchants among these ids, as the figures see them (deleted and merged ones
    contribute nothing)."""
    ids = list(dict.fromkeys(merchant_ids))
    found: dict[uuid.UUID, MerchantState] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(await _load(session, lambda column, chunk=chunk: column.in_(chunk)))
    return found


async def _load(
    session: AsyncSession, which: Callable[[ColumnElement], ColumnElement[bool]]
) -> dict[uuid.UUID, MerchantState]:
    """The live merchants whose id `which` selects, with their held stages, stages ever reached
    and visit days (one query per table)."""
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
            ).where(which(Merchant.id), live())
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
    reached: dict[uuid.UUID, set[str]] = {}
    for merchant_id, stage in await session.execute(
        select(StageEvent.merchant_id, StageEvent.stage)
        .where(which(StageEvent.merchant_id), StageEvent.kind == "reached")
        .distinct()
    ):
        reached.setdefault(merchant_id, set()).add(stage)
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
            reached=frozenset(reached.get(row.id, ())),
            visit_days=tuple(visits.get(row.id, ())),
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
    """After a change the stage write path does not see (a registration, an edit that moves a
    merchant, a deletion, a merge): add what these merchants contribute now less what they did
    `before` it (`contributions` taken then; empty for new merchants)."""
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


async def rebuild(session: AsyncSession, *, batch: int = 5000) -> int:
    """Recompute every counter, and each volunteer's latest visit, from the raw tables (after a bulk
    load, or to check the write paths). Streams the live merchants in id order; returns how many
    were counted."""
    await session.execute(
        update(User).values(
            last_visit_at=select(func.max(Visit.occurred_at))
            .where(Visit.volunteer_id == User.id)
            .scalar_subquery()
        )
    )
    await session.execute(delete(ReportCount))
    counted_now: Counter[Key] = Counter()
    counted = 0
    last: uuid.UUID | None = None
    while True:  # batches of ids in key order, read as ranges of each table's merchant index
        batch_ids = select(Merchant.id).order_by(Merchant.id).limit(batch)
        if last is not None:
            batch_ids = batch_ids.where(Merchant.id > last)
        ids = list(await session.scalars(batch_ids))
        if not ids:
            break
        low, high = ids[0], ids[-1]
        found = await _load(session, lambda column, low=low, high=high: column.between(low, high))
        counted_now.update(total(found.values()))
        counted += len(found)
        last = high
    # The table is empty: plain bulk inserts (COPY on PostgreSQL), not upserts.
    await insert_rows(
        session,
        ReportCount.__table__,
        ("level", "area", "metric", "bucket", "n"),
        [(*key, n) for key, n in sorted(counted_now.items()) if n],
    )
    return counted


async def stored(session: AsyncSession) -> Counter[Key]:
    """Every non-zero counter as stored (tests compare it with `rebuild`)."""
    rows = await session.execute(
        select(ReportCount.level, ReportCount.area, ReportCount.metric, ReportCount.bucket, ReportCount.n)
    )
    return Counter({(level, area, metric, bucket): n for level, area, metric, bucket, n in rows if n})
