"""The `onboard` command, as an administrator runs it: accounts, the demo data, the report counters'
rebuild and the import's options. Each command runs against a test database and its effect is
checked where users meet it: signing in, the API, the summary."""

import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from service import migrate
from service.accounts.models import User
from service.cli import main
from service.db import create_engine, session_maker
from service.merchants.models import Merchant
from service.reports.models import ReportCount
from service.settings import Settings
from tests.conftest import SECRET, run_blocking
from tests.helpers import api_token
from tests.integration import report_truth as truth
from tests.integration.test_merchant_import import GOOD_ROWS, MESSY, csv_bytes

LEADER = "totruong-2"  # Tổ công nghệ số Gia Hội, Phú Xuân (19753); no demo traders
OFFICER = "demo-commune"  # Phú Xuân's officer: no team of their own


@pytest.fixture
def onboard(settings: Settings, monkeypatch, capsys):
    """Run `onboard ARGS...` against the test database; returns (exit status, stdout, stderr)."""
    monkeypatch.setenv("ONBOARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ONBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ONBOARD_MEDIA_DIR", str(settings.media_dir))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = run_blocking(main, list(argv))  # it runs its own event loop
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


async def _scalar(settings: Settings, query):
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            return await session.scalar(query)
    finally:
        await engine.dispose()


async def _signs_in(client, username: str, password: str) -> int:
    response = await client.post("/api/v1/session", json={"username": username, "password": password})
    return response.status_code


# --- accounts -------------------------------------------------------------------------------------


async def test_users_are_created_disabled_and_enabled_from_the_command_line(client, onboard) -> None:
    leader = await api_token(client, LEADER)
    team = (await client.get("/api/v1/me", headers=leader)).json()["team"]
    password = "mat-khau-du-dai"
    status, out, _ = onboard(
        "users", "create", "tnv-moi", "--role", "volunteer", "--full-name", "Lê Thị Mới",
        "--team", team["id"], "--password", password,
    )  # fmt: skip
    assert (status, out.strip()) == (0, "created tnv-moi (volunteer)")
    token = await api_token(client, "tnv-moi", password)
    me = (await client.get("/api/v1/me", headers=token)).json()
    assert (me["role"], me["full_name"], me["team"]["id"]) == ("volunteer", "Lê Thị Mới", team["id"])

    status, out, _ = onboard("users", "disable", "tnv-moi")
    assert (status, out.strip()) == (0, "disabled tnv-moi")
    assert await _signs_in(client, "tnv-moi", password) == 401
    assert (await client.get("/api/v1/me", headers=token)).status_code == 401  # its token too

    status, out, _ = onboard("users", "enable", "tnv-moi")
    assert (status, out.strip()) == (0, "enabled tnv-moi")
    assert await _signs_in(client, "tnv-moi", password) == 201

    # Refusals: a short password, a name already taken, an unknown account.
    short = onboard("users", "create", "tnv-ngan", "--role", "volunteer", "--full-name", "Ngắn",
                    "--team", team["id"], "--password", "ngan")  # fmt: skip
    assert short[0] == 2 and "at least 10 characters" in short[2]
    taken = onboard("users", "create", "tnv-moi", "--role", "volunteer", "--full-name", "Lê Thị Khác",
                    "--team", team["id"], "--password", password)  # fmt: skip
    assert taken[0] == 1 and "Tên đăng nhập này đã có người dùng." in taken[2]
    assert onboard("users", "disable", "khong-co-ai")[0] == 1
    assert await _signs_in(client, "tnv-ngan", "ngan") == 401


# --- demo data ------------------------------------------------------------------------------------


