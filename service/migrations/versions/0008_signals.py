"""Signals of real use: traders' weekly payment check-ins; storefront views and QR fetches by day.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_checkins",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("iso_week", sa.String(8), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("answer", sa.String(4), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("recorded_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("recorded_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.UniqueConstraint("merchant_id", "iso_week", "source", name="uq_payment_checkins_week_source"),
    )
    op.create_index("ix_payment_checkins_merchant_week", "payment_checkins", ["merchant_id", "week"])
    op.create_index("ix_payment_checkins_province_code", "payment_checkins", ["province_code"])
    op.create_index("ix_payment_checkins_commune_day", "payment_checkins", ["commune_code", "day"])
    op.create_table(
        "storefront_reach",
        sa.Column("storefront_id", GUID(length=16), sa.ForeignKey("storefronts.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("qr_fetches", sa.Integer(), nullable=False),
    )
    op.create_index("ix_storefront_reach_merchant_day", "storefront_reach", ["merchant_id", "day"])
    op.create_index("ix_storefront_reach_province_code", "storefront_reach", ["province_code"])
    op.create_index("ix_storefront_reach_commune_day", "storefront_reach", ["commune_code", "day"])


def downgrade() -> None:
    op.drop_table("storefront_reach")
    op.drop_table("payment_checkins")
