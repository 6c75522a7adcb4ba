"""Backups of the database: `onboard backup FILE` and `onboard restore FILE`.

SQLite: the online backup API copies a consistent snapshot while the service keeps running (WAL
readers and writers are not stopped), into a temporary file renamed into place when complete.
PostgreSQL: `pg_dump --format=custom` (a consistent snapshot as well), restored by `pg_restore
--clean --single-transaction` into the configured database. Photos live in the media directory,
which is copied apart (its files never change once written).
"""

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from service.settings import Settings

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore could not be made; the message says why, for the operator."""


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.database_url).database or "")


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database as pg_dump and pg_restore take it, and the password in their environment."""
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(*command: str, env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot of `source`, page by page, into `target`."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def backup(settings: Settings, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    if settings.is_sqlite:
        source = _sqlite_path(settings)
        if not source.is_file():
            raise BackupError(f"no database file at {source}")
        partial.unlink(missing_ok=True)
        _copy(source, partial)
    else:
        database, env = _libpq(settings)
        _run("pg_dump", "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={database}", env=env)
    partial.replace(target)


def restore(settings: Settings, source: Path) -> None:
    """Replace the configured database's contents with a backup's. Stop the service first."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as file:
        is_sqlite = file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    if settings.is_sqlite:
        if not is_sqlite:
            raise BackupError(f"{source} is not a SQLite backup")
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, target)
    else:
        if is_sqlite:
            raise BackupError(f"{source} is a SQLite backup; this service runs on PostgreSQL")
        database, env = _libpq(settings)
        _run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={database}",
            str(source),
            env=env,
        )


def check(path: Path) -> str:
    """A short verdict on a backup file, for the operator: SQLite's integrity check, or the
    archive's table of contents read by pg_restore."""
    with path.open("rb") as file:
        is_sqlite = file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    if is_sqlite:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            merchants = conn.execute("SELECT count(*) FROM merchants").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{path}: {verdict}")
        return f"SQLite backup, integrity ok, {merchants} merchants"
    env = dict(os.environ)
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(["pg_restore", "--list", str(path)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{path} is not a readable backup: {done.stderr.strip()[:500]}")
    tables = sum(1 for line in done.stdout.splitlines() if " TABLE DATA " in line)
    return f"PostgreSQL backup, {tables} tables of data"
