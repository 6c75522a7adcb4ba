import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class Province(Base):
    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # tinh | thanh_pho
    name_fold: Mapped[str] = mapped_column(String(100))
    data_version: Mapped[str] = mapped_column(String(40))


class Commune(Base):
    __tablename__ = "communes"
    __table_args__ = (Index("ix_communes_province_code", "province_code"),)

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # xa | phuong | dac_khu
    name_fold: Mapped[str] = mapped_column(String(100))
    data_version: Mapped[str] = mapped_column(String(40))


class Village(Base):
    """A thôn or tổ dân phố, created per commune by officers and team leaders."""

    __tablename__ = "villages"
    __table_args__ = (
        UniqueConstraint("commune_code", "name_fold", name="uq_villages_commune_name"),
        Index("ix_villages_province_code", "province_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    name: Mapped[str] = mapped_column(String(100))
    name_fold: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # thon | to_dan_pho | ap | ban | other
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
