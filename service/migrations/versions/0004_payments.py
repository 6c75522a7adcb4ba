"""Payment accounts and printed posters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LIVE = sa.text("removed_at IS NULL")
_LIVE_PRIMARY = sa.text("is_primary AND removed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "payment_accounts",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("bank_bin", sa.String(6), nullable=False),
        sa.Column("service", sa.String(10), nullable=False),
        sa.Column("account", sa.String(19), nullable=False),
        sa.Column("holder_name", sa.String(70), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("removed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("removed_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_payment_accounts_merchant_id", "payment_accounts", ["merchant_id"])
    op.create_index("ix_payment_accounts_province_code", "payment_accounts", ["province_code"])
    op.create_index(
        "uq_payment_accounts_primary",
        "payment_accounts",
        ["merchant_id"],
        unique=True,
        sqlite_where=_LIVE_PRIMARY,
        postgresql_where=_LIVE_PRIMARY,
    )
    op.create_index(
        "uq_payment_accounts_number",
        "payment_accounts",
        ["merchant_id", "bank_bin", "account"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )

    op.create_table(
        "posters",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column(
            "payment_account_id", GUID(length=16), sa.ForeignKey("payment_accounts.id"), nullable=False
        ),
        sa.Column("payload", sa.String(512), nullable=False),
        sa.Column("printed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("printed_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
    )
    op.create_index("ix_posters_merchant_id", "posters", ["merchant_id"])
    op.create_index("ix_posters_payment_account_id", "posters", ["payment_account_id"])
    op.create_index("ix_posters_province_code", "posters", ["province_code"])


def downgrade() -> None:
    op.drop_table("posters")
    op.drop_table("payment_accounts")
