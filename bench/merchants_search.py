"""Merchant search at scale: inserts N merchants, then times searches and a bare count.

    .venv/bin/python bench/merchants_search.py                      # 1,000,000 merchants, SQLite
    .venv/bin/python bench/merchants_search.py --merchants 200000   # shorter
    ONBOARD_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/merchants_search.py                  # also PostgreSQL (a temp database)

Rows go in through SQLAlchemy Core executemany in batches (not ORM add_all), spread over the
communes of two provinces. Searches run through MerchantService.search, so the figures include the
count and the page query a tablet waits for. Prints `search_<db>_ms` medians per query and scope,
and `count_<db>_ms` for a bare count of the table.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from service import migrate
from service.accounts.models import Team, User
from service.accounts.schemas import CurrentUser
from service.db import create_engine, pg_admin, session_maker
from service.merchants.models import Merchant
from service.merchants.schemas import MerchantFilters
from service.merchants.services import MerchantService
from service.places.models import Commune
from service.settings import Settings
from service.text import fold

FOODS = ["Bún bò", "Phở", "Cơm tấm", "Bánh mì", "Chè", "Cà phê", "Bún chả", "Bánh cuốn", "Xôi", "Hủ tiếu"]
GOODS = ["Tạp hóa", "Rau sạch", "Đồ khô", "Áo dài", "Nón lá", "Hoa quả", "Gạo", "Thịt heo", "Cá tươi"]
PLACES = ["Huế", "Đông Ba", "Hà Nội", "Gia Hội", "Kim Long", "Vỹ Dạ", "Bến Ngự", "Đồng Xuân", "Sài Gòn"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Đức"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hạnh", "Hoà", "Hương", "Khánh", "Lan", "Mai", "Tư"]
MARKETS = ["Chợ Đông Ba", "Chợ Bến Ngự", "Chợ Đồng Xuân", "Chợ Tây Lộc", None, None]
QUERIES = ["bun bo hue", "dang thi", "cho dong ba", "0900 012 345", "012 345"]


def rows(n: int, communes: list[tuple[str, str]], team_id, user_id, seed: int = 42):
    rng = random.Random(seed)
    folded: dict[str, str] = {}

    def f(s: str) -> str:
        if s not in folded:
            folded[s] = fold(s)
        return folded[s]

    start = datetime(2025, 7, 1, tzinfo=UTC)
    for i in range(n):
        head = rng.choice(FOODS + GOODS)
        place = rng.choice(PLACES)
        name = f"{head} {place} {i % 997}"
        owner = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        market = rng.choice(MARKETS)
        province, commune = communes[i % len(communes)]
        at = start + timedelta(seconds=i * 17)
        name_fold = f"{f(head)} {f(place)} {i % 997}"
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128) | (1 << 127)),
            "kind": "market_stall",
            "business_name": name,
            "category": "food_drink",
            "owner_name": owner,
            "owner_phone": f"+849{i:08d}",
            "province_code": province,
            "commune_code": commune,
            "team_id": team_id,
            "consent_purposes": ["contact"],
            "consent_at": at,
            "consent_by_id": user_id,
            "current_stage": "registered",
            "stage_reached_at": at,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "created_by_id": user_id,
            "name_fold": name_fold,
            "search_fold": " ".join(p for p in (name_fold, f(owner), f(market) if market else "") if p),
        }


async def fill(url: str, n: int, batch: int) -> tuple[str, float]:
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789")
    engine = create_engine(settings)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            communes = [
                tuple(r)
                for r in await conn.execute(
                    select(Commune.province_code, Commune.code)
                    .where(Commune.province_code.in_(("46", "01")))
                    .order_by(Commune.code)
                )
            ]
            user_id, team_id = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                insert(Team).values(
                    id=team_id,
                    name="Bench",
                    province_code="46",
                    commune_code=communes[0][1],
                    active=True,
                    created_at=now,
                )
            )
            await conn.execute(
                insert(User).values(
                    id=user_id,
                    username="bench",
                    password_hash="x",
                    full_name="Bench",
                    role="admin",
                    locale="vi",
                    active=True,
                    created_at=now,
                )
            )
        started = time.perf_counter()
        chunk: list[dict] = []
        table = Merchant.__table__
        for row in rows(n, communes, team_id, user_id):
            chunk.append(row)
            if len(chunk) == batch:
                async with engine.begin() as conn:
                    await conn.execute(insert(table), chunk)
                chunk = []
        if chunk:
            async with engine.begin() as conn:
                await conn.execute(insert(table), chunk)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        return communes[len(communes) // 2][1], time.perf_counter() - started
    finally:
        await engine.dispose()


async def measure(url: str, label: str, commune: str, repeat: int) -> None:
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789")
    engine = create_engine(settings)
    users = {
        "country": CurrentUser(id=uuid.uuid4(), username="a", full_name="A", role="admin", locale="vi"),
        "commune": CurrentUser(
            id=uuid.uuid4(),
            username="c",
            full_name="C",
            role="commune_officer",
            locale="vi",
            province_code=commune[:2],
            commune_code=commune,
        ),
    }
    try:
        async with session_maker(engine)() as session:
            service = MerchantService(session)
            for scope, user in users.items():
                for q in QUERIES:
                    timings = []
                    for _ in range(repeat):
                        t = time.perf_counter()
                        page = await service.search(by=user, filters=MerchantFilters(q=q), limit=25)
                        timings.append((time.perf_counter() - t) * 1000)
                    print(
                        f"search_{label}_ms {statistics.median(timings):9.1f}  scope={scope:<7} "
                        f"q={q!r} total={page.total}"
                    )
            timings = []
            for _ in range(repeat):
                t = time.perf_counter()
                total = await session.scalar(select(func.count()).select_from(Merchant))
                timings.append((time.perf_counter() - t) * 1000)
            print(f"count_{label}_ms  {statistics.median(timings):9.1f}  rows={total}")
    finally:
        await engine.dispose()


def run(label: str, url: str, args: argparse.Namespace) -> None:
    migrate.upgrade(url)
    commune, seconds = asyncio.run(fill(url, args.merchants, args.batch))
    print(
        f"insert_{label}_s     {seconds:9.1f}  merchants={args.merchants} ({args.merchants / seconds:,.0f}/s)"
    )
    asyncio.run(measure(url, label, commune, args.repeat))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--merchants", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args)
    pg = os.environ.get("ONBOARD_TEST_DATABASE_URL")
    if pg:
        name = f"onboard_bench_{os.getpid()}"
        asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
        try:
            run("postgresql", make_url(pg).set(database=name).render_as_string(hide_password=False), args)
        finally:
            asyncio.run(pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
