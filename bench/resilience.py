"""One server under heavy requests: what the others still get, and what memory it keeps.

    .venv/bin/python -m bench.resilience            # 200,000 rows, 30 s after the image burst
    .venv/bin/python -m bench.resilience --quick    # 20,000 rows, shorter phases, 10 s after

A fresh migrated SQLite database gets the demo data; the app runs as a real server (`onboard
serve`: uvicorn, one process) in a subprocess, pinned to CPU 0 with `taskset` when it is there; the
clients are threads of this script. Printed, each beside its baseline:

- `login_flood_page_ratio`: the median latency of a public storefront page (`/s/{slug}`) while 4
  clients send wrong passwords (each from its own forwarded address, as a spread-out flood would,
  so every attempt costs an argon2 verification), divided by the same median without them.
  Goal ≤ 1.5.
- `import_health_p99_ms`: the 99th percentile of `/health`, polled every 20 ms, while a team leader
  previews and then commits a CSV of `--rows` traders on the import page. Goal ≤ 100 ms.
- `image_bomb_peak_mib`: the server's peak resident memory growth (VmHWM, reset through
  /proc/<pid>/clear_refs, else sampled every 5 ms) while 8 copies of a 154 KB PNG of 6300×6300
  RGBA zeros are sent at once to the QR reader. Goal ≤ 300 MiB.
- `image_bomb_retained_mib`: its resident memory above the level before the burst, `--settle`
  seconds after it. Goal ≤ 50 MiB.
"""

import argparse
import asyncio
import importlib
import os
import random
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from service import migrate
from service.db import create_engine, session_maker
from service.generated.demo import seed_demo
from service.settings import Settings
from service.storefronts.models import Storefront

