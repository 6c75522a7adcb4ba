"""CPU-heavy work off the event loop, a bounded number at once per kind of work.

One process serves every request from one event loop: a function that holds the CPU for a second
there (an argon2 verification, a decoded photo, a 200,000-row spreadsheet checked, a PDF drawn)
stalls every other request for that second, `/health` included. Such work runs through `run` in
worker threads of its own, at most `LIMITS[kind]` at once per process, so a burst of one kind
queues behind itself and leaves threads, cores and memory for everyone else.

The worker threads run at a lower CPU priority (Linux applies `nice` per thread): when the cores
are all busy, and a server pinned to one core always is under such a burst, the event loop's thread
is scheduled first, so a page or `/health` is answered between two slices of the heavy work
instead of waiting for a fair share beside it.
"""

import asyncio
import contextlib
import contextvars
import ctypes
import ctypes.util
import functools
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import anyio

T = TypeVar("T")
Kind = Literal["passwords", "images", "sheets", "documents"]

# How many of each kind run at once. Images: a decoded photo may take up to
# `limits.IMAGE_MAX_DECODED_BYTES` and its working copies, so two at once bound the memory of a burst
# of uploads. Sheets: an import check holds a file's rows; one at a time, the next waits its turn.
LIMITS: dict[str, int] = {"passwords": 2, "images": 2, "sheets": 1, "documents": 2}
NICE = 10  # added to the worker threads' niceness (0 to 19; higher yields more)
# Kinds whose work allocates and frees large buffers (decoded pixels, a file's rows, a PDF): glibc
# keeps freed memory in each thread's arena for reuse, so after a burst the process would stay at
# its peak. It is handed back to the system once such work ends (`malloc_trim`, a few ms).
TRIMMED = frozenset({"images", "sheets", "documents"})

_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]]" = (
    weakref.WeakKeyDictionary()
)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _limiter(kind: str) -> anyio.CapacityLimiter:
    # A CapacityLimiter belongs to the event loop it was first used in (tests run several loops).
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    limiter = per_loop.get(kind)
    if limiter is None:
        limiter = per_loop[kind] = anyio.CapacityLimiter(LIMITS[kind])
    return limiter


def _lower_priority() -> None:
    # Not Linux, or not allowed: the same priority as the loop.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + NICE)


def _load_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _load_trim()


def _then_trim(call: Callable[[], T]) -> T:
    try:
        return call()
    finally:
        if _malloc_trim is not None:
            _malloc_trim(0)


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=sum(LIMITS.values()), thread_name_prefix="offload", initializer=_lower_priority
            )
        return _pool


async def run(kind: Kind, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in a worker thread, once a slot of `kind` is free.

    Context variables (the request's language) are seen by `func` as they are here."""
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    if kind in TRIMMED:
        call = functools.partial(_then_trim, call)
    async with _limiter(kind):
        future = asyncio.get_running_loop().run_in_executor(_workers(), call)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A thread cannot be stopped: its slot stays taken until it ends.
            await asyncio.wait([future])
            raise
