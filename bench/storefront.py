"""A public storefront page under load: cached, revalidated (304) and uncached, against hello-world.

    .venv/bin/python -m bench.storefront [--seconds 4] [--rounds 5] [--connections 32]

A fresh migrated SQLite database gets the demo data and a published storefront of 20 products.
The app runs under uvicorn (one worker) pinned to CPU 0 with `taskset`; Debian's `wrk` loads it
from CPU 1 with 32 connections. Measured, each in requests per second:

- `hello`: a hello-world JSON handler registered by this script on the same app, so it passes the
  same middleware (request log off, session, auth, locale; CSRF skipped, as for the public pages);
- `storefront_cached`: `/s/{slug}` from the page cache;
- `storefront_304`: the same with `If-None-Match` of the page's ETag;
- `storefront_uncached`: the page with the cache turned off (ONBOARD_STOREFRONT_CACHE=0), i.e. the
  database query and the render on every request (a second server; its own hello is the baseline).

Every request carries a phone browser's User-Agent, so each page request (200 or 304) is counted
as a storefront view (storefronts/reach.py) the way a shopper's is; the counts are flushed when the
server stops, and the views written are printed beside the requests wrk completed.

The targets take turns in `--rounds` rounds; rates are medians over the rounds, ratios the median
of each round's ratio against the hello of the same server process and round (the machine may be
busy with other work: a round's figures were measured under about the same load).
Goals: cached ≥ 0.70, 304 ≥ 0.85, uncached ≥ 0.10.
"""

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from litestar import Litestar, get
from sqlalchemy import func, select

from service import migrate
from service.accounts.models import User
from service.accounts.services import AccountService
from service.app import create_app
from service.db import create_engine, session_maker
from service.generated.demo import demo_merchant_id, seed_demo
from service.settings import Settings
from service.storefronts.models import Product, StoredImage, StorefrontReach
from service.storefronts.services import StorefrontService

SECRET = "bench-secret-key-0123456789"
PRODUCTS = 20
HELLO = "/bench/hello"
PHONE = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
COMPLETED: Counter[str] = Counter()  # requests wrk completed per URL, warm-up runs included


@get(HELLO, name="bench.hello", opt={"exclude_from_csrf": True})
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def app() -> Litestar:
    """uvicorn's factory: the production app from the environment, plus the hello handler."""
    application = create_app(Settings.from_env())
    application.register(hello)
    return application


async def prepare(url: str, media_dir: Path) -> str:
    """Demo data, then a storefront of 20 products with photos; returns its slug."""
    settings = Settings(database_url=url, secret_key=SECRET)
    engine = create_engine(settings)
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    try:
        async with session_maker(engine)() as session:
            await seed_demo(session, at=at, media_dir=media_dir)
            await session.commit()
        async with session_maker(engine)() as session:
            user_id = await session.scalar(select(User.id).where(User.username == "demo-volunteer"))
            volunteer = await AccountService(session).current_user(user_id=user_id)
            merchant_id = demo_merchant_id(0)  # Bún hến O Nga: a published demo page with an account
            storefronts = StorefrontService(session)
            storefront = await storefronts.of_merchant(merchant_id)
            assert storefront is not None
            photos = list(await session.scalars(select(StoredImage).limit(PRODUCTS)))
            have = len(await storefronts.products(storefront.id))
            for n in range(have, PRODUCTS):
                await storefronts.add_product_for(
                    by=volunteer,
                    merchant_id=merchant_id,
                    values={
                        "name": f"Món số {n + 1} đặc biệt",
                        "price": str(15000 + 5000 * n),
                        "unit": "phần",
                        "available": "on",
                    },
                    image=photos[n % len(photos)],
                    at=at,
                )
            await storefronts.publish(by=volunteer, merchant_id=merchant_id, at=at)
            await session.commit()
            assert len(await storefronts.products(storefront.id)) == PRODUCTS
            assert await session.scalar(select(Product.id).where(Product.storefront_id == storefront.id))
            return storefront.slug
    finally:
        await engine.dispose()


