"""Login rate limiting, kept in a Litestar store (memory here; Redis when several processes serve).

An attempt is counted before the password is checked (`take`), so parallel wrong passwords cannot
all be checked before the first failure is recorded. Two counters: per username and address (a
success clears it), and per address whatever the username (a success gives its attempt back).
"""

import asyncio

from litestar.stores.base import Store


class LoginThrottle:
    def __init__(self, store: Store, *, limit: int, window: int, address_limit: int | None = None):
        self.store = store
        self.limit = limit
        self.address_limit = address_limit or limit
        self.window = window
        self._lock = asyncio.Lock()  # the read-then-write of a counter, within this process

    def keys(self, *, username: str, address: str) -> tuple[str, str]:
        return f"{username.strip().lower()}|{address}", f"address|{address}"

    async def take(self, *, username: str, address: str) -> int:
        """Count an attempt; 0 when it may go ahead, otherwise the seconds until one may."""
        user_key, address_key = self.keys(username=username, address=address)
        async with self._lock:
            for key, limit in ((user_key, self.limit), (address_key, self.address_limit)):
                if int(await self.store.get(key) or 0) >= limit:
                    return (await self.store.expires_in(key)) or self.window
            for key in (user_key, address_key):
                count = int(await self.store.get(key) or 0) + 1
                await self.store.set(key, str(count), expires_in=self.window)
        return 0

    async def succeeded(self, *, username: str, address: str) -> None:
        user_key, address_key = self.keys(username=username, address=address)
        async with self._lock:
            await self.store.delete(user_key)
            count = int(await self.store.get(address_key) or 0)
            if count > 1:
                await self.store.set(address_key, str(count - 1), expires_in=self.window)
            else:
                await self.store.delete(address_key)

    # A plain counter of misses per key, checked before and counted after (poster codes).

    async def wait_seconds(self, key: str) -> int:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        count = await self.store.get(key)
        if count is None or int(count) < self.limit:
            return 0
        return (await self.store.expires_in(key)) or self.window

    async def failed(self, key: str) -> None:
        async with self._lock:
            count = int(await self.store.get(key) or 0) + 1
            await self.store.set(key, str(count), expires_in=self.window)
