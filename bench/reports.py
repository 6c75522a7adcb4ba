"""Officer reports at scale: the area summary on a national-shaped data set, and what keeping the
summary counters costs the stage write path.

    .venv/bin/python bench/reports.py                      # 1,000,000 merchants, SQLite
    .venv/bin/python bench/reports.py --merchants 100000   # shorter
    ONBOARD_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/reports.py                  # also PostgreSQL

The data set is `onboard bench-data` (service/generated/national.py). It is kept for the next run:
SQLite in var/bench/reports-<N>-<seed>.sqlite3, PostgreSQL in the database
onboard_bench_reports_<N>_<seed> on the server of ONBOARD_TEST_DATABASE_URL; one with the same N
and seed is used again (--fresh makes it again).

Prints, per database (sqlite, postgresql):
- `reports_<db>_<level>_ms`: the median of --repeat calls of `SummaryService.summary` by an admin,
  for the country and the largest province, commune, village and team;
- `reports_<db>_<level>_vs_groupby`: that time divided by the median time, in the same run, of one
  indexed `GROUP BY current_stage` over the same area's live merchants (the simplest live answer);
- `count_<db>_ms`: a bare `SELECT count(*) FROM merchants`, for scale;
- `reports_rebuild_s`: `onboard reports rebuild` (`counters.rebuild`, set-based SQL) over the whole
  data set, committed (goal ≤ 60 s at 1,000,000 merchants on each database);
- `stage_write_overhead_ratio`: the time of recording --events stage events through
  `OnboardingService.record_automatic`, committed one by one, with the counters kept, divided by
  the same with `counters.disabled()`. The writes go to a copy of the data set, which is dropped.
"""

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from tqdm import tqdm

from service import migrate
from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.db import create_engine, pg_admin, session_maker
from service.generated.national import USERNAME_PREFIX, generate
from service.merchants.models import Merchant, live
from service.onboarding.services import OnboardingService
from service.reports import counters
from service.reports.models import ReportCount
from service.reports.summaries import SummaryService
from service.settings import Settings

VAR = Path(__file__).resolve().parent.parent / "var" / "bench"
SECRET = "bench-secret-key-0123456789"
GOALS_MS = {"national": 100, "province": 50, "commune": 50}
GROUPBY_GOAL = 3
OVERHEAD_GOAL = 2.5


def _engine(url: str):
    return create_engine(Settings(database_url=url, secret_key=SECRET))


async def _loaded(url: str, merchants: int) -> tuple[bool, bool]:
    """Whether the database holds the merchants of a data set of this size, and its counters."""
    engine = _engine(url)
    try:
        async with session_maker(engine)() as session:
            count = await session.scalar(select(func.count()).select_from(Merchant))
            rows = await session.scalar(select(func.count()).select_from(ReportCount))
        return count == merchants, bool(rows)
    except Exception:  # not there, or not migrated
        return False, False
    finally:
        await engine.dispose()


