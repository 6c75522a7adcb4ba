"""Bulk import at scale: 100,000 generated rows, from the file's bytes to the committed transaction.

    .venv/bin/python bench/import.py                     # SQLite (a fresh migrated database)
    .venv/bin/python bench/import.py --rows 20000        # shorter
    ONBOARD_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/import.py                 # also PostgreSQL (a temporary database)

The file is a UTF-8 CSV with Vietnamese headers, as a commune keeps it: mixed kinds and categories,
phones in several formats, a CCCD on a third of the rows, consent per row. The timed part is what
`onboard import merchants` and the tablet's commit do: read the file (spreadsheet.py), check every
row with the form's rules (validation.py), look for duplicates inside the file and against the
database (set-based), then write merchants, audit entries and stage events (COPY on PostgreSQL,
one executemany on SQLite) and commit. Prints `import_100k_s <seconds>` per database (the name
keeps "100k" for the default size), the rows per second, and the CPU time of this process with the
load average: on a shared machine the wall time includes waiting for other processes.
"""

import argparse
import asyncio
import csv
import io
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from service import migrate
from service.accounts.models import Team, User
from service.accounts.services import AccountService
from service.db import create_engine, pg_admin, session_maker
from service.merchants.imports import ImportOptions, ImportService, NameIndex
from service.merchants.models import Merchant
from service.settings import Settings
from service.text import fold

COMMUNE = "19753"  # Phường Phú Xuân, Huế: one team works in one commune, so one file is one commune
HEADS = ["Bún bò", "Phở", "Cơm tấm", "Bánh mì", "Chè", "Cà phê", "Tạp hóa", "Rau sạch", "Đồ khô", "Nón lá"]
SYLLABLES = [
    "An",
    "Bảo",
    "Bình",
    "Cầm",
    "Châu",
    "Cúc",
    "Đào",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiền",
    "Hoa",
    "Hồng",
    "Huệ",
    "Hương",
    "Khánh",
    "Kim",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Long",
    "Mai",
    "Minh",
    "Mỹ",
    "Nga",
    "Ngọc",
    "Nhân",
    "Nhung",
    "Oanh",
    "Phúc",
    "Phương",
    "Quang",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thu",
    "Thủy",
    "Tiến",
    "Trang",
    "Trinh",
    "Tuấn",
    "Tuyết",
    "Uyên",
    "Vân",
    "Việt",
    "Vinh",
    "Xuân",
    "Yến",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
KINDS = ["Sạp chợ", "Hộ kinh doanh", "Bán hàng rong", "Doanh nghiệp siêu nhỏ", "Hợp tác xã"]
CATEGORIES = ["Ăn uống", "Tạp hóa", "Rau quả", "Quần áo", "Dịch vụ", "OCOP", "Đồ gia dụng"]
CONSENTS = ["liên hệ", "liên hệ, thống kê", "gian hàng, liên hệ, thống kê"]
HEADER = [
    "STT",
    "Tên cơ sở",
    "Chủ hộ",
    "Số điện thoại",
    "Số CCCD",
    "Loại hình",
    "Ngành hàng",
    "Chợ",
    "Đồng ý",
]


def generate(n: int, seed: int = 7) -> bytes:
    """n rows with distinct traders: no two names similar by the duplicate rule (checked here, untimed)."""
    rng = random.Random(seed)
    index = NameIndex()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    i = 0
    while i < n:
        words = " ".join(rng.choice(SYLLABLES) for _ in range(3))
        name = f"{rng.choice(HEADS)} {words}"
        key = fold(name)
        if index.find(key) is not None:
            continue
        index.add(key, i)
        phone = f"09{i:08d}"
        phone = [phone, f"{phone[:4]} {phone[4:7]} {phone[7:]}", f"+84 {phone[1:]}"][i % 3]
        cccd = f"{i % 96 + 1:03d}{i % 2}{85 + i % 10:02d}{i:06d}" if i % 3 == 0 else ""
        owner = f"{rng.choice(FAMILY)} Thị {words.split()[0]}"
        writer.writerow(
            [
                i + 1,
                name,
                owner,
                phone,
                cccd,
                rng.choice(KINDS),
                rng.choice(CATEGORIES),
                "Chợ Đông Ba" if i % 2 else "",
                rng.choice(CONSENTS),
            ]
        )
        i += 1
    return "\ufeff".encode() + out.getvalue().encode()


async def prepare(url: str) -> uuid.UUID:
    """A team in the commune and its leader, who imports."""
    engine = create_engine(Settings(database_url=url, secret_key="bench-secret-key-0123456789"))
    now = datetime.now(UTC)
    user_id, team_id = uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(Team).values(
                    id=team_id,
                    name="Bench",
                    province_code="46",
                    commune_code=COMMUNE,
                    active=True,
                    created_at=now,
                )
            )
            await conn.execute(
                insert(User).values(
                    id=user_id,
                    username="bench-leader",
                    password_hash="x",
                    full_name="Bench",
                    role="team_leader",
                    team_id=team_id,
                    province_code="46",
                    commune_code=COMMUNE,
                    locale="vi",
                    active=True,
                    created_at=now,
                )
            )
    finally:
        await engine.dispose()
    return user_id


async def run_import(url: str, data: bytes, user_id: uuid.UUID) -> tuple[float, float, int]:
    engine = create_engine(Settings(database_url=url, secret_key="bench-secret-key-0123456789"))
    try:
        async with session_maker(engine)() as session:
            user = await AccountService(session).current_user(user_id=user_id)
            started, cpu = time.perf_counter(), time.process_time()
            report = await ImportService(session).run(
                by=user,
                data=data,
                filename="bench.csv",
                options=ImportOptions(),
                at=datetime.now(UTC),
                commit=True,
            )
            await session.commit()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            if not report.committed or not report.clean:
                problems = (report.errors + report.duplicates)[:5]
                raise SystemExit(f"the generated file has problems: {problems}")
        async with session_maker(engine)() as session:
            count = await session.scalar(select(func.count()).select_from(Merchant))
        return seconds, cpu, count or 0
    finally:
        await engine.dispose()


def bench(label: str, url: str, data: bytes, rows: int) -> None:
    migrate.upgrade(url)
    user_id = asyncio.run(prepare(url))
    seconds, cpu, count = asyncio.run(run_import(url, data, user_id))
    assert count == rows, (count, rows)
    load = os.getloadavg()[0]
    print(
        f"import_100k_s {seconds:7.2f}  db={label} rows={rows} ({rows / seconds:,.0f} rows/s; this process's "
        f"CPU {cpu:.1f} s; load average {load:.1f} on {os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(args.rows)
    took = time.perf_counter() - started
    print(f"generated {args.rows} rows, {len(data) / 1e6:.1f} MB, in {took:.1f} s (untimed)")
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", data, args.rows)
    pg = os.environ.get("ONBOARD_TEST_DATABASE_URL")
    if pg:
        name = f"onboard_bench_import_{os.getpid()}"
        asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
        try:
            bench(
                "postgresql",
                make_url(pg).set(database=name).render_as_string(hide_password=False),
                data,
                args.rows,
            )
        finally:
            asyncio.run(pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
