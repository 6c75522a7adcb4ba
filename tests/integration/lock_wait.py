"""Seeing a second writer wait for the first one's lock, instead of sleeping and hoping it does.

PostgreSQL says so itself: the second session's backend shows a `Lock` wait in pg_stat_activity.
SQLite has one write lock for the whole database and no such view, so the engine's statement events
tell it: the second session's first write started before the first session committed and finished
only after (it was in SQLite's busy wait until then, as a write cannot start while another
transaction holds the write lock)."""

import asyncio
import re

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
PATIENCE = 15  # seconds: far longer than any wait in a healthy run; a failure, not a flake, if exceeded


class LockWait:
    """Watches the second writer's engine (used by nothing else meanwhile) and the commit of the
    first writer's (`holding`): the commit event comes just before the database commits."""

    def __init__(self, engine: AsyncEngine, *, holding: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.moments: list[str] = []
        self._pid: int | None = None
        self._write = None
        self._started = asyncio.Event()
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)
        event.listen(holding.sync_engine, "commit", self._released)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self.postgres and self._write is None and WRITE.match(statement):
            self._write = context
            self.moments.append("second writer's first write started")
            self._started.set()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if context is self._write and context is not None:
            self.moments.append("second writer's first write finished")

    async def watch(self, session: AsyncSession) -> None:
        """Call on the second writer's session before it starts (a new transaction each time)."""
        self._write = None
        self._started.clear()
        self.moments.clear()
        if self.postgres:
            self._pid = await session.scalar(text("SELECT pg_backend_pid()"))

    async def blocked(self) -> None:
        """Return once the second writer is held back by the lock (fails after PATIENCE seconds)."""
        await asyncio.wait_for(self._until_blocked(), timeout=PATIENCE)

    async def _until_blocked(self) -> None:
        if not self.postgres:
            await self._started.wait()
            return
        async with self.engine.connect() as conn:
            query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
            while (await conn.execute(query, {"pid": self._pid})).scalar() != "Lock":
                await conn.rollback()  # a new snapshot of the statistics for the next look
                await asyncio.sleep(0.01)
        self.moments.append("second writer waits for a lock")

    def _released(self, conn) -> None:
        if self._started.is_set() or self.postgres:
            self.moments.append("first writer commits")

    def assert_waited(self) -> None:
        """After the second writer is done: it waited for the first writer's commit."""
        if self.postgres:
            assert self.moments == ["second writer waits for a lock", "first writer commits"], self.moments
        else:
            assert self.moments == [
                "second writer's first write started",
                "first writer commits",
                "second writer's first write finished",
            ], self.moments
