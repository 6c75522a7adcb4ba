"""Argon2 password hashing, off the event loop.

A verification costs tens of milliseconds of CPU by design. Run in the event loop it would stall
every other request of the process (a few wrong passwords a second made a public page take two
seconds); it runs in worker threads instead (`service.offload`, at most two at once per process),
so a flood of sign-ins queues behind itself and leaves threads and cores for everyone else. Hashing
costs the same and goes the same way: `hash_password` is the only way to make a hash.
"""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service import offload

_hasher = PasswordHasher()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await offload.run("passwords", _verify, password_hash, password)


async def hash_password(password: str) -> str:
    return await offload.run("passwords", _hasher.hash, password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")


async def burn_verification(password: str) -> None:
    """Spend the time of one verification when the user does not exist, so timing reveals nothing."""
    await verify_password(_dummy_hash(), password)
