"""Argon2 password hashing, off the event loop.

A verification costs tens of milliseconds of CPU by design. Run in the event loop it would stall
every other request of the process (a few wrong passwords a second made a public page take two
seconds); it runs in worker threads instead, at most `CONCURRENT` at once per process, so a flood
of sign-ins queues behind itself and leaves threads and cores for everyone else. Hashing costs the
same and goes the same way: `hash_password` is the only way to make a hash.
"""

import asyncio
import weakref
from functools import cache

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
CONCURRENT = 2
_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]" = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(CONCURRENT)
    return limiter


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_limiter())


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter())


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")


async def burn_verification(password: str) -> None:
    """Spend the time of one verification when the user does not exist, so timing reveals nothing."""
    await verify_password(_dummy_hash(), password)
