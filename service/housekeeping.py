"""Daily housekeeping in each app process: nothing personal is kept longer than it is needed.

- previewed import files older than a day (`merchants.imports.UploadStore.purge`); the folder where
  earlier versions kept them under the served media directory is removed;
- replay records of retried writes older than their age limit (`idempotency.purge`).

It runs when the app starts and then once a day. Several processes running it at once do no harm.
"""

import asyncio
import contextlib
import logging
import shutil
from datetime import datetime

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncEngine

from service import idempotency
from service.db import session_maker
from service.merchants.imports import UploadStore
from service.settings import Settings
from service.web import utcnow

DAY = 24 * 3600.0
log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, engine: AsyncEngine, settings: Settings, *, interval: float = DAY):
        self.sessions = session_maker(engine)
        self.settings = settings
        self.interval = interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def run_once(self, *, now: datetime | None = None) -> int:
        """Purge what is due; returns how many replay records were dropped."""
        now = now or utcnow()
        store = UploadStore(self.settings.private_dir)
        await anyio.to_thread.run_sync(lambda: store.purge(now=now.timestamp()))
        served = self.settings.media_dir / "imports"
        if served.is_dir():
            await anyio.to_thread.run_sync(shutil.rmtree, served)
        async with self.sessions() as session:
            dropped = await idempotency.purge(session, now=now)
            await session.commit()
        return dropped

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # the next day tries again; a failure must not stop the app
                log.exception("housekeeping failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)

    async def start(self) -> None:
        self._stopping.clear()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
