"""Rendered public storefront pages, kept in the process and dropped when what they show changes.

A published page is read far more often than it is edited, so `/s/{slug}` answers from here without
touching the database: key (slug, locale) → the page's bytes and ETag, plus the fetched data the
QR images use. Entries are dropped on every committed change that a page shows, whoever makes it:
SQLAlchemy session events watch Storefront and Product rows (this area), Merchant rows (a rename,
a move, consent withdrawn, a deletion or merge) and PaymentAccount rows (the QR), through the ORM's
unit of work and through ORM `update()`/`delete()` statements alike. So the merchants and payments
code need not know this cache exists.

Several processes (DESIGN §8) each hold their own copy and only the one that committed hears of a
change: `TTL` bounds how long another process may serve the old page. A shared store (Redis) would
remove that window; a page is small and rebuilt in a millisecond, so the bound is kept short.
"""

import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from service.merchants.models import Merchant
from service.payments.models import PaymentAccount
from service.storefronts.models import Product, Storefront

MAX_ENTRIES = 1000  # storefronts; ~20 kB per page and locale
TTL = 30.0  # seconds another process may serve a page changed elsewhere
# Merchant columns a public page shows or depends on; an ORM update() of other columns (the
# onboarding stage columns, written on every stage event) leaves the pages alone.
_MERCHANT_SHOWN = {
    "business_name",
    "category",
    "market",
    "stall",
    "commune_code",
    "province_code",
    "consent_purposes",
    "deleted_at",
    "merged_into_id",
}
_KEY = "storefront_pages_changed"
_EVERYTHING = "*"


class Page(msgspec.Struct, frozen=True):
    body: bytes
    etag: str


class Entry:
    __slots__ = ("data", "expires", "merchant_id", "pages", "storefront_id")

    def __init__(self, data: Any, merchant_id: uuid.UUID, storefront_id: uuid.UUID, expires: float):
        self.data = data
        self.merchant_id = merchant_id
        self.storefront_id = storefront_id
        self.expires = expires
        self.pages: dict[str, Page] = {}


class PageCache:
    """Per-process LRU of storefront data and rendered pages. `enabled=False` keeps nothing (every
    request queries and renders: what the benchmark's uncached figure measures)."""

    def __init__(self, engine: AsyncEngine, *, enabled: bool = True, max_entries: int = MAX_ENTRIES):
        self.engine = engine
        self.enabled = enabled
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def entry(self, slug: str) -> Entry | None:
        entry = self._entries.get(slug)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            del self._entries[slug]
            return None
        self._entries.move_to_end(slug)
        return entry

    def keep(self, slug: str, data: Any, *, merchant_id: uuid.UUID, storefront_id: uuid.UUID) -> Entry:
        entry = Entry(data, merchant_id, storefront_id, time.monotonic() + TTL)
        if self.enabled:
            self._entries[slug] = entry
            self._entries.move_to_end(slug)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def forget(self, ids: Iterable[Any]) -> None:
        """Drop the pages of these merchants or storefronts (ids of either), or all with "*"."""
        ids = set(ids)
        if _EVERYTHING in ids:
            self._entries.clear()
            return
        for slug in [s for s, e in self._entries.items() if e.merchant_id in ids or e.storefront_id in ids]:
            del self._entries[slug]

    def __len__(self) -> int:
        return len(self._entries)


# --- invalidation -------------------------------------------------------------------------------

_caches: "weakref.WeakKeyDictionary[Engine, PageCache]" = weakref.WeakKeyDictionary()
_listening = False


def install(engine: AsyncEngine, *, enabled: bool = True) -> PageCache:
    """The page cache of an app, dropped from on every commit through `engine` that changes a page."""
    global _listening
    cache = PageCache(engine, enabled=enabled)
    _caches[engine.sync_engine] = cache
    if not _listening:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        # No rollback hook: a rolled-back savepoint may sit inside a transaction that commits, so
        # marks are only ever dropped by a commit; one dropped too many is just rebuilt.
        event.listen(Session, "after_commit", _after_commit)
        _listening = True
    return cache


def _changed(session: Session) -> set[Any]:
    return session.info.setdefault(_KEY, set())


def _after_flush(session: Session, _: UOWTransaction) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, Merchant):
            _changed(session).add(row.id)
        elif isinstance(row, PaymentAccount | Storefront):
            _changed(session).add(row.merchant_id)
        elif isinstance(row, Product):
            _changed(session).add(row.storefront_id)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    entity = state.bind_mapper.class_
    if entity is Merchant:
        values = getattr(state.statement, "_values", None)
        names = {getattr(column, "key", str(column)) for column in values} if values else None
        if names is not None and not names & _MERCHANT_SHOWN:
            return
    elif entity not in (PaymentAccount, Storefront, Product):
        return
    _changed(state.session).add(_EVERYTHING)  # which rows is not known here: drop every page


def _after_commit(session: Session) -> None:
    changed = session.info.pop(_KEY, None)
    if not changed:
        return
    bind = session.bind
    cache = _caches.get(bind) if isinstance(bind, Engine) else None
    if cache is not None:
        cache.forget(changed)
