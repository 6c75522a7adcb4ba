"""Reports: summary counters kept by the write paths, targets set by officers, and the teams'
feedback to the agencies that manage them.

`ReportCount` is one number of one area: (level, area) says which area, (metric, bucket) which
figure. Each change to a merchant adds the difference between its contributions before and after
(`reports.counters`), at every level the merchant belongs to, so a dashboard reads a few hundred
rows instead of a million merchants. Time-dependent figures ("QR issued 30+ days ago and not in
use") are kept as histograms by day and cut at read time, so they are exact at the moment of the
request.
"""

import uuid
from datetime import date, datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class ReportCount(Base):
    __tablename__ = "report_counts"

    # "p" province code, "c" commune code, "v" village id (hex; "<commune>-" for no village),
    # "t" team id (hex). The country is the sum of its provinces.
    # Key order (level, metric, area, bucket): "this metric for every province" (the country and
    # its drill-down) is one range of the primary key, as is "this metric for these areas".
    level: Mapped[str] = mapped_column(String(1), primary_key=True)
    metric: Mapped[str] = mapped_column(String(12), primary_key=True)
    area: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)  # "" when the metric has none
    n: Mapped[int] = mapped_column(Integer)


class Target(Base):
    """An officer's goal: by `due_on`, `share_percent` of an area's merchants at or past `stage`."""

    __tablename__ = "report_targets"
    __table_args__ = (UniqueConstraint("area", "stage", "due_on", name="uq_report_targets_area_stage_due"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    area: Mapped[str] = mapped_column(String(5))  # a province or commune code; "" for the country
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    stage: Mapped[str] = mapped_column(String(20))
    share_percent: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    set_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Feedback(Base):
    """A problem or need a team reports for a village (or its whole commune), until an officer
    marks it handled."""

    __tablename__ = "report_feedback"
    __table_args__ = (
        Index("ix_report_feedback_commune_handled", "commune_code", "handled_at"),
        Index("ix_report_feedback_province_handled", "province_code", "handled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)  # or the client's
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    village_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("villages.id"), nullable=True)
    team_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("teams.id"))
    topic: Mapped[str] = mapped_column(String(20))  # training | equipment | connectivity | platform | other
    note: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)
    handled_note: Mapped[str | None] = mapped_column(Text, nullable=True)
