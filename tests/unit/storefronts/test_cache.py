import uuid

from service.storefronts import cache
from service.storefronts.cache import PageCache


def keep(pages: PageCache, slug: str, merchant_id=None, storefront_id=None):
    return pages.keep(
        slug,
        {"slug": slug},
        merchant_id=merchant_id or uuid.uuid4(),
        storefront_id=storefront_id or uuid.uuid4(),
    )


def test_pages_are_dropped_by_merchant_or_storefront() -> None:
    pages = PageCache(engine=None)  # type: ignore[arg-type]
    merchant, storefront = uuid.uuid4(), uuid.uuid4()
    keep(pages, "a", merchant_id=merchant)
    keep(pages, "b", storefront_id=storefront)
    keep(pages, "c")
    pages.forget({merchant})
    assert pages.entry("a") is None and pages.entry("b") is not None
    pages.forget({storefront})
    assert pages.entry("b") is None and pages.entry("c") is not None
    pages.forget({"*"})
    assert len(pages) == 0


def test_least_recently_used_pages_go_first() -> None:
    pages = PageCache(engine=None, max_entries=2)  # type: ignore[arg-type]
    keep(pages, "a")
    keep(pages, "b")
    assert pages.entry("a") is not None  # a is now the most recent
    keep(pages, "c")
    assert pages.entry("b") is None and pages.entry("a") is not None and pages.entry("c") is not None


def test_entries_expire(monkeypatch) -> None:
    pages = PageCache(engine=None)  # type: ignore[arg-type]
    keep(pages, "a")
    now = cache.time.monotonic()
    monkeypatch.setattr(cache.time, "monotonic", lambda: now + cache.TTL + 1)
    assert pages.entry("a") is None


def test_a_disabled_cache_keeps_nothing() -> None:
    pages = PageCache(engine=None, enabled=False)  # type: ignore[arg-type]
    entry = keep(pages, "a")
    assert entry.data == {"slug": "a"} and pages.entry("a") is None
