"""Database wiring: the SQLAlchemy async config, the declarative base, SQLite pragmas."""

from typing import Any

from advanced_alchemy.base import orm_registry
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from service.settings import Settings


class Base(DeclarativeBase):
    """Declarative base sharing advanced-alchemy's registry, so its mixins and ours share one metadata."""

    registry = orm_registry
    __abstract__ = True


metadata = Base.metadata


SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Reads through a memory map of the file (shared by every connection through the OS page cache)
    # instead of a read call per page into a 2 MB per-connection cache: a province's report rows
    # and a large commune's lists are read several times faster once the file is warm.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        ensure_sqlite_dir(settings.database_url)
        engine = create_async_engine(settings.database_url, echo=settings.sql_echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(settings.database_url, echo=settings.sql_echo, pool_pre_ping=True)


def session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    engine = create_engine(settings)
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(echo=settings.sql_echo),
        before_send_handler="autocommit_include_redirects",
        create_all=False,  # Alembic migrations are the only way the schema is made
        session_dependency_key="db_session",
    )


def ensure_sqlite_dir(url: str) -> None:
    """The folder of a SQLite file (var/ on a fresh checkout), made before the first connection."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


async def pg_admin(url: str, sql: str, *args: Any) -> Any:
    """Run one statement on the PostgreSQL server of `url`, outside SQLAlchemy and any transaction
    (CREATE and DROP DATABASE for tests and benchmarks); returns its first value, if any."""
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
