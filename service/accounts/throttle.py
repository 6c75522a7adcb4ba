"""Rate limiting of guesses (passwords, one-time sign-in codes, poster codes), kept in a Litestar
store (memory here; Redis when several processes serve).

One way for every caller: `take` counts an attempt before it is checked, so parallel wrong guesses
cannot all be checked before the first failure is recorded; `succeeded` gives it back. Two counters:
per username and address (a success clears it; only when a username is given), and per address
whatever the username (a success gives its attempt back). The address is the one
`service.proxies` trusts, never a header a client chose.
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

    def _counters(self, *, username: str | None, address: str) -> list[tuple[str, int]]:
        counters = [(f"address|{address}", self.address_limit)]
        if username is not None:
            counters.insert(0, (f"{username.strip().lower()}|{address}", self.limit))
        return counters

    async def take(self, *, address: str, username: str | None = None) -> int:
        """Count an attempt; 0 when it may go ahead, otherwise the seconds until one may."""
        counters = self._counters(username=username, address=address)
        async with self._lock:
            for key, limit in counters:
                if int(await self.store.get(key) or 0) >= limit:
                    return (await self.store.expires_in(key)) or self.window
            for key, _ in counters:
                count = int(await self.store.get(key) or 0) + 1
                await self.store.set(key, str(count), expires_in=self.window)
        return 0

    async def succeeded(self, *, address: str, username: str | None = None) -> None:
        counters = self._counters(username=username, address=address)
        address_key = counters[-1][0]
        async with self._lock:
            if username is not None:
                await self.store.delete(counters[0][0])
            count = int(await self.store.get(address_key) or 0)
            if count > 1:
                await self.store.set(address_key, str(count - 1), expires_in=self.window)
            else:
                await self.store.delete(address_key)
