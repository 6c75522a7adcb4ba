"""Login rate limiting, kept in a Litestar store (memory here; Redis when several processes serve)."""

from litestar.stores.base import Store


class LoginThrottle:
    def __init__(self, store: Store, *, limit: int, window: int):
        self.store = store
        self.limit = limit
        self.window = window

    async def wait_seconds(self, key: str) -> int:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        count = await self.store.get(key)
        if count is None or int(count) < self.limit:
            return 0
        return (await self.store.expires_in(key)) or self.window

    async def failed(self, key: str) -> None:
        count = int(await self.store.get(key) or 0) + 1
        await self.store.set(key, str(count), expires_in=self.window)

    async def succeeded(self, key: str) -> None:
        await self.store.delete(key)
