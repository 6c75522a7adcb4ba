"""One-time sign-in codes (password resets, first sign-ins); replay records name their trader.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_codes",
        sa.Column(
            "user_id", GUID(length=16), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column(
            "created_by", GUID(length=16), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
    )
    # Records written before this revision keep an empty merchant_id: erasure finds those by the
    # trader's id in their key or stored response (idempotency.forget).
    op.add_column("idempotency_records", sa.Column("merchant_id", GUID(length=16), nullable=True))
    op.create_index("ix_idempotency_records_merchant_id", "idempotency_records", ["merchant_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_merchant_id", table_name="idempotency_records")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("merchant_id")
    op.drop_table("sign_in_codes")
