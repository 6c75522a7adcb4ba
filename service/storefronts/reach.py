"""Storefront reach: how often each public page is viewed and its payment QR fetched, per day of
Vietnam's calendar (DESIGN §5, signals of real use). Counts only: no cookie is set, and no address,
browser string or anything else about the visitor is kept.

What counts:
- a view: `GET /s/{slug}` answered with the page, or with 304 Not Modified — a 304 is a person
  reloading a page their phone already holds, which is a person looking at it;
- a QR fetch: `GET /s/{slug}/qr.png` or `qr.svg` (the stall QR the page shows, or a product's
  one-payment QR) or `/s/{slug}/poster.pdf`, answered 200 or 304. The page itself shows the stall
  QR, so a first view in a browser usually brings a fetch; the QR of a product is fetched only
  when a shopper opens it, and a saved or printed QR only when asked for;
- left out: HEAD requests, requests without a User-Agent, and user agents with a crawler marker
  (`CRAWLER`): search engines and other bots, link previews (Facebook's, WhatsApp's, and any that
  say "bot" or "preview"; Zalo's preview fetcher does not document its user agent, so it is left
  out only when it says so), command-line tools and HTTP libraries, and headless browsers: people
  do not browse with HeadlessChrome, so automated checks that want to be counted (the browser
  tests) set an ordinary user agent. Answers other than 200 and 304 (404, 422) are not counted.

A page view must not cost a database write: each process adds counts in memory and flushes them
every `Settings.reach_flush_seconds` and when the app stops, in one transaction: the traders' rows
locked (merchants.events), one upsert per (storefront, day) adding to its counts, and a
"storefront_reach" announcement with the counts per trader and month for the report counters. A
failed flush puts its counts back for the next one; a process killed outright loses at most one
interval of counts.
"""

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.db import session_maker
from service.merchants import events
from service.merchants.models import Merchant
from service.storefronts.models import StorefrontReach
from service.vietnam import local_date, month
from service.web import utcnow

log = logging.getLogger("service.storefronts.reach")

CRAWLER = re.compile(
    r"(?<!cu)bot\b|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|whatsapp|headless"
    r"|curl/|wget/|python-|httpx|aiohttp|go-http-client|java/|okhttp|libwww|scrapy|lighthouse",
    re.IGNORECASE,
)  # "(?<!cu)": Cubot is a phone maker
VIEWS, QR_FETCHES = 0, 1
DAY_FOR = 1.0  # seconds a day read from the clock is used for
METRICS = ("views", "qr_fetches")
Key = tuple[uuid.UUID, uuid.UUID, date]  # storefront, merchant, day


@lru_cache(maxsize=1024)  # a few browsers make most requests: decide each user agent once
def is_crawler(user_agent: str) -> bool:
    return not user_agent.strip() or CRAWLER.search(user_agent) is not None


def counted(method: str, user_agent: str | None) -> bool:
    """Whether a request is a person's: a GET from a browser without a crawler marker."""
    return method == "GET" and user_agent is not None and not is_crawler(user_agent)


class ReachTotals(msgspec.Struct, kw_only=True):
    views_7d: int = 0
    qr_fetches_7d: int = 0
    views_30d: int = 0
    qr_fetches_30d: int = 0


