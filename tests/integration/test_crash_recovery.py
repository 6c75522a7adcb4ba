"""Tablets register traders while the server dies (SIGKILL, no shutdown): after a restart they send
again what was never answered, with the same Idempotency-Key. Every registration the server
acknowledged is there once, nothing is doubled, and the database is intact."""

import asyncio
import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.db import create_engine
from service.settings import Settings
from tests.conftest import PG_URL, SECRET, clone_database, drop_database, run_blocking
from tests.server import Server

TABLETS = 4
PER_TABLET = 8
KILL_AFTER = 8  # acknowledged registrations before the kill


def _merchant(tablet: int, n: int) -> dict[str, object]:
    return {
        "kind": "market_stall",
        "business_name": f"Sạp thử máy {uuid.uuid4().hex[:12]}",  # unlike each other: no duplicate
        "category": "food_drink",
        "owner_name": f"Người bán {tablet} {n}",
        "owner_phone": f"098{tablet:03d}{n:04d}",
        "commune_code": "19753",
        "consent_purposes": ["storefront"],
    }


class Tablet(threading.Thread):
    """Registers its traders one after another, remembering what the server acknowledged."""

    def __init__(self, number: int, url: str, token: str, acknowledged: threading.Semaphore):
        super().__init__(daemon=True)
        self.number = number
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.pending = [(str(uuid.uuid4()), _merchant(number, n)) for n in range(PER_TABLET)]
        self.answered: dict[str, str] = {}  # idempotency key -> merchant id
        self.acknowledged = acknowledged
        self.refused: list[str] = []

    def send(self, key: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/merchants",
            json=body,
            headers={**self.headers, "Idempotency-Key": key},
            timeout=30,
        )

    def run(self) -> None:
        while self.pending:
            key, body = self.pending[0]
            try:
                response = self.send(key, body)
            except httpx.TransportError:
                return  # the server is gone: this one and the rest wait for it to come back
            if response.status_code != 201:
                self.refused.append(f"{response.status_code} {response.text[:300]}")
                self.acknowledged.release()  # wakes the test up to report it
                return
            self.answered[key] = response.json()["id"]
            self.pending.pop(0)
            self.acknowledged.release()


def _sqlite_integrity(url: str) -> str:
    with sqlite3.connect(make_url(url).database) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


async def _registered(url: str) -> tuple[int, int]:
    """Rows of the test's traders, and how many distinct ones: equal when nothing was doubled."""
    engine = create_engine(Settings(database_url=url, secret_key=SECRET))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT business_name) FROM merchants "
                        "WHERE business_name LIKE 'Sạp thử máy %'"
                    )
                )
            ).one()
            return row[0], row[1]
    finally:
        await engine.dispose()


@pytest.fixture
def crash_server(template_url: str, tmp_path: Path):
    database_url = clone_database(template_url, tmp_path)
    live = Server(database_url, tmp_path)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        drop_database(database_url)


def test_registrations_survive_a_killed_server_once_each(crash_server: Server) -> None:
    server = crash_server
    login = httpx.post(
        f"{server.url}/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
    )
    token = login.json()["token"]
    acknowledged = threading.Semaphore(0)
    tablets = [Tablet(n, server.url, token, acknowledged) for n in range(TABLETS)]
    for tablet in tablets:
        tablet.start()
    for _ in range(KILL_AFTER):
        refused = [r for t in tablets for r in t.refused]
        assert acknowledged.acquire(timeout=60) and not refused, f"registrations refused: {refused}"
    server.kill()  # mid-load: the other tablets have requests in flight
    for tablet in tablets:
        tablet.join(timeout=60)
    assert not [r for t in tablets for r in t.refused]
    before_crash = {key: merchant for t in tablets for key, merchant in t.answered.items()}
    assert KILL_AFTER <= len(before_crash) < TABLETS * PER_TABLET, "the kill did not land mid-load"

    server.start()
    resent = {}
    for tablet in tablets:
        for key, body in tablet.pending:
            response = tablet.send(key, body)
            assert response.status_code == 201, response.text
            resent[key] = response.json()["id"]
            again = tablet.send(key, body)  # a second retry replays the same answer
            assert (again.status_code, again.json()["id"]) == (201, resent[key])

    headers = {"Authorization": f"Bearer {token}"}
    for merchant_id in [*before_crash.values(), *resent.values()]:
        assert httpx.get(f"{server.url}/api/v1/merchants/{merchant_id}", headers=headers).status_code == 200
    assert len(set(before_crash.values()) | set(resent.values())) == TABLETS * PER_TABLET
    server.stop()

    database_url = server.env["ONBOARD_DATABASE_URL"]
    assert run_blocking(asyncio.run, _registered(database_url)) == (TABLETS * PER_TABLET,) * 2
    if not PG_URL:
        assert _sqlite_integrity(database_url) == "ok"