async def _rebuild(url: str) -> float:
    engine = _engine(url)
    started = time.perf_counter()
    try:
        async with session_maker(engine)() as session:
            await counters.rebuild(session)
            await session.commit()
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def _generate(url: str, merchants: int, seed: int) -> float:
    bars: dict[str, tqdm] = {}

    def progress(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase) or bars.setdefault(phase, tqdm(total=total, desc=phase, file=sys.stderr))
        bar.update(done - bar.n)

    engine = _engine(url)
    started = time.perf_counter()
    try:
        async with session_maker(engine)() as session:
            await generate(session, merchants=merchants, seed=seed, now=datetime.now(UTC), progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
        await engine.dispose()
    return time.perf_counter() - started


def _timed(repeat: int):
    """Median milliseconds of `repeat` awaits of a coroutine factory, after one untimed warm-up."""

    async def run(call) -> float:
        await call()
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            await call()
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    return run


async def _largest(session, column) -> tuple:
    """The area of one level with the most merchants, and how many it has."""
    return (
        await session.execute(
            select(column, func.count())
            .where(column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc())
            .limit(1)
        )
    ).one()


async def measure(url: str, label: str, repeat: int) -> None:
    engine = _engine(url)
    now = datetime.now(UTC)
    try:
        async with session_maker(engine)() as session:
            admin_id = await session.scalar(select(User.id).where(User.username == f"{USERNAME_PREFIX}admin"))
            admin = CurrentUser(id=admin_id, username="admin", full_name="Admin", role="admin", locale="vi")
            service = SummaryService(session)
            timed = _timed(repeat)
            levels = [("national", None, None, {})]
            for level, column, argument in (
                ("province", Merchant.province_code, "area"),
                ("commune", Merchant.commune_code, "area"),
                ("village", Merchant.village_id, "village"),
                ("team", Merchant.team_id, "team"),
            ):
                area, size = await _largest(session, column)
                levels.append((level, column == area, size, {argument: area}))
            for level, where, size, asked in levels:
                ms = await timed(lambda asked=asked: service.summary(by=admin, now=now, **asked))
                summary = await service.summary(by=admin, now=now, **asked)
                # The simplest live answer for the same area: its merchants per stage, one indexed
                # GROUP BY (the figure the counters exist to beat).
                baseline = select(Merchant.current_stage, func.count()).where(live())
                if where is not None:
                    baseline = baseline.where(where)
                baseline = baseline.group_by(Merchant.current_stage)
                groupby_ms = await timed(lambda baseline=baseline: session.execute(baseline))
                goal = f"goal ≤ {GOALS_MS[level]} ms" if level in GOALS_MS else "no goal"
                area = next(iter(asked.values()), None)
                print(
                    f"reports_{label}_{level}_ms {ms:.1f}  ({goal}; area={area or 'all'} "
                    f"merchants={summary.merchants}{'' if size is None else f' counted={size}'})"
                )
                print(
                    f"reports_{label}_{level}_vs_groupby {ms / groupby_ms:.2f}  (goal ≤ {GROUPBY_GOAL}; "
                    f"GROUP BY current_stage over the same merchants: {groupby_ms:.2f} ms)"
                )
            ms = await timed(lambda: session.scalar(select(func.count()).select_from(Merchant)))
            total = await session.scalar(select(func.count()).select_from(Merchant))
            print(f"count_{label}_ms {ms:.1f}  (rows={total})")
    finally:
        await engine.dispose()


async def overhead(url: str, label: str, events: int, rounds: int) -> None:
    """Alternating rounds with and without the counters, on merchants of the largest province that
    are at bank_account (so without a QR code): each gets its QR code, one committed event each."""
    engine = _engine(url)
    try:
        async with session_maker(engine)() as session:
            province = await session.scalar(
                select(Merchant.province_code)
                .group_by(Merchant.province_code)
                .order_by(func.count().desc())
                .limit(1)
            )
            ids = list(
                await session.scalars(
                    select(Merchant.id)
                    .where(Merchant.province_code == province, Merchant.current_stage == "bank_account")
                    .limit(2 * events)
                )
            )
        if len(ids) < 2 * events:
            raise SystemExit(f"only {len(ids)} merchants to record for; use fewer --events")
        per_round = events // rounds
        spent = {True: 0.0, False: 0.0}
        done = {True: 0, False: 0}
        now = datetime.now(UTC)
        batches = [ids[i * per_round : (i + 1) * per_round] for i in range(2 * rounds)]
        for n, batch in enumerate(batches):
            kept = n % 2 == 0
            async with session_maker(engine)() as session:
                service = OnboardingService(session)
                started = time.perf_counter()
                for merchant_id in batch:
                    if kept:
                        await service.record_automatic(
                            merchant_id=merchant_id, stage="qr_issued", at=now, by=None
                        )
                    else:
                        with counters.disabled():
                            await service.record_automatic(
                                merchant_id=merchant_id, stage="qr_issued", at=now, by=None
                            )
                    await session.commit()
                spent[kept] += time.perf_counter() - started
                done[kept] += len(batch)
        with_ms, without_ms = (1000 * spent[k] / done[k] for k in (True, False))
        print(
            f"stage_write_overhead_ratio {with_ms / without_ms:.2f}  (goal ≤ {OVERHEAD_GOAL}; db={label}: "
            f"{with_ms:.1f} ms per committed event with the counters, {without_ms:.1f} ms without; "
            f"{done[True]} + {done[False]} events)"
        )
    finally:
        await engine.dispose()


def rebuilt(url: str, label: str) -> None:
    seconds = asyncio.run(_rebuild(url))
    print(f"reports_rebuild_s {seconds:.1f}  (goal ≤ 60 s at 1,000,000 merchants; db={label})")


def ensure(label: str, url: str, args: argparse.Namespace, reset) -> None:
    merchants, _ = (False, False) if args.fresh else asyncio.run(_loaded(url, args.merchants))
    if merchants:
        print(f"data set: {args.merchants} merchants, seed {args.seed}, reused ({label})")
        migrate.upgrade(url)  # tables added since it was made
        return
    reset()
    migrate.upgrade(url)
    seconds = asyncio.run(_generate(url, args.merchants, args.seed))
    print(f"generate_{label}_s {seconds:.1f}  (merchants={args.merchants}, seed={args.seed})")


def run_sqlite(args: argparse.Namespace) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"reports-{args.merchants}-{args.seed}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    ensure("sqlite", url, args, reset)
    if not args.skip_rebuild:
        rebuilt(url, "sqlite")
    asyncio.run(measure(url, "sqlite", args.repeat))
    with sqlite3.connect(path) as conn:  # the whole data set in the file, so that a copy is complete
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    work = VAR / f"work-{os.getpid()}.sqlite3"
    shutil.copyfile(path, work)
    try:
        asyncio.run(overhead(f"sqlite+aiosqlite:///{work}", "sqlite", args.events, args.rounds))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def run_postgresql(args: argparse.Namespace, server: str) -> None:
    name = f"onboard_bench_reports_{args.merchants}_{args.seed}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)

    def reset() -> None:
        asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(pg_admin(server, f'CREATE DATABASE "{name}"'))

    exists = asyncio.run(pg_admin(server, "SELECT 1 FROM pg_database WHERE datname = $1", name))
    if not exists:
        reset()
    ensure("postgresql", url, args, reset)
    if not args.skip_rebuild:
        rebuilt(url, "postgresql")
    asyncio.run(measure(url, "postgresql", args.repeat))
    work = f"onboard_bench_work_{os.getpid()}"
    asyncio.run(pg_admin(server, f'CREATE DATABASE "{work}" TEMPLATE "{name}"'))
    try:
        work_url = make_url(server).set(database=work).render_as_string(hide_password=False)
        asyncio.run(overhead(work_url, "postgresql", args.events, args.rounds))
    finally:
        asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{work}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--merchants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--events", type=int, default=300, help="stage events per side of the ratio")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of with and without counters")
    parser.add_argument("--fresh", action="store_true", help="generate the data set again")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="measure the summaries on the counters as they are"
    )
    args = parser.parse_args()
    if not args.skip_sqlite:
        run_sqlite(args)
    server = os.environ.get("ONBOARD_TEST_DATABASE_URL")
    if server:
        run_postgresql(args, server)


if __name__ == "__main__":
    main()
