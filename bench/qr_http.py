"""A merchant's QR image over HTTP: cold render against the render cache, and the conditional GET.

    .venv/bin/python -m bench.qr_http [--runs 200]

The whole app (routing, auth by bearer token, the scoped merchant and account queries) runs in
process on a fresh SQLite database with the demo data, through Litestar's ASGI test client, so
the figures are the server's own time without a network. `cold` clears the render cache before
every request; `cached` repeats the same request; `revalidated` sends the ETag back (304, no body).
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from litestar.testing import AsyncTestClient

from service import migrate
from service.app import create_app
from service.db import create_engine, session_maker
from service.generated.demo import seed_demo
from service.payments import render
from service.payments.vietqr import VietQR, encode
from service.settings import Settings

MERCHANT = uuid.uuid5(uuid.NAMESPACE_URL, "onboard-demo-merchant-0")  # a demo trader with an account


async def median_ms(fn: Callable[[], Awaitable[object]], runs: int) -> float:
    for _ in range(5):
        await fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def prepare(url: str) -> None:
    engine = create_engine(Settings(database_url=url, secret_key="bench-secret-key-0123"))
    try:
        async with session_maker(engine)() as session:
            await seed_demo(session, at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
            await session.commit()
    finally:
        await engine.dispose()


async def measure(url: str, runs: int) -> dict[str, float]:
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123", log_requests=False)
    async with AsyncTestClient(create_app(settings)) as client:
        login = await client.post(
            "/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        path = f"/merchants/{MERCHANT}/qr.png"
        first = await client.get(path, headers=headers)
        if first.status_code != 200 or first.headers["content-type"] != "image/png":
            raise SystemExit(f"{path}: {first.status_code} {first.text[:200]}")
        etag = first.headers["etag"]

        async def cold() -> None:
            render.clear_cache()
            await client.get(path, headers=headers)

        async def cached() -> None:
            await client.get(path, headers=headers)

        async def revalidated() -> None:
            response = await client.get(path, headers={**headers, "If-None-Match": etag})
            assert response.status_code == 304

        figures = {"cold": await median_ms(cold, runs)}
        before = render._served.cache_info()
        figures["cached"] = await median_ms(cached, runs)
        figures["revalidated"] = await median_ms(revalidated, runs)
        after = render._served.cache_info()
        # Warm requests must all be cache hits: one render at most (the first after `cold`).
        figures["renders_when_warm"] = after.misses - before.misses
        start = time.perf_counter()
        for _ in range(runs):
            await client.get(path, headers=headers)
        figures["cached_rps"] = runs / (time.perf_counter() - start)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        asyncio.run(prepare(url))
        figures = asyncio.run(measure(url, args.runs))
    payload = encode(VietQR(bank_bin="970405", account="4000205123456"))  # that trader's QR
    render_ms = statistics.median(_render_once(payload) for _ in range(50)) * 1000
    print(f"# {args.runs} requests each; the PNG render alone takes {render_ms:.3f} ms")
    print(f"qr_http_cold_ms {figures['cold']:.3f}")
    print(f"qr_http_cached_ms {figures['cached']:.3f}")
    print(f"qr_http_304_ms {figures['revalidated']:.3f}")
    print(f"qr_http_cached_rps {figures['cached_rps']:.0f}")
    print(f"qr_http_cold_vs_cached_ratio {figures['cold'] / figures['cached']:.3f}")
    print(f"qr_http_renders_when_warm {figures['renders_when_warm']}")


def _render_once(payload: str) -> float:
    render.clear_cache()
    start = time.perf_counter()
    render.served(payload, "png")
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
