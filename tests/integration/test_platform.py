"""Health, schema, areas lookup, error pages, migrations, settings from the environment."""

import asyncio
from http.cookies import Morsel, SimpleCookie

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from litestar.testing import AsyncTestClient
from sqlalchemy import inspect, text, update

import service.models  # noqa: F401
from service import migrate
from service.app import create_app
from service.db import create_engine, metadata
from service.settings import Settings
from service.storefronts.models import Product
from tests.conftest import SECRET, run_blocking
from tests.helpers import DEMO_PASSWORD, csrf_from


async def test_health_reports_the_database(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_health_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none", secret_key=SECRET)
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] != "ok"


async def test_openapi_schema_is_published(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/session" in schema["paths"]
    assert "/api/v1/me" in schema["paths"]


async def test_commune_lookup_is_accent_insensitive(client) -> None:
    plain = (await client.get("/api/v1/areas/provinces/46/communes", params={"q": "thuan hoa"})).json()
    accented = (await client.get("/api/v1/areas/provinces/46/communes", params={"q": "Thuận Hóa"})).json()
    assert [c["code"] for c in plain] == [c["code"] for c in accented] == ["19789"]
    everything = (await client.get("/api/v1/areas/provinces/46/communes")).json()
    assert len(everything) == 40
    provinces = (await client.get("/api/v1/areas/provinces")).json()
    assert len(provinces) == 34


async def test_unknown_pages_get_a_friendly_page_and_api_gets_json(client) -> None:
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert "Không tìm thấy" in page.text and "<html" in page.text
    api = await client.get("/api/v1/areas/provinces/99/communes")
    assert api.status_code == 404
    assert api.json()["status_code"] == 404


async def test_pages_require_sign_in(client) -> None:
    response = await client.get("/teams/", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_reference_data_is_loaded_by_the_migration(settings) -> None:
    engine = create_engine(settings)
    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text("SELECT (SELECT count(*) FROM provinces), (SELECT count(*) FROM communes)")
            )
        ).one()
    await engine.dispose()
    assert tuple(counts) == (34, 3321)


def _ignore_sqlite_guid(context, inspected, metadata_column, inspected_type, metadata_type) -> bool | None:
    # SQLite reports the 16-byte GUID column by its affinity; the DDL itself is the model's.
    if context.dialect.name == "sqlite" and type(metadata_type).__name__ == "GUID":
        return False
    return None


def test_models_and_migrations_agree(database_url: str) -> None:
    async def diff() -> list:
        engine = create_engine(Settings(database_url=database_url, secret_key=SECRET))
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": _ignore_sqlite_guid}), metadata
                )
            )
        await engine.dispose()
        return result

    assert run_blocking(asyncio.run, diff()) == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    async def tables() -> set[str]:
        engine = create_engine(Settings(database_url=database_url, secret_key=SECRET))
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        await engine.dispose()
        return names - {"alembic_version"}

    run_blocking(migrate.downgrade, database_url, "base")
    assert run_blocking(asyncio.run, tables()) == set()
    run_blocking(migrate.upgrade, database_url)
    assert {"provinces", "communes", "users", "teams", "villages"} <= run_blocking(asyncio.run, tables())


@pytest.mark.parametrize("path", ["/login", "/health", "/schema/openapi.json"])
async def test_public_endpoints_answer_without_a_session(client, path: str) -> None:
    assert (await client.get(path)).status_code == 200


def from_env(settings: Settings, **env: str) -> Settings:
    """Settings as `onboard serve` builds them from the environment, on the test's database."""
    return Settings.from_env(
        {
            "ONBOARD_DATABASE_URL": settings.database_url,
            "ONBOARD_SECRET_KEY": SECRET,
            "ONBOARD_MEDIA_DIR": str(settings.media_dir),
            "ONBOARD_LOG_REQUESTS": "0",
            **env,
        }
    )


async def _cookies_set(settings: Settings, base_url: str) -> dict[str, Morsel]:
    """Every cookie the service sets while a volunteer chooses English, signs in and signs out."""
    seen: dict[str, Morsel] = {}
    async with AsyncTestClient(create_app(settings), base_url=base_url) as client:
        page = await client.get("/login?lang=en")  # the CSRF cookie and the chosen language
        signed_in = await client.post(
            "/login",
            data={
                "username": "demo-volunteer",
                "password": DEMO_PASSWORD,
                "_csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )  # the session, and the account's language
        assert signed_in.status_code == 303, signed_in.text
        home = await client.get("/")
        signed_out = await client.post(
            "/logout", data={"_csrf_token": csrf_from(home.text)}, follow_redirects=False
        )
        for response in (page, signed_in, home, signed_out):
            for header in response.headers.get_list("set-cookie"):
                cookie = SimpleCookie()
                cookie.load(header)
                seen.update(cookie)
    return seen


async def test_an_https_public_url_makes_every_cookie_secure(settings) -> None:
    secure = await _cookies_set(
        from_env(settings, ONBOARD_PUBLIC_URL="https://chuyendoiso.example.vn"),
        "https://chuyendoiso.example.vn",
    )
    assert {"csrftoken", "lang", "onboard_session"} <= set(secure)
    assert {name: bool(c["secure"]) for name, c in secure.items()} == dict.fromkeys(secure, True)
    plain = await _cookies_set(from_env(settings), "http://127.0.0.1:8000")  # the default, for development
    assert set(plain) == set(secure)
    assert not any(c["secure"] for c in plain.values())


async def test_storefront_cache_off_renders_every_request_from_the_database(settings) -> None:
    """A change made by another process: with the cache (the default) this process serves the page
    it keeps for a while; with ONBOARD_STOREFRONT_CACHE=0 every request reads the database."""
    from tests.integration.test_storefronts import BUN_HEN_SLUG, product_names

    engine = create_engine(settings)
    try:
        for value, fresh in (("1", False), ("0", True)):
            app_settings = from_env(settings, ONBOARD_STOREFRONT_CACHE=value)
            assert app_settings.storefront_cache is (value == "1")
            async with AsyncTestClient(create_app(app_settings)) as client:
                before = product_names((await client.get(f"/s/{BUN_HEN_SLUG}")).text)
                renamed = f"Bún hến {value}"
                async with engine.begin() as conn:
                    await conn.execute(update(Product).where(Product.name == before[0]).values(name=renamed))
                after = product_names((await client.get(f"/s/{BUN_HEN_SLUG}")).text)
            assert after == ([renamed, *before[1:]] if fresh else before), value
    finally:
        await engine.dispose()
