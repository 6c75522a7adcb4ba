"""Test databases: migrated once with Alembic and seeded with the demo data, then copied for each test.

SQLite by default; PostgreSQL when ONBOARD_TEST_DATABASE_URL is set (a fresh database per test, cloned
from a template database on the same server). With that variable set, an unreachable server fails the
run instead of skipping it.
"""

import asyncio
import itertools
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from service import migrate
from service.db import create_engine, pg_admin, session_maker
from service.generated.demo import seed_demo
from service.settings import Settings

PG_URL = os.environ.get("ONBOARD_TEST_DATABASE_URL")
SECRET = "test-secret-key-0123456789"
VIETNAM = timezone(timedelta(hours=7))
_counter = itertools.count()

# Property tests: "ci" (what `make test` and CI use) draws the same examples on every run, with no
# time limit per example on a busy machine and no examples replayed from an earlier run's database,
# so a red run always means a bug; "dev" (plain pytest) explores new examples each run.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
hypothesis_settings.register_profile("dev")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


class Clock:
    """Time that starts at a chosen moment and runs at the real pace, for the app (`Settings.clock`)
    and the test alike: figures that depend on "today" are checked at a moment the test chose."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._began)


def just_after_midnight_on_the_first() -> datetime:
    """00:02 in Vietnam on the first of next month, the moment a new day, week and month have just
    begun (in UTC it is still the previous day). In the near future, so sessions and API tokens made
    then are valid at the real time too."""
    today = datetime.now(VIETNAM).date()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime(first.year, first.month, 1, 0, 2, tzinfo=VIETNAM).astimezone(UTC)


def client_at(settings: Settings, clock: Clock):
    """A test client of an app whose requests are handled at `clock`'s time."""
    from litestar.testing import AsyncTestClient

    from service.app import create_app

    return AsyncTestClient(create_app(replace(settings, clock=clock)), base_url="http://127.0.0.1:8000")


def run_blocking(fn, *args):
    """Run blocking setup (which may call asyncio.run) in a thread: a test's event loop or
    Playwright's may already be running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running while its browser lives."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


async def _seed(url: str) -> None:
    settings = Settings(database_url=url, secret_key=SECRET)
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            # Seeded now, as `onboard seed-demo` does: the story's ages ("a QR code for 45 days", a
            # follow-up due today) and the targets' dates read as a new user sees them.
            await seed_demo(session, at=datetime.now(UTC).replace(second=0, microsecond=0))
            await session.commit()
    finally:
        await engine.dispose()


def _pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the latest migration with the demo data, to copy from."""
    if PG_URL:
        name = f"onboard_tpl_{os.getpid()}"
        try:
            run_blocking(asyncio.run, pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}"'))
        except OSError as exc:
            pytest.exit(f"PostgreSQL at ONBOARD_TEST_DATABASE_URL is unreachable: {exc}", returncode=3)
        run_blocking(asyncio.run, pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
        run_blocking(migrate.upgrade, url)
        run_blocking(asyncio.run, _seed(url))
        yield url
        run_blocking(asyncio.run, pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        run_blocking(migrate.upgrade, url)
        run_blocking(asyncio.run, _seed(url))
        with sqlite3.connect(path) as conn:  # fold the WAL into the file so one copy is complete
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        yield url


def clone_database(template: str, tmp_path: Path) -> str:
    if PG_URL:
        name = f"onboard_t_{os.getpid()}_{next(_counter)}"
        source = make_url(template).database
        run_blocking(asyncio.run, pg_admin(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        return _pg_url(name)
    target = tmp_path / f"test-{uuid.uuid4().hex[:8]}.sqlite3"
    shutil.copyfile(make_url(template).database, target)
    return f"sqlite+aiosqlite:///{target}"


def drop_database(url: str) -> None:
    if PG_URL:
        run_blocking(
            asyncio.run, pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        )


@pytest.fixture
def database_url(template_url: str, tmp_path: Path) -> Iterator[str]:
    url = clone_database(template_url, tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, secret_key=SECRET, media_dir=tmp_path / "media", log_requests=False
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator:
    from litestar.testing import AsyncTestClient

    from service.app import create_app

    async with AsyncTestClient(create_app(settings), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


@pytest.fixture
def clock() -> Clock:
    return Clock(just_after_midnight_on_the_first())


@pytest.fixture
async def pinned_client(settings: Settings, clock: Clock) -> AsyncIterator:
    """The app over HTTP with its clock at `clock` (00:02 in Vietnam on the first of a month)."""
    async with client_at(settings, clock) as test_client:
        yield test_client