SECRET = "bench-secret-key-0123456789"
LEADER = "totruong-2"  # a team in Phường Phú Xuân (19753) without demo traders: the file's commune
PASSWORD = "demo-password"
FLOODERS = 4
BOMBS = 8
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def png_bomb(width: int = 6300, height: int = 6300) -> bytes:
    """An RGBA PNG of zeros: ~154 KB of file, 160 MB of pixels once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 4 * width)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def prepare(url: str) -> str:
    """Demo data; returns the slug of a published storefront."""
    engine = create_engine(Settings(database_url=url, secret_key=SECRET))
    try:
        async with session_maker(engine)() as session:
            await seed_demo(session, at=datetime.now(UTC).replace(microsecond=0))
            await session.commit()
        async with session_maker(engine)() as session:
            slug = await session.scalar(
                select(Storefront.slug).where(Storefront.published.is_(True)).limit(1)
            )
            assert slug, "the demo data has no published storefront"
            return slug
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`onboard serve` in a subprocess (pinned to CPU 0 when taskset is there)."""

    def __init__(self, *, url: str, tmp: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ONBOARD_DATABASE_URL": url,
            "ONBOARD_SECRET_KEY": SECRET,
            "ONBOARD_MEDIA_DIR": str(tmp / "media"),
            "ONBOARD_UPLOAD_DIR": str(tmp / "uploads"),
            "ONBOARD_LOG_REQUESTS": "0",
            "PORT": str(self.port),
        }
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
        self.log = (tmp / "server.log").open("w")
        self.process = subprocess.Popen(
            [*pin, sys.executable, "-m", "service.cli", "serve"], env=env, stdout=self.log, stderr=self.log
        )
        for _ in range(300):
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped: see {tmp / 'server.log'}")
            time.sleep(0.05)
        raise SystemExit("the server did not start")

    def status(self, field: str) -> int:
        """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))

    def reset_peak(self) -> bool:
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


def sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=600)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "_csrf_token": _CSRF.search(page.text).group(1)},
    )
    assert response.status_code in (200, 303), response.status_code
    return client


def latencies(client: httpx.Client, path: str, *, seconds: float, pause: float = 0.0) -> list[float]:
    out = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        response = client.get(path)
        out.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        if pause:
            time.sleep(pause)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


# --- the three measures -------------------------------------------------------------------------------


def login_flood(base: str, slug: str, seconds: float) -> tuple[float, float, int]:
    """(median page latency alone, with the flood, wrong passwords sent)."""
    page = f"/s/{slug}"
    with httpx.Client(base_url=base) as client:
        latencies(client, page, seconds=1)  # warm
        alone = statistics.median(latencies(client, page, seconds=seconds))
        stop = threading.Event()
        sent = [0] * FLOODERS

        def flood(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=base, timeout=60) as flooder:
                while not stop.is_set():
                    address = f"10.{n}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                    flooder.post(
                        "/api/v1/session",
                        json={"username": "demo-volunteer", "password": f"wrong-{rng.random()}"},
                        headers={"X-Forwarded-For": address},
                    )
                    sent[n] += 1

        threads = [threading.Thread(target=flood, args=(n,)) for n in range(FLOODERS)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        try:
            flooded = statistics.median(latencies(client, page, seconds=seconds))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    return alone, flooded, sum(sent)


def commit_fields(html: str) -> dict[str, object]:
    form = html[html.index('action="/merchants/import/commit"') :]
    form = form[: form.index("</form>")]
    fields: dict[str, object] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        previous = fields.get(name)
        fields[name] = (
            value if previous is None else [*([previous] if isinstance(previous, str) else previous), value]
        )
    fields["_csrf_token"] = _CSRF.search(html).group(1)
    return fields


def import_under_watch(base: str, data: bytes) -> tuple[list[float], float, float, str]:
    """(/health latencies during preview and commit, preview s, commit s, outcome)."""
    stop = threading.Event()
    seen: list[float] = []

    def watch() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get("/health")
                seen.append(time.perf_counter() - started)
                time.sleep(0.02)

    leader = sign_in(base, LEADER)
    watcher = threading.Thread(target=watch)
    try:
        page = leader.get("/merchants/import")
        token = _CSRF.search(page.text).group(1)
        watcher.start()
        started = time.perf_counter()
        preview = leader.post(
            "/merchants/import", data={"_csrf_token": token}, files={"file": ("bench.csv", data, "text/csv")}
        )
        previewed = time.perf_counter() - started
        assert preview.status_code == 200 and 'id="import-commit"' in preview.text, preview.text[-2000:]
        started = time.perf_counter()
        commit = leader.post("/merchants/import/commit", data=commit_fields(preview.text))
        committed = time.perf_counter() - started
        outcome = f"commit answered {commit.status_code}"
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join()
        leader.close()
    return seen, previewed, committed, outcome


def image_burst(server: Server, settle: float) -> tuple[float, float, float, list[int]]:
    """(RSS before MiB, peak growth MiB, retained growth MiB after `settle` s, answer statuses)."""
    bomb = png_bomb()
    with httpx.Client(base_url=server.base, timeout=300) as client:
        token = client.post("/api/v1/session", json={"username": "demo-volunteer", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        # Warm the path with a small image, so the figures are the burst's, not first-use imports.
        client.post(
            "/api/v1/payment-qr/decode", files={"image": ("x.png", png_bomb(50, 50))}, headers=headers
        )
        time.sleep(1)
        before = server.status("VmRSS")
        exact = server.reset_peak()
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], server.status("VmRSS"))
                time.sleep(0.005)

        statuses: list[int] = []
        barrier = threading.Barrier(BOMBS)

        def send() -> None:
            with httpx.Client(base_url=server.base, timeout=300) as sender:
                barrier.wait()
                response = sender.post(
                    "/api/v1/payment-qr/decode",
                    files={"image": ("zeros.png", bomb, "image/png")},
                    headers=headers,
                )
                statuses.append(response.status_code)

        sampler = threading.Thread(target=sample)
        sampler.start()
        senders = [threading.Thread(target=send) for _ in range(BOMBS)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        done.set()
        sampler.join()
        highest = max(peak[0], server.status("VmHWM")) if exact else peak[0]
        time.sleep(settle)
        after = server.status("VmRSS")
    mib = 1024
    return before / mib, (highest - before) / mib, (after - before) / mib, sorted(statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, shorter phases, 10 s settle")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="each latency phase")
    parser.add_argument("--settle", type=float, default=None, help="wait after the image burst")
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 200_000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    settle = args.settle if args.settle is not None else (10.0 if args.quick else 30.0)

    generate = importlib.import_module("bench.import").generate
    data = generate(rows)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        migrate.upgrade(url)
        slug = asyncio.run(prepare(url))
        server = Server(url=url, tmp=tmp)
        try:
            with httpx.Client(base_url=server.base) as client:
                latencies(client, "/health", seconds=1)
                health_idle = latencies(client, "/health", seconds=seconds, pause=0.02)
            alone, flooded, sent = login_flood(server.base, slug, seconds)
            health, previewed, committed, outcome = import_under_watch(server.base, data)
            before, peak, retained, statuses = image_burst(server, settle)
        finally:
            server.stop()

    print(
        f"# one server (onboard serve, SQLite), {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"# storefront page median alone {alone * 1000:.1f} ms, with {FLOODERS} clients sending wrong "
        f"passwords {flooded * 1000:.1f} ms ({sent} attempts)"
    )
    print(f"login_flood_page_ratio {flooded / alone:.2f}")
    print(
        f"# /health p99 idle {p99(health_idle) * 1000:.1f} ms; during the import: {len(health)} polls, "
        f"max {max(health) * 1000:.1f} ms; {len(data) / 1e6:.1f} MB CSV of {rows} rows previewed in "
        f"{previewed:.1f} s, committed in {committed:.1f} s ({outcome})"
    )
    print(f"import_health_p99_ms {p99(health) * 1000:.1f}")
    print(
        f"# server RSS before the burst {before:.0f} MiB; {BOMBS} uploads of {len(png_bomb()) // 1024} KB "
        f"answered {statuses}"
    )
    print(f"image_bomb_peak_mib {peak:.0f}")
    print(f"image_bomb_retained_mib {retained:.0f}  # {settle:.0f} s after the burst")


if __name__ == "__main__":
    main()
