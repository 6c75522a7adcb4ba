"""What the request log records, and which address a request is known by (throttle, log)."""

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.server import Server


def _from_peer(app, host: str):
    """Requests reach the app from `host`, as they do from a reverse proxy on that address."""
    inner = app.asgi_handler

    async def handler(scope, receive, send):
        if scope["type"] == "http":
            scope["client"] = (host, 41000)
        await inner(scope, receive, send)

    app.asgi_handler = handler
    return app


@pytest.fixture
def request_lines(caplog):
    """The JSON lines the request log writes."""
    logger = logging.getLogger("service.requests")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="service.requests")
    try:
        yield lambda: [json.loads(r.getMessage()) for r in caplog.records if r.name == "service.requests"]
    finally:
        logger.removeHandler(caplog.handler)


async def test_a_form_refused_for_its_missing_csrf_token_is_logged_as_refused(settings, request_lines):
    app = _from_peer(create_app(replace(settings, log_requests=True)), "203.0.113.7")
    async with AsyncTestClient(app, base_url="http://127.0.0.1:8000") as client:
        await client.get("/login")
        refused = await client.post("/login", data={"username": "demo-volunteer", "password": "x" * 10})
        missing = await client.get("/no-such-page")
    assert refused.status_code == 403
    lines = request_lines()
    post = next(line for line in lines if line["method"] == "POST" and line["path"] == "/login")
    assert post["status"] == 403
    assert post["address"] == "203.0.113.7"
    assert missing.status_code == 404
    assert next(line for line in lines if line["path"] == "/no-such-page")["status"] == 404


async def test_the_log_names_the_signed_in_user_and_the_status_of_a_handled_request(settings, request_lines):
    async with AsyncTestClient(create_app(replace(settings, log_requests=True))) as client:
        response = await client.post(
            "/api/v1/session", json={"username": "demo-volunteer", "password": "demo-password"}
        )
        token = response.json()["token"]
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    me = next(line for line in request_lines() if line["path"] == "/api/v1/me")
    assert me["status"] == 200 and me["user"] == "demo-volunteer"


async def _guess(client, n: int, forwarded: str):
    return await client.post(
        "/api/v1/session",
        json={"username": f"guess-{n}", "password": "x" * 10},
        headers={"X-Forwarded-For": forwarded},
    )


@contextlib.contextmanager
def _server(database_url: str, tmp_path: Path, **env: str) -> Iterator[str]:
    """`onboard serve` in a subprocess on a free port, as it runs in production."""
    server = Server(database_url, tmp_path, **{"ONBOARD_TRUSTED_PROXIES": "", **env})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_local_client_cannot_pick_its_throttle_key_with_x_forwarded_for(
    database_url, tmp_path, settings
):
    with _server(database_url, tmp_path) as url:  # no trusted proxies: the default
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for n in range(settings.login_attempts_per_address):
                assert (await _guess(client, n, f"198.51.100.{n}")).status_code == 401
            paused = await client.post(
                "/api/v1/session",
                json={"username": "demo-volunteer", "password": "demo-password"},
                headers={"X-Forwarded-For": "192.0.2.200"},
            )
    assert paused.status_code == 429


async def test_behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own(
    database_url, tmp_path, settings
):
    with _server(database_url, tmp_path, ONBOARD_TRUSTED_PROXIES="127.0.0.1") as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for n in range(settings.login_attempts_per_address):
                assert (await _guess(client, n, "198.51.100.9")).status_code == 401
            assert (await _guess(client, 99, "198.51.100.9")).status_code == 429
            # Another client behind the same proxy signs in; a forged left-most entry changes nothing.
            other = await client.post(
                "/api/v1/session",
                json={"username": "demo-volunteer", "password": "demo-password"},
                headers={"X-Forwarded-For": "192.0.2.1, 192.0.2.200"},
            )
            assert other.status_code == 201
            forged = await _guess(client, 100, "192.0.2.200, 198.51.100.9")
    assert forged.status_code == 429  # the proxy appended the real address: still paused


async def test_an_untrusted_peer_is_its_own_address_even_when_proxies_are_configured(settings):
    app = _from_peer(create_app(replace(settings, trusted_proxies=("10.0.0.0/8",))), "203.0.113.50")
    async with AsyncTestClient(app, base_url="http://127.0.0.1:8000") as client:
        for n in range(settings.login_attempts_per_address):
            assert (await _guess(client, n, f"10.1.1.{n}")).status_code == 401
        assert (await _guess(client, 99, "10.9.9.9")).status_code == 429


def test_trusted_proxies_come_from_the_environment_and_bad_ones_are_refused():
    env = {"ONBOARD_SECRET_KEY": "x" * 32, "ONBOARD_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,::1"}
    assert Settings.from_env(env).trusted_proxies == ("10.0.0.0/8", "127.0.0.1", "::1")
    assert Settings.from_env({"ONBOARD_SECRET_KEY": "x" * 32}).trusted_proxies == ()
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings.from_env({**env, "ONBOARD_TRUSTED_PROXIES": "not-an-ip"})
