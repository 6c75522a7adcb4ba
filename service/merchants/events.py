"""Something happened to a trader: the one seam between the area that owns a change and the areas
that react to it (onboarding, the report counters) in the same transaction (DESIGN §3).

The owning area wraps its change in `changing(...)`. That locks the traders' rows first, in id
order, so that two write paths touching the same trader are serialized (no listener reads a state
that another transaction is about to change) and never deadlock; then it lets the listeners look
at the state before the change, runs the change, and lets them react to it. A lower area never
imports a higher one: payments, storefronts and merchants announce; onboarding and the report
counters listen. A new write path that uses `changing` cannot forget the counters.

Listeners register with `@reacts_to(kind, ...)` in a module that `service.models` imports, so they
are in place wherever the tables are. A listener is an async function (it runs after the change)
or an async generator function: its code before `yield` runs before the change, the rest after.
Listeners run in ascending `order` (then registration order): the areas that write more events
first, the report counters (order 100) last, on the final state.

Kinds and their `detail`:

| kind                      | merchant_ids           | detail                                       |
|---------------------------|------------------------|----------------------------------------------|
| registered                | the new trader         |                                              |
| imported                  | the new traders        |                                              |
| moved                     | the trader             | changed: the place fields that changed        |
| merged                    | survivor, duplicate    | survivor, duplicate                          |
| deleted                   | the trader             |                                              |
| erased                    | the trader (+ merged)  |                                              |
| payment_account_added     | the trader             | account_id                                   |
| payment_account_removed   | the trader             | account_id, remaining (live accounts left)   |
| poster_printed            | the trader             | poster_id                                    |
| storefront_published      | the trader             | storefront_id                                |
| storefront_unpublished    | the trader             | storefront_id                                |
| stage_changed             | the trader             | place: Place, before/after: Standing         |
| visit_recorded            | the trader             | place: Place, visited_on, volunteer_id,      |
|                           |                        | occurred_at                                  |
| payment_reported          | the trader             | place: Place, day, paid (bool), previous     |
|                           |                        | (the trader's last paying day before it)     |
| storefront_reach          | traders                | counts: {merchant_id: {(metric, month): n}}  |
"""

import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.merchants.models import Merchant

Kind = Literal[
    "registered",
    "imported",
    "moved",
    "merged",
    "deleted",
    "erased",
    "payment_account_added",
    "payment_account_removed",
    "poster_printed",
    "storefront_published",
    "storefront_unpublished",
    "stage_changed",
    "visit_recorded",
    "payment_reported",
    "storefront_reach",
]


@dataclass(frozen=True)
class Place:
    """Where a trader is counted, and since when."""

    province_code: str
    commune_code: str
    village_id: uuid.UUID | None
    team_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class Standing:
    """A trader's stages at one moment, as its log says (onboarding.stages.progress)."""

    stage: str  # the current stage: the highest held
    reached_at: datetime  # when the current stage was reached (registration time if none held)
    holds: Mapping[str, datetime] = field(default_factory=dict)  # stage held now → since when
    stood: frozenset[str] = frozenset()  # stages ever held by a claim that stood (not rejected)


@dataclass(frozen=True)
class TraderEvent:
    kind: Kind
    merchant_ids: tuple[uuid.UUID, ...]
    at: datetime
    by: uuid.UUID | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[AsyncSession, TraderEvent], Any]  # a coroutine or async generator function


@dataclass(frozen=True)
class _Registered:
    order: int
    listener: Listener


_LISTENERS: dict[str, list[_Registered]] = {}
NEW_TRADERS = ("registered", "imported")  # no row to lock before the change: it makes them


def reacts_to(*kinds: Kind, order: int = 50) -> Callable[[Listener], Listener]:
    def register(listener: Listener) -> Listener:
        for kind in kinds:
            found = _LISTENERS.setdefault(kind, [])
            found.append(_Registered(order, listener))
            found.sort(key=lambda r: r.order)  # stable: registration order within one order
        return listener

    return register


def listeners(kind: Kind) -> list[Listener]:
    _load_listeners()
    return [r.listener for r in _LISTENERS.get(kind, ())]


def _load_listeners() -> None:
    import service.models  # noqa: F401  (every area's models and the listeners they register)


async def lock(session: AsyncSession, merchant_ids: Iterable[uuid.UUID]) -> None:
    """Lock the traders' rows until the transaction ends, in id order. PostgreSQL: SELECT … FOR
    UPDATE. SQLite has no row locks: a no-op UPDATE takes the database's write lock, which
    serializes every writer (the read that follows sees the latest committed state)."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        table = Merchant.__table__
        await session.execute(update(table).where(table.c.id.in_(ids)).values(version=table.c.version))
        return
    await session.execute(
        select(Merchant.id).where(Merchant.id.in_(ids)).order_by(Merchant.id).with_for_update()
    )


@asynccontextmanager
async def changing(
    session: AsyncSession,
    kind: Kind,
    merchant_ids: Iterable[uuid.UUID],
    *,
    at: datetime,
    by: uuid.UUID | None = None,
    **detail: Any,
) -> AsyncIterator[TraderEvent]:
    """Lock the traders, let listeners see them before the change, run the change (the body), then
    let listeners react. If the body raises, nothing after it runs (the transaction rolls back)."""
    ids = tuple(dict.fromkeys(merchant_ids))
    if kind not in NEW_TRADERS:
        await lock(session, ids)
    async with _around(
        session, TraderEvent(kind=kind, merchant_ids=ids, at=at, by=by, detail=detail)
    ) as event:
        yield event


async def announce(
    session: AsyncSession,
    kind: Kind,
    merchant_ids: Iterable[uuid.UUID],
    *,
    at: datetime,
    by: uuid.UUID | None = None,
    **detail: Any,
) -> None:
    """Tell the listeners of a change the owner already made, under a lock it already holds (or of
    new traders): a stage change or a visit, whose before and after the owner passes in `detail`."""
    event = TraderEvent(
        kind=kind, merchant_ids=tuple(dict.fromkeys(merchant_ids)), at=at, by=by, detail=detail
    )
    async with _around(session, event):
        pass


@asynccontextmanager
async def _around(session: AsyncSession, event: TraderEvent) -> AsyncIterator[TraderEvent]:
    """Every listener's part before the change, in order; the change; every part after it."""
    after: list[Callable[[], Awaitable[Any]]] = []
    started: list[Any] = []
    try:
        for listener in listeners(event.kind):
            if inspect.isasyncgenfunction(listener):
                generator = listener(session, event)
                await generator.__anext__()
                started.append(generator)
                after.append(lambda generator=generator: _finish(generator))
            else:
                after.append(lambda listener=listener: listener(session, event))
        yield event
    except BaseException:
        for generator in started:  # let them clean up (their `finally`), then fail as the body did
            await generator.aclose()
        raise
    for run in after:
        await run()


async def _finish(generator: Any) -> None:
    try:
        await generator.__anext__()
    except StopAsyncIteration:
        return
    raise RuntimeError(f"listener {generator!r} yielded twice")


def place_of(row: Any) -> Place:
    """The Place of a row with the merchant's place columns (a Merchant or a selected row)."""
    return Place(
        province_code=row.province_code,
        commune_code=row.commune_code,
        village_id=row.village_id,
        team_id=row.team_id,
        created_at=row.created_at,
    )
