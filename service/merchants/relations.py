"""Every row elsewhere that belongs to a merchant, found from the schema rather than listed by hand.

A merge re-points these rows to the surviving record, a data-subject export includes them and an
erasure lets their owners scrub them. Tables that later issues add (visits, stage events, payment
accounts, storefronts) are covered as soon as their model declares a foreign key to `merchants.id`
and is imported by `service.models` (which Alembic needs anyway).

Per-table hooks, for what the generic rule cannot know:

- `@merge_hook("storefronts")`: replaces the generic re-pointing of that table. The generic rule
  already respects every unique constraint or unique index that includes the merchant column (one
  storefront per merchant; one client event id per merchant; one *live primary* payment account
  per merchant, a partial index whose WHERE clause is applied to both rows): a row moves only if
  the survivor has no row it would collide with; otherwise it stays with the tombstone, which
  still exists, and the merge reports it as left behind. Register a hook when another outcome is
  wanted (e.g. move the duplicate's primary account as a secondary one).
- `@erase_hook("payment_accounts")`: scrubs the personal columns of that table's rows when a
  trader's personal data is erased (holder names, account numbers, photos). Tables without a hook
  keep their rows untouched: only their owner knows which columns are personal.

Register hooks in the area's models.py (imported by `service.models`), so they are in place
whenever the tables are.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Index, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession

MERCHANTS = "merchants"
SELF_REFERENCE = ("merchants", "merged_into_id")  # tombstone → survivor; handled by the merge itself


@dataclass(frozen=True)
class Reference:
    """A column that holds a merchant id: `table.column` → merchants.id."""

    table: Table
    column: Column
    # For each unique constraint or index that includes the column: the *other* columns in it
    # (() means "one row per merchant") and, for a partial index, its WHERE clause.
    unique_with: tuple[tuple[tuple[Column, ...], ColumnElement | None], ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


MergeHook = Callable[[AsyncSession, Reference, uuid.UUID, uuid.UUID], Awaitable[tuple[int, int]]]
"""(session, reference, survivor id, duplicate id) → (rows moved, rows left with the tombstone)."""
EraseHook = Callable[[AsyncSession, Reference, list[uuid.UUID], datetime], Awaitable[None]]
"""(session, reference, merchant ids being erased, at)."""

MERGE_HOOKS: dict[str, MergeHook] = {}
ERASE_HOOKS: dict[str, EraseHook] = {}


def merge_hook(table_name: str) -> Callable[[MergeHook], MergeHook]:
    def register(hook: MergeHook) -> MergeHook:
        MERGE_HOOKS[table_name] = hook
        return hook

    return register


def erase_hook(table_name: str) -> Callable[[EraseHook], EraseHook]:
    def register(hook: EraseHook) -> EraseHook:
        ERASE_HOOKS[table_name] = hook
        return hook

    return register


def _metadata() -> MetaData:
    import service.models  # noqa: F401  (every area's tables, as Alembic sees them)
    from service.db import metadata

    return metadata


def _where(index: Index) -> ColumnElement | None:
    for options in index.dialect_options.values():
        if options.get("where") is not None:
            return options["where"]
    return None


def _has(columns: Any, column: Column) -> bool:
    return any(c is column for c in columns)


def _unique_sets(table: Table, column: Column) -> tuple[tuple[tuple[Column, ...], ColumnElement | None], ...]:
    sets: list[tuple[tuple[Column, ...], ColumnElement | None]] = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint) and _has(
            constraint.columns, column
        ):
            sets.append((tuple(c for c in constraint.columns if c is not column), None))
    for index in table.indexes:
        if index.unique and _has(index.columns, column):
            sets.append((tuple(c for c in index.columns if c is not column), _where(index)))
    if column.unique and not any(not others and where is None for others, where in sets):
        sets.append(((), None))
    return tuple(sets)


def references(metadata: MetaData | None = None) -> list[Reference]:
    """Every foreign key to merchants.id, except the tombstone's own `merged_into_id`."""
    metadata = metadata if metadata is not None else _metadata()
    found = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column
            if target.table.name != MERCHANTS or target.name != "id":
                continue
            if (table.name, fk.parent.name) == SELF_REFERENCE:
                continue
            found.append(Reference(table, fk.parent, _unique_sets(table, fk.parent)))
    return found
