"""Inserting many rows fast, inside the caller's transaction.

PostgreSQL: `COPY ... FROM STDIN` (asyncpg's copy_records_to_table) on the session's own
connection. SQLite: one `executemany` on the driver connection with the values already converted
by the columns' SQLAlchemy types. Both skip the per-row dictionaries and statement processing of
`session.execute(insert(table), rows)`, which is what makes 100,000 merchants a matter of seconds
(bench/import.py). Values stay the ones SQLAlchemy would write: the types' bind processors are
used, and only once for the values that are the same on every row (`constants`).
"""

import gc
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncSession

from service import offload

SQLITE_CHUNK = 20_000
PG_CHUNK = 10_000


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """A bulk import builds millions of small objects that all live until the commit; the cyclic
    garbage collector would walk them again and again and find nothing (a fifth of the time of a
    100,000-row import). Reference counting still frees everything as usual meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ordered_ids(count: int, *, now_ms: int | None = None) -> list[uuid.UUID]:
    """`count` new UUIDs (version 7, RFC 9562) in increasing order: the unix time in milliseconds,
    then the position in this batch, then random bits. Rows inserted in key order land at the end of
    the primary-key index instead of all over it, which halves the time of a 100,000-row insert."""
    stamp = (now_ms if now_ms is not None else time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    head = (stamp << 80) | (0x7 << 76) | (0b10 << 62)
    noise = os.urandom(6 * count)
    out = []
    for position in range(count):
        random = int.from_bytes(noise[6 * position : 6 * position + 6], "big") >> 6  # 42 bits
        tail = (position << 42) | random  # 74 bits: position in the batch, then random
        out.append(uuid.UUID(int=head | ((tail >> 62) << 64) | (tail & ((1 << 62) - 1))))
    return out


async def insert_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
    prepared: bool = False,
) -> int:
    """Insert `rows` (tuples in `columns` order) with `constants` added to every row.

    `prepared`: the rows (and constants) already hold what the driver takes, and go in as they are
    (a generator of millions of rows makes them so directly). SQLite: UUIDs as their 16 bytes,
    datetimes as UTC text "YYYY-MM-DD HH:MM:SS.ffffff", dates as ISO text, JSON as text, booleans
    as 0/1. PostgreSQL: what COPY takes from asyncpg (UUIDs or their hex, aware datetimes, dates,
    JSON as text)."""
    if not rows:
        return 0
    constants = dict(constants or {})
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    dialect = connection.dialect
    names = [*columns, *constants]
    if prepared:
        tail = tuple(constants.values())
        if dialect.name == "postgresql":
            records = (tuple(row) + tail for row in rows) if tail else rows
            await raw.copy_records_to_table(table.name, records=records, columns=names)
        else:
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            await raw.executemany(sql, [tuple(row) + tail for row in rows] if tail else rows)
        return len(rows)
    types = [table.c[name].type for name in names]
    width = len(columns)
    if dialect.name == "postgresql":
        # JSON travels as text; asyncpg encodes UUIDs, datetimes, dates and numbers itself.
        json_at = [i for i, t in enumerate(types[:width]) if isinstance(t, JSON)]
        tail = tuple(
            msgspec.json.encode(v).decode() if isinstance(table.c[k].type, JSON) and v is not None else v
            for k, v in constants.items()
        )

        def records(rows: Sequence[Sequence[Any]]) -> Iterator[tuple]:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        if row[i] is not None:
                            row[i] = msgspec.json.encode(row[i]).decode()
                yield (*row, *tail)

        # In slices: asyncpg encodes the records in the event loop, which serves others between.
        for start in range(0, len(rows), PG_CHUNK):
            await raw.copy_records_to_table(
                table.name, records=records(rows[start : start + PG_CHUNK]), columns=names
            )
        return len(rows)

    processors = [_fast(t, t._cached_bind_processor(dialect)) for t in types]
    tail = tuple(
        processors[width + i](v) if processors[width + i] and v is not None else v
        for i, v in enumerate(constants.values())
    )
    row_processors = [(i, p) for i, p in enumerate(processors[:width]) if p is not None]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"

    def convert(chunk: Sequence[Sequence[Any]]) -> list[tuple]:
        converted = []
        for row in chunk:
            if row_processors:
                row = list(row)
                for i, process in row_processors:
                    if row[i] is not None:
                        row[i] = process(row[i])
            converted.append((*row, *tail))
        return converted

    for start in range(0, len(rows), SQLITE_CHUNK):
        # The conversion is CPU work: in a worker thread, the event loop serves others meanwhile.
        chunk = await offload.run("sheets", convert, rows[start : start + SQLITE_CHUNK])
        await raw.executemany(sql, chunk)
    return len(rows)


def _fast(column_type: Any, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """The type's bind processor, or an equivalent that is cheaper per row.

    UUIDs stored as 16 bytes are written as `.bytes` (checked against the type on a sample); JSON is
    encoded by msgspec (compact; the same values when read back); other processors remember their
    last value, since dates and user ids repeat down a batch."""
    if process is None:
        return None
    if isinstance(column_type, JSON):
        return lambda value: msgspec.json.encode(value).decode()
    sample = uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF)
    try:
        stores_bytes = process(sample) == sample.bytes
    except Exception:  # not a UUID type
        stores_bytes = False
    if stores_bytes:
        return lambda value: value.bytes if isinstance(value, uuid.UUID) else process(value)
    last: list[Any] = [object(), None]

    def remembered(value: Any) -> Any:
        if value is not last[0] and value != last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return remembered


async def insert_dicts(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """`insert_rows` for rows given as dictionaries with the same keys (those of the first row)."""
    if not rows:
        return 0
    columns = list(rows[0])
    return await insert_rows(session, table, columns, [tuple(row[c] for c in columns) for row in rows])
