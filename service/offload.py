"""CPU-heavy work off the event loop, a bounded number at once per kind of work.

One process serves every request from one event loop: a function that holds the CPU for a second
there (an argon2 verification, a decoded photo, a 200,000-row spreadsheet checked, a PDF drawn)
stalls every other request for that second, `/health` included. Such work runs in worker threads
through `run`, at most `LIMITS[kind]` at once per process, so a burst of one kind queues behind
itself and leaves threads, cores and memory for everyone else.
"""

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
Kind = Literal["passwords", "images", "sheets", "documents"]

# How many of each kind run at once. Images: a decoded photo may take up to
# `limits.IMAGE_MAX_DECODED_BYTES` and its working copies, so two at once bound the memory of a burst
# of uploads. Sheets: an import check holds a file's rows; one at a time, the next waits its turn.
LIMITS: dict[str, int] = {"passwords": 2, "images": 2, "sheets": 1, "documents": 2}

_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]]" = (
    weakref.WeakKeyDictionary()
)


def _limiter(kind: str) -> anyio.CapacityLimiter:
    # A CapacityLimiter belongs to the event loop it was first used in (tests run several loops).
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    limiter = per_loop.get(kind)
    if limiter is None:
        limiter = per_loop[kind] = anyio.CapacityLimiter(LIMITS[kind])
    return limiter


async def run(kind: Kind, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in a worker thread, once a slot of `kind` is free.

    Context variables (the request's language) are seen by `func` as they are here."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=_limiter(kind))