async def counted_views(url: str) -> int:
    """The storefront views the server wrote (it flushes its counts when it stops)."""
    engine = create_engine(Settings(database_url=url, secret_key=SECRET))
    try:
        async with session_maker(engine)() as session:
            return await session.scalar(select(func.coalesce(func.sum(StorefrontReach.views), 0))) or 0
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn in a subprocess, pinned to CPU 0."""

    def __init__(self, *, url: str, media_dir: Path, cache: bool, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ONBOARD_DATABASE_URL": url,
            "ONBOARD_SECRET_KEY": SECRET,
            "ONBOARD_MEDIA_DIR": str(media_dir),
            "ONBOARD_PUBLIC_URL": self.base,
            "ONBOARD_LOG_REQUESTS": "0",
            "ONBOARD_STOREFRONT_CACHE": "1" if cache else "0",
        }
        command = [
            "taskset", "-c", "0",
            sys.executable, "-m", "uvicorn", "bench.storefront:app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self.log = log.open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                if httpx.get(self.base + HELLO, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped: see {log}")
            time.sleep(0.05)
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second from wrk pinned to CPU 1 (after a short warm-up run)."""
    headers = {"User-Agent": PHONE, **(headers or {})}
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    base = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", *header_args]
    warm = subprocess.run([*base, "-d1s", url], check=True, capture_output=True, text=True).stdout
    out = subprocess.run([*base, f"-d{seconds}s", url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    for run in (warm, out):
        if done := re.search(r"(\d+) requests in", run):
            COMPLETED[url] += int(done.group(1))
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if not match:
        raise SystemExit(f"no figure from wrk:\n{out}")
    return float(match.group(1))


def rounds(targets: dict[str, tuple[str, dict[str, str]]], count: int, load: dict[str, int]) -> list[dict]:
    """`count` rounds in which the targets take turns, back to back: each round's rates were
    measured under about the same load from the machine's other work."""
    return [
        {name: wrk(url, headers=headers, **load) for name, (url, headers) in targets.items()}
        for _ in range(count)
    ]


def median(measured: list[dict], name: str, baseline: str | None = None) -> float:
    """The median rate of a target, or (with `baseline`) the median of its per-round ratios."""
    return statistics.median(r[name] / r[baseline] if baseline else r[name] for r in measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for tool, package in (("wrk", "wrk"), ("taskset", "util-linux")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y {package}")
    if (os.cpu_count() or 1) < 2:
        print("# warning: one CPU; server and load generator share it", file=sys.stderr)
    load = {"seconds": args.seconds, "connections": args.connections}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        media = Path(tmp) / "media"
        migrate.upgrade(url)
        slug = asyncio.run(prepare(url, media))

        server = Server(url=url, media_dir=media, cache=True, log=Path(tmp) / "cached.log")
        try:
            page = page_cached = server.base + f"/s/{slug}"
            first = httpx.get(page)
            assert first.status_code == 200 and first.text.count('class="item') == PRODUCTS, first.status_code
            etag = first.headers["etag"]
            assert httpx.get(page, headers={"If-None-Match": etag}).status_code == 304
            cached = rounds(
                {
                    "hello": (server.base + HELLO, {}),
                    "cached": (page, {}),
                    "revalidated": (page, {"If-None-Match": etag}),
                },
                args.rounds,
                load,
            )
        finally:
            server.stop()
        views = asyncio.run(counted_views(url))

        server = Server(url=url, media_dir=media, cache=False, log=Path(tmp) / "uncached.log")
        try:
            page = server.base + f"/s/{slug}"
            assert httpx.get(page).status_code == 200
            uncached = rounds({"hello": (server.base + HELLO, {}), "uncached": (page, {})}, args.rounds, load)
        finally:
            server.stop()

    print(
        f"# {PRODUCTS} products, page {len(first.content)} bytes (HTML with its CSS); "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s on CPU 1, uvicorn on CPU 0; "
        f"medians of {args.rounds} rounds (ratios: of the per-round ratios)"
    )
    print(f"hello_rps {median(cached, 'hello'):.0f}")
    print(f"storefront_cached_rps {median(cached, 'cached'):.0f}")
    print(f"storefront_304_rps {median(cached, 'revalidated'):.0f}")
    print(f"storefront_uncached_rps {median(uncached, 'uncached'):.0f}")
    print(f"# hello_rps of the server with the cache off: {median(uncached, 'hello'):.0f}")
    print(f"cached_ratio {median(cached, 'cached', 'hello'):.3f}")
    print(f"revalidate_ratio {median(cached, 'revalidated', 'hello'):.3f}")
    print(f"uncached_ratio {median(uncached, 'uncached', 'hello'):.3f}")
    print(
        f"# storefront views counted by the cached server: {views} (wrk completed {COMPLETED[page_cached]})"
    )


if __name__ == "__main__":
    main()