class Reach:
    """The counts of one process, waiting to be flushed (one per app: `app.state.storefront_reach`)."""

    def __init__(self, engine: AsyncEngine, *, interval: float, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.sessions = session_maker(engine)
        self.interval = interval
        self.clock = clock
        self._counts: dict[Key, list[int]] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._day_read = -DAY_FOR  # read the day from the new clock at the next count

    # --- counting (the request path: no await, no database) -------------------------------------

    def _today(self) -> date:
        """Vietnam's date, read from the clock at most once per DAY_FOR seconds: a view counted a
        second late at midnight is still counted, and the page is spared a clock read."""
        tick = time.monotonic()
        if tick - self._day_read >= DAY_FOR:
            self._day, self._day_read = local_date(self._clock()), tick
        return self._day

    def _add(self, request: Any, metric: int, storefront_id: uuid.UUID, merchant_id: uuid.UUID) -> None:
        if not counted(request.method, request.headers.get("user-agent")):
            return
        key = (storefront_id, merchant_id, self._today())
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0, 0]
        counts[metric] += 1

    def view(self, request: Any, *, storefront_id: uuid.UUID, merchant_id: uuid.UUID) -> None:
        self._add(request, VIEWS, storefront_id, merchant_id)

    def qr_fetch(self, request: Any, *, storefront_id: uuid.UUID, merchant_id: uuid.UUID) -> None:
        self._add(request, QR_FETCHES, storefront_id, merchant_id)

    def pending(self) -> int:
        """Requests counted and not yet flushed."""
        return sum(views + fetches for views, fetches in self._counts.values())

    # --- flushing --------------------------------------------------------------------------------

    async def flush(self) -> int:
        """Write what was counted since the last flush; returns how many (storefront, day) rows."""
        counts, self._counts = self._counts, {}
        if not counts:
            return 0
        try:
            async with self.sessions() as session, session.begin():
                await self._write(session, counts)
        except BaseException:
            for key, (views, fetches) in counts.items():  # back in the buffer for the next flush
                kept = self._counts.setdefault(key, [0, 0])
                kept[VIEWS] += views
                kept[QR_FETCHES] += fetches
            raise
        return len(counts)

    async def _write(self, session: AsyncSession, counts: dict[Key, list[int]]) -> None:
        traders = {merchant_id for _, merchant_id, _ in counts}
        await events.lock(session, traders)
        places = {
            row.id: row
            for row in await session.execute(
                select(Merchant.id, Merchant.province_code, Merchant.commune_code).where(
                    Merchant.id.in_(traders)
                )
            )
        }
        rows = []
        by_month: dict[uuid.UUID, Counter[tuple[str, str]]] = {}
        for (storefront_id, merchant_id, day), (views, fetches) in counts.items():
            place = places.get(merchant_id)
            if place is None:
                continue  # gone from the database meanwhile (never deleted in practice)
            rows.append(
                {
                    "storefront_id": storefront_id,
                    "day": day,
                    "merchant_id": merchant_id,
                    "province_code": place.province_code,
                    "commune_code": place.commune_code,
                    "views": views,
                    "qr_fetches": fetches,
                }
            )
            counter = by_month.setdefault(merchant_id, Counter())
            for metric, n in zip(METRICS, (views, fetches), strict=True):
                if n:
                    counter[(metric, month(day))] += n
        if not rows:
            return
        await session.execute(_upsert(session.get_bind().dialect.name), rows)
        await events.announce(
            session,
            "storefront_reach",
            list(by_month),
            at=self.clock(),
            counts={merchant_id: dict(counter) for merchant_id, counter in by_month.items()},
        )

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("storefront reach: flush failed; the counts wait for the next one")

    async def start(self) -> None:
        """Flush every `interval` seconds from now on (0: only when asked and at stop)."""
        self._stopping.clear()
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="storefront-reach-flush")

    async def stop(self) -> None:
        """The last flush, when the app stops. It runs after the database plugin has closed its
        connections, so it closes the ones it opened again."""
        self._stopping.set()
        try:
            if self._task is not None:
                await self._task  # its loop ends with a flush
                self._task = None
            await self.flush()
        except Exception:
            log.exception("storefront reach: the last flush failed; %d requests not written", self.pending())
        finally:
            await self.engine.dispose()


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = StorefrontReach.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.storefront_id, table.c.day],
        set_={
            "views": table.c.views + statement.excluded.views,
            "qr_fetches": table.c.qr_fetches + statement.excluded.qr_fetches,
            "merchant_id": statement.excluded.merchant_id,
            "province_code": statement.excluded.province_code,
            "commune_code": statement.excluded.commune_code,
        },
    )


async def totals(
    session: AsyncSession, *, merchant_ids: list[uuid.UUID], today: date
) -> dict[uuid.UUID, ReachTotals]:
    """Views and QR fetches of these traders' pages over the last 7 and 30 days (today included)."""
    if not merchant_ids:
        return {}
    r = StorefrontReach
    week = today - timedelta(days=6)

    def last_week(column: Any) -> Any:
        return func.sum(case((r.day >= week, column), else_=0))

    rows = await session.execute(
        select(
            r.merchant_id,
            last_week(r.views).label("views_7d"),
            last_week(r.qr_fetches).label("qr_fetches_7d"),
            func.sum(r.views).label("views_30d"),
            func.sum(r.qr_fetches).label("qr_fetches_30d"),
        )
        .where(r.merchant_id.in_(merchant_ids), r.day >= today - timedelta(days=29), r.day <= today)
        .group_by(r.merchant_id)
    )
    return {
        row.merchant_id: ReachTotals(
            views_7d=row.views_7d or 0,
            qr_fetches_7d=row.qr_fetches_7d or 0,
            views_30d=row.views_30d or 0,
            qr_fetches_30d=row.qr_fetches_30d or 0,
        )
        for row in rows
    }
