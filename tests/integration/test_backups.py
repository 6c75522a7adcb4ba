"""`onboard backup` and `onboard restore`: a round trip gives back every row of every table."""

import asyncio
from pathlib import Path

from sqlalchemy import select, text

import service.models  # noqa: F401  (every table in the metadata)
from service.cli import main
from service.db import create_engine, metadata
from service.settings import Settings
from tests.conftest import SECRET, run_blocking


def _snapshot(database_url: str) -> dict[str, list[tuple]]:
    async def read() -> dict[str, list[tuple]]:
        engine = create_engine(Settings(database_url=database_url, secret_key=SECRET))
        try:
            async with engine.connect() as conn:
                return {
                    table.name: sorted((tuple(row) for row in await conn.execute(select(table))), key=repr)
                    for table in metadata.sorted_tables
                }
        finally:
            await engine.dispose()

    return run_blocking(asyncio.run, read())


def _change(database_url: str) -> None:
    async def write() -> None:
        engine = create_engine(Settings(database_url=database_url, secret_key=SECRET))
        try:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE users SET full_name = 'đã đổi'"))
                await conn.execute(text("DELETE FROM report_counts"))
        finally:
            await engine.dispose()

    run_blocking(asyncio.run, write())


def test_a_backup_restored_gives_back_every_table(
    database_url: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("ONBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("ONBOARD_SECRET_KEY", SECRET)
    before = _snapshot(database_url)
    assert before["merchants"] and before["report_counts"]  # the demo data, to compare
    file = tmp_path / "backups" / "onboard.backup"
    assert run_blocking(main, ["backup", str(file)]) == 0
    assert "backup written" in capsys.readouterr().out
    assert run_blocking(main, ["check-backup", str(file)]) == 0
    assert "backup" in capsys.readouterr().out

    _change(database_url)
    assert _snapshot(database_url) != before
    assert run_blocking(main, ["restore", str(file)]) == 0
    assert _snapshot(database_url) == before


def test_a_file_that_is_not_a_backup_is_refused(
    database_url: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("ONBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("ONBOARD_SECRET_KEY", SECRET)
    before = _snapshot(database_url)
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a backup")
    assert run_blocking(main, ["restore", str(bogus)]) == 1
    assert run_blocking(main, ["check-backup", str(bogus)]) == 1
    assert capsys.readouterr().err.strip()
    assert _snapshot(database_url) == before