async def test_seed_demo_if_empty_fills_only_an_empty_default_database(tmp_path, monkeypatch, capsys) -> None:
    """`make run` runs `onboard db upgrade` then `onboard seed-demo --if-empty` on the default SQLite
    file: the first time it loads the demo, then never again; other databases are never filled
    unasked. The default file is made to live under the test's directory."""
    import service.settings

    (tmp_path / "var").mkdir()  # as the project's var/ is, where the secret key is kept
    default = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'onboard.sqlite3'}"
    monkeypatch.setattr(service.settings, "DEFAULT_DATABASE_URL", default)
    monkeypatch.delenv("ONBOARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("ONBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ONBOARD_MEDIA_DIR", str(tmp_path / "media"))

    def onboard(*argv: str) -> tuple[int, str, str]:
        status = run_blocking(main, list(argv))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    def count(url: str, model) -> int:
        settings = Settings(database_url=url, secret_key=SECRET)
        return run_blocking(_count_blocking, settings, model)

    assert onboard("db", "upgrade")[0] == 0
    status, out, _ = onboard("seed-demo", "--if-empty")
    assert status == 0 and out.startswith("Demo data loaded: ")
    users, merchants = count(default, User), count(default, Merchant)
    assert users > 30 and merchants == 16
    status, out, err = onboard("seed-demo", "--if-empty")  # the next `make run`
    assert (status, out, err) == (0, "", "")
    assert (count(default, User), count(default, Merchant)) == (users, merchants)
    status, _, err = onboard("seed-demo")  # asked for explicitly, on a database with users
    assert status == 1 and "already has users" in err

    other = f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite3'}"
    run_blocking(migrate.upgrade, other)
    monkeypatch.setenv("ONBOARD_DATABASE_URL", other)
    assert onboard("seed-demo", "--if-empty") == (0, "", "")
    assert count(other, User) == 0  # not the default file: filled only when asked
    status, out, _ = onboard("seed-demo")
    assert status == 0 and count(other, Merchant) == 16


def _count_blocking(settings: Settings, model) -> int:
    import asyncio

    return asyncio.run(_scalar(settings, select(func.count()).select_from(model)))


# --- report counters ------------------------------------------------------------------------------


async def test_reports_rebuild_recomputes_the_counters_from_the_raw_tables(client, settings, onboard) -> None:
    """Rows loaded by other means (here: counters emptied, as after a restore of the raw tables
    only): the summary is wrong until `onboard reports rebuild`, then equals the raw tables."""
    admin = await api_token(client, "demo-admin")
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            await session.execute(text("DELETE FROM report_counts"))
            await session.commit()
    finally:
        await engine.dispose()
    emptied = (await client.get("/api/v1/reports/summary", headers=admin)).json()
    assert emptied["merchants"] == 0

    status, out, _ = onboard("reports", "rebuild")
    live = await _scalar(
        settings,
        select(func.count())
        .select_from(Merchant)
        .where(Merchant.deleted_at.is_(None), Merchant.merged_into_id.is_(None)),
    )
    assert status == 0 and out.strip() == f"report counters rebuilt from {live} merchants"
    assert await _scalar(settings, select(func.count()).select_from(ReportCount)) > 0
    engine = create_engine(settings)
    try:
        async with session_maker(engine)() as session:
            world = await truth.load(session)
    finally:
        await engine.dispose()
    for params, level, code in (({}, "country", None), ({"area": "46"}, "province", "46")):
        got = (await client.get("/api/v1/reports/summary", params=params, headers=admin)).json()
        expected = truth.summary(world, datetime.fromisoformat(got["as_of"]), level, code)
        assert truth.differences(got, expected, level) == []
    assert got["merchants"] == 11  # Huế's demo traders


# --- the import's options -------------------------------------------------------------------------

NO_CONSENT_HEADER = ["STT", "Tên cơ sở", "Chủ hộ", "SĐT", "Loại hình", "Ngành hàng"]
NO_CONSENT_ROWS = [row[:6] for row in GOOD_ROWS]


async def _merchants(client, username: str) -> dict[str, dict]:
    headers = await api_token(client, username)
    items = (await client.get("/api/v1/merchants", params={"limit": 100}, headers=headers)).json()["items"]
    return {m["business_name"]: m for m in items}


async def test_import_paper_consent_confirms_the_purposes_of_rows_without_a_consent_cell(
    client, tmp_path, onboard
) -> None:
    sheet = tmp_path / "giay.csv"
    sheet.write_bytes(csv_bytes([NO_CONSENT_HEADER, *NO_CONSENT_ROWS]))
    status, _, err = onboard("import", "merchants", str(sheet), "--as", LEADER, "--quiet")
    assert status == 2 and err  # no consent column and nothing confirmed: refused, with the reason
    assert await _merchants(client, LEADER) == {}
    bad = onboard("import", "merchants", str(sheet), "--as", LEADER, "--quiet", "--paper-consent", "ads")
    assert bad[0] == 2 and await _merchants(client, LEADER) == {}

    status, out, _ = onboard(
        "import", "merchants", str(sheet), "--as", LEADER, "--quiet", "--paper-consent", "contact,statistics"
    )
    assert status == 0 and "imported 3 merchants" in out
    me = (await client.get("/api/v1/me", headers=await api_token(client, LEADER))).json()
    imported = await _merchants(client, LEADER)
    assert len(imported) == 3
    for merchant in imported.values():
        assert merchant["consent_purposes"] == ["contact", "statistics"]
        assert merchant["consent_by_id"] == me["id"]  # the importer confirmed it


async def test_import_skip_invalid_writes_the_good_rows_and_only_them(client, tmp_path, onboard) -> None:
    messy = tmp_path / "messy.csv"
    messy.write_bytes(csv_bytes(MESSY))
    status, out, _ = onboard("import", "merchants", str(messy), "--as", LEADER, "--quiet", "--skip-invalid")
    assert status == 0
    assert "8 rows: 1 valid, 4 with errors, 3 duplicates" in out and "imported 1 merchants" in out
    assert list(await _merchants(client, LEADER)) == ["Chè Hẻm Gia Hội"]  # row 3, the only clean one


async def test_import_team_puts_an_officers_file_into_the_chosen_team(client, tmp_path, onboard) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([["Tên cơ sở", "Chủ hộ", "SĐT", "Loại hình", "Ngành hàng", "Đồng ý"],
                                *[[r[1], r[2], r[3], r[4], r[5], r[7]] for r in GOOD_ROWS]]))  # fmt: skip
    status, _, err = onboard("import", "merchants", str(good), "--as", OFFICER, "--quiet")
    assert status == 2 and err  # an officer has no team of their own: which one?
    team = (await client.get("/api/v1/me", headers=await api_token(client, LEADER))).json()["team"]["id"]
    outside = onboard(
        "import", "merchants", str(good), "--as", OFFICER, "--quiet", "--team", str(uuid.uuid4())
    )
    assert outside[0] == 2

    status, out, _ = onboard("import", "merchants", str(good), "--as", OFFICER, "--quiet", "--team", team)
    assert status == 0 and "imported 3 merchants" in out
    imported = await _merchants(client, LEADER)  # the team's own list
    assert len(imported) == 3 and {m["team_id"] for m in imported.values()} == {team}
    assert {m["commune_code"] for m in imported.values()} == {"19753"}


def test_db_upgrade_makes_the_folder_of_a_new_sqlite_file(tmp_path, monkeypatch) -> None:
    """A fresh checkout has no var/: the first `onboard db upgrade` makes it, as `make run` does."""
    target = tmp_path / "var" / "deep" / "onboard.sqlite3"
    monkeypatch.setenv("ONBOARD_DATABASE_URL", f"sqlite+aiosqlite:///{target}")
    monkeypatch.setenv("ONBOARD_SECRET_KEY", SECRET)
    assert run_blocking(main, ["db", "upgrade"]) == 0
    assert target.is_file()
