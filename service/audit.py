"""The audit trail: who changed what, when. Generic over entities (entity type + id), so every area
records through `record()` and reads through `entries()`.

Values are stored as they were (the audit must be the truth); masking for the reader happens where
the entries are shown, by the owning area's privacy rule.
"""

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_entity", "entity_type", "entity_id", "at"),
        Index("ix_audit_entries_province_code", "province_code"),
        Index("ix_audit_entries_actor_id", "actor_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete | merge | ...
    actor_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # {field: [before, after]}; only the fields that changed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Grows with merchants: carries the province for partitioning (DESIGN §8).
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)


class AuditOut(msgspec.Struct):
    id: uuid.UUID
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    at: datetime
    changes: dict[str, list[Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The fields whose values differ, as {field: [before, after]} in JSON-safe values."""
    out = {}
    for key in sorted(set(before) | set(after)):
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


async def record(
    session: AsyncSession,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    actor_id: uuid.UUID | None,
    at: datetime,
    changes: Mapping[str, list[Any]],
    province_code: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        actor_id=actor_id,
        at=at,
        changes=dict(changes),
        province_code=province_code,
    )
    session.add(entry)
    return entry


SCRUBBED = "•••"  # what an entry keeps of a value erased at its owner's request


async def scrub(
    session: AsyncSession, *, entity_type: str, entity_ids: Iterable[uuid.UUID | str], fields: Iterable[str]
) -> int:
    """Replace the values of `fields` in the entries of these entities (a data-subject erasure):
    who changed what and when stays, the erased values do not. Returns how many entries changed."""
    names, ids = set(fields), [str(i) for i in entity_ids]
    if not ids:
        return 0
    scrubbed = 0
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id.in_(ids))
    )
    for entry in rows:
        changes = dict(entry.changes)
        touched = names & set(changes)
        for field in touched:
            before, after = changes[field]
            changes[field] = [None if before is None else SCRUBBED, None if after is None else SCRUBBED]
        if touched:
            entry.changes = changes
            scrubbed += 1
    return scrubbed


async def entries(
    session: AsyncSession, *, entity_type: str, entity_id: uuid.UUID | str, limit: int = 200
) -> list[AuditOut]:
    """Newest first, with the actor's name."""
    from service.accounts.models import User

    rows = await session.execute(
        select(AuditEntry, User.full_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        AuditOut(
            id=e.id, action=e.action, actor_id=e.actor_id, actor_name=name, at=e.at, changes=dict(e.changes)
        )
        for e, name in rows
    ]
