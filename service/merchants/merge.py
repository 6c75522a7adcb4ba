"""Merging two records of one trader: everything moves to the survivor, the other becomes a tombstone.

- The survivor keeps its own field values (the leader edits it afterwards if the duplicate held a
  better value); its version goes up, so a tablet holding an older copy gets a 409 on its next save.
- Every row of another table that points at the duplicate (`relations.references()`) is re-pointed
  to the survivor in one UPDATE per table; tables with one row per merchant keep the survivor's
  row and leave the duplicate's with the tombstone (see relations.py for hooks).
- Earlier tombstones of the duplicate are re-pointed too, so a redirect is always one hop.
- The change history is not rewritten: the audit entries stay under the id they were written for,
  and the survivor's page shows its own history and its tombstones'.
- Both records get a "merge" audit entry; the merge is announced (`merchants.events`): onboarding
  recomputes the current stage from the events that now all belong to the survivor.
- Both records must be live and in the caller's jurisdiction, so a team leader merges only inside
  the team; volunteers may not merge. An erased record is not merged (nor merged into).
"""

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, TextClause, and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.util import ClauseAdapter

from service import audit
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden
from service.i18n import gettext
from service.merchants import events
from service.merchants.models import Merchant
from service.merchants.privacy import is_erased
from service.merchants.relations import MERGE_HOOKS, Reference, references
from service.merchants.services import ENTITY, MERGERS, Erased, MerchantService, StaleVersion


class MergeResult(msgspec.Struct, kw_only=True):
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    moved: dict[str, int]  # "table.column" -> rows now pointing at the survivor
    left_behind: dict[str, int]  # rows that stayed with the tombstone (one-per-merchant tables)


async def repoint(
    session: AsyncSession, ref: Reference, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[int, int]:
    """Move the duplicate's rows of one table to the survivor; (moved, left with the tombstone).

    For each unique constraint or index over the merchant column, a row moves only if the
    survivor has no row it would collide with: same values in the other columns and, for a
    partial index, both rows inside its WHERE clause. (A textual WHERE names bare columns: inside
    the EXISTS they resolve to the survivor's row, outside to the moving one, by SQL scoping.)"""
    table, column = ref.table, ref.column
    statement = update(table).where(column == duplicate_id).values({column.name: survivor_id})
    for others, where in ref.unique_with:
        theirs = table.alias()
        clash = exists().where(
            theirs.c[column.name] == survivor_id, *(theirs.c[c.name] == table.c[c.name] for c in others)
        )
        if where is not None:
            clash = clash.where(_on(theirs, where))
            statement = statement.where(~and_(where, clash))
        else:
            statement = statement.where(~clash)
    moved = (await session.execute(statement)).rowcount or 0
    left = 0
    if ref.unique_with:
        remaining = select(func.count()).select_from(table).where(column == duplicate_id)
        left = await session.scalar(remaining) or 0
    return moved, left


def _on(alias: Any, where: ColumnElement) -> ColumnElement:
    if isinstance(where, TextClause):
        return where
    return ClauseAdapter(alias).traverse(where)


class MergeService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def merge(
        self,
        *,
        by: CurrentUser,
        survivor_id: uuid.UUID,
        duplicate_id: uuid.UUID,
        at: datetime,
        survivor_version: int | None = None,
        duplicate_version: int | None = None,
    ) -> MergeResult:
        if by.role not in MERGERS:
            raise Forbidden()
        if survivor_id == duplicate_id:
            raise FieldErrors([("duplicate_id", gettext("Không thể gộp một bản ghi với chính nó."))])
        merchants = MerchantService(self.session)
        await events.lock(self.session, [survivor_id, duplicate_id])
        survivor = await merchants.get(by=by, merchant_id=survivor_id)
        duplicate = await merchants.get(by=by, merchant_id=duplicate_id)
        for row, version in ((survivor, survivor_version), (duplicate, duplicate_version)):
            if is_erased(row):
                raise Erased()
            if version is not None and version != row.version:
                raise StaleVersion(row)

        # Announced (`merged`): onboarding recomputes the survivor's stage from the events it took
        # over; the report counters count the tombstone no more and the survivor with everything.
        async with events.changing(
            self.session,
            "merged",
            [survivor.id, duplicate.id],
            at=at,
            by=by.id,
            survivor=survivor.id,
            duplicate=duplicate.id,
        ):
            # Both rows first: the version check makes an edit of either record from a copy read
            # before the merge fail with 409.
            duplicate.merged_into_id = survivor.id
            duplicate.updated_at = at
            survivor.updated_at = at
            try:
                await self.session.flush()
            except StaleDataError:
                await self.session.rollback()
                raise StaleVersion(await merchants.get(by=by, merchant_id=survivor_id)) from None

            moved: dict[str, int] = {}
            left_behind: dict[str, int] = {}
            for ref in references():
                hook = MERGE_HOOKS.get(ref.table.name)
                if hook is not None:
                    count, left = await hook(self.session, ref, survivor.id, duplicate.id)
                else:
                    count, left = await repoint(self.session, ref, survivor.id, duplicate.id)
                if count:
                    moved[ref.name] = count
                if left:
                    left_behind[ref.name] = left
            # Tombstones of the duplicate now point at the survivor: a redirect is always one hop.
            table = Merchant.__table__
            await self.session.execute(
                update(table).where(table.c.merged_into_id == duplicate.id).values(merged_into_id=survivor.id)
            )

            details: dict[str, list[Any]] = {"moved": [None, moved]} if moved else {}
            if left_behind:
                details["left_behind"] = [None, left_behind]
            await audit.record(
                self.session,
                entity_type=ENTITY,
                entity_id=survivor.id,
                action="merge",
                actor_id=by.id,
                at=at,
                changes={"merged_from": [None, str(duplicate.id)], **details},
                province_code=survivor.province_code,
            )
            await audit.record(
                self.session,
                entity_type=ENTITY,
                entity_id=duplicate.id,
                action="merge",
                actor_id=by.id,
                at=at,
                changes={"merged_into_id": [None, str(survivor.id)], **details},
                province_code=duplicate.province_code,
            )
            await self.session.flush()
        return MergeResult(
            survivor_id=survivor.id, merged_id=duplicate.id, moved=moved, left_behind=left_behind
        )
