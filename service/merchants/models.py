import uuid
from datetime import date, datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON, ColumnElement, Date, Float, ForeignKey, Index, Integer, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class Merchant(Base):
    """A registered trader. Personal fields (owner_phone, owner_id_number) are shown through
    `merchants.privacy.visibility`, never straight from the row."""

    __tablename__ = "merchants"
    __table_args__ = (
        Index("ix_merchants_province_code", "province_code"),
        Index("ix_merchants_commune_code", "commune_code"),
        Index("ix_merchants_team_id", "team_id"),
        Index("ix_merchants_village_id", "village_id"),
        Index("ix_merchants_owner_phone", "owner_phone"),
        Index("ix_merchants_tax_code", "tax_code"),
        Index("ix_merchants_owner_id_number", "owner_id_number"),
        Index("ix_merchants_current_stage", "current_stage"),
        Index("ix_merchants_commune_name_fold", "commune_code", "name_fold"),
        # PostgreSQL: a trigram GIN index, so LIKE '%bun bo%' uses it (migration 0002 creates the
        # pg_trgm extension). SQLite: a plain index; LIKE '%x%' scans the rows the other filters
        # leave (a commune's merchants), which bench/merchants_search.py measures.
        Index(
            "ix_merchants_search_fold",
            "search_fold",
            postgresql_using="gin",
            postgresql_ops={"search_fold": "gin_trgm_ops"},
        ),
        Index("ix_merchants_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(30))
    business_name: Mapped[str] = mapped_column(String(150))
    category: Mapped[str] = mapped_column(String(30))
    owner_name: Mapped[str] = mapped_column(String(120))
    owner_phone: Mapped[str] = mapped_column(String(20))  # E.164
    owner_id_number: Mapped[str | None] = mapped_column(String(12), nullable=True)
    tax_code: Mapped[str | None] = mapped_column(String(13), nullable=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    village_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("villages.id"), nullable=True)
    market: Mapped[str | None] = mapped_column(String(120), nullable=True)
    stall: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    team_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("teams.id"))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    consent_purposes: Mapped[list[str]] = mapped_column(JSON)
    consent_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    consent_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    current_stage: Mapped[str] = mapped_column(String(20), default="registered")
    stage_reached_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    next_follow_up: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Optimistic locking: SQLAlchemy adds "AND version = :loaded" to every UPDATE and bumps it.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    created_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # Set when a duplicate is merged into another record (later issue); the row stays as a tombstone.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("merchants.id"), nullable=True)
    name_fold: Mapped[str] = mapped_column(String(150))
    search_fold: Mapped[str] = mapped_column(String(400))

    __mapper_args__ = {"version_id_col": version}


def live() -> ColumnElement[bool]:
    """A merchant that is neither deleted nor merged into another record: the ones that count."""
    return and_(Merchant.deleted_at.is_(None), Merchant.merged_into_id.is_(None))
