import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base

ROLES = ("volunteer", "team_leader", "commune_officer", "province_officer", "admin")

team_villages = Table(
    "team_villages",
    Base.metadata,
    Column("team_id", GUID, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("village_id", GUID, ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        Index("ix_teams_commune_code", "commune_code"),
        Index("ix_teams_province_code", "province_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    leader_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("users.id", use_alter=True, name="fk_teams_leader_id"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class User(Base):
    """An account; its jurisdiction follows the role: a team, a commune, a province, or all."""

    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_team_id", "team_id"),
        Index("ix_users_commune_code", "commune_code"),
        Index("ix_users_province_code", "province_code"),
        # Members and active volunteers (a visit in the last 30 days) per area, for reports: counted
        # from this index alone.
        Index("ix_users_area_activity", "province_code", "commune_code", "active", "role", "last_visit_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("teams.id"), nullable=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"), nullable=True)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"), nullable=True)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class ApiToken(Base):
    """A bearer token for tablets and scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class SignInCode(Base):
    """A one-time code with which a user sets their own password and signs in: after an officer
    reset the password ("reset"), or for a first sign-in ("activation"). One live code per user;
    only its Argon2 hash is kept, and it is deleted when used."""

    __tablename__ = "sign_in_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
