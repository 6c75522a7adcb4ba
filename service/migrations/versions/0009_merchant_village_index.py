"""Merchants by village: a village's lists and its live figures read an index, not the whole table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_merchants_village_id", "merchants", ["village_id"])


def downgrade() -> None:
    op.drop_index("ix_merchants_village_id", table_name="merchants")
