"""Onboarding records: the append-only stage event log, support visits, and the stages each merchant
holds now (derived from the log in the same transaction, so lists and reports query it with SQL).

Tables that grow with merchants carry the province and commune codes (DESIGN §8), so summary
tables and partitioning by province can be added from the write path later.
"""

import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.audit import AuditEntry
from service.db import Base
from service.merchants.relations import Reference, erase_hook, merge_hook


class StageEvent(Base):
    """One step up or down the value chain, or a leader's verification. Never updated or deleted,
    with one exception: a trader's data erasure clears the free text (`erase_stage_events`)."""

    __tablename__ = "stage_events"
    __table_args__ = (
        UniqueConstraint("merchant_id", "client_event_id", name="uq_stage_events_merchant_client"),
        Index("ix_stage_events_merchant_occurred", "merchant_id", "occurred_at"),
        Index("ix_stage_events_stage_kind", "stage", "kind"),
        Index("ix_stage_events_recorded_by", "recorded_by_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    stage: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # reached | regressed | verified
    source: Mapped[str] = mapped_column(String(10))  # automatic | manual | review (see stages.Event)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # what was seen; a reason
    # The rest of the evidence, by stage: {"link"} for ecommerce, {"visit_on",
    # "customer_payments_7d"} for qr_active.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    client_event_id: Mapped[str] = mapped_column(String(64))
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("merchant_id", "client_event_id", name="uq_visits_merchant_client"),
        Index("ix_visits_merchant_occurred", "merchant_id", "occurred_at"),
        Index("ix_visits_volunteer_visited", "volunteer_id", "visited_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    volunteer_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer)
    topics: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_follow_up: Mapped[date | None] = mapped_column(Date, nullable=True)
    client_event_id: Mapped[str] = mapped_column(String(64))
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))


class MerchantStage(Base):
    """A stage a merchant holds now: `stages.progress` of its events, rewritten with every event.

    The worklist ("QR issued 30 days ago, not in use") and the verification queue ("claims not yet
    verified") are plain indexed queries on it instead of replays of the log."""

    __tablename__ = "merchant_stages"
    __table_args__ = (
        Index("ix_merchant_stages_stage_reached", "stage", "reached_at"),
        Index("ix_merchant_stages_commune_stage", "commune_code", "stage"),
    )

    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    verified: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("stage_events.id"))  # began the hold
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))


# The merchant timeline reads audit entries of every area by entity id alone (whatever their entity
# type), so that payment accounts, storefronts and later areas appear without changes here. The
# audit table's own index leads with entity_type; this one serves that lookup.
Index("ix_audit_entries_entity_id_at", AuditEntry.entity_id, AuditEntry.at)


@erase_hook("stage_events")
async def erase_stage_events(
    session: AsyncSession, reference: Reference, merchant_ids: list[uuid.UUID], at: datetime
) -> None:
    """Volunteers' notes and shop links may name or identify the trader: they go. Stage, kind,
    source, times and who recorded stay, so the current stage and every statistic are unchanged."""
    await session.execute(
        update(StageEvent)
        .where(StageEvent.merchant_id.in_(merchant_ids), StageEvent.note.is_not(None))
        .values(note=None)
    )
    linked = await session.scalars(
        select(StageEvent).where(StageEvent.merchant_id.in_(merchant_ids), StageEvent.evidence.is_not(None))
    )
    for event in linked:
        if event.evidence and event.evidence.get("link"):
            event.evidence = {**event.evidence, "link": None}
    await session.flush()


@erase_hook("visits")
async def erase_visits(
    session: AsyncSession, reference: Reference, merchant_ids: list[uuid.UUID], at: datetime
) -> None:
    """The visit's note is free text about the trader; date, minutes, topics and outcome stay."""
    await session.execute(
        update(Visit).where(Visit.merchant_id.in_(merchant_ids), Visit.note.is_not(None)).values(note=None)
    )


@merge_hook("stage_events")
@merge_hook("visits")
async def merge_keeping_every_row(
    session: AsyncSession, reference: Reference, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[int, int]:
    """Every stage event and visit of the duplicate moves to the survivor: the work happened. Two
    tablets may have used the same `client_event_id` for the two records; the duplicate's row then
    gets a new one (a retry of it reaches the tombstone, which answers 409 with the survivor)."""
    table = reference.table
    theirs = table.alias()
    clash = exists().where(
        theirs.c.merchant_id == survivor_id, theirs.c.client_event_id == table.c.client_event_id
    )
    await session.execute(
        update(table)
        .where(table.c.merchant_id == duplicate_id, clash)
        .values(
            client_event_id=literal(f"merged:{duplicate_id.hex[:16]}:")
            + func.substr(table.c.client_event_id, 1, 40)
        )
    )
    result = await session.execute(
        update(table).where(table.c.merchant_id == duplicate_id).values(merchant_id=survivor_id)
    )
    return result.rowcount or 0, 0
