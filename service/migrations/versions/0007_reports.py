"""Reports: summary counters, targets, feedback; users.last_visit_at for active volunteers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

The counters start empty; `onboard reports rebuild` fills them from the rows already there.
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("last_visit_at", DateTimeUTC(timezone=True), nullable=True))
    op.create_index(
        "ix_users_area_activity",
        "users",
        ["province_code", "commune_code", "active", "role", "last_visit_at"],
    )
    op.create_table(
        "report_counts",
        sa.Column("level", sa.String(1), primary_key=True),
        sa.Column("metric", sa.String(12), primary_key=True),
        sa.Column("area", sa.String(40), primary_key=True),
        sa.Column("bucket", sa.String(20), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "report_targets",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("area", sa.String(5), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("commune_code", sa.String(5), nullable=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("set_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("set_at", DateTimeUTC(timezone=True), nullable=False),
        sa.UniqueConstraint("area", "stage", "due_on", name="uq_report_targets_area_stage_due"),
    )
    op.create_table(
        "report_feedback",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("village_id", GUID(length=16), sa.ForeignKey("villages.id"), nullable=True),
        sa.Column("team_id", GUID(length=16), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("topic", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("handled_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("handled_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("handled_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_report_feedback_commune_handled", "report_feedback", ["commune_code", "handled_at"])
    op.create_index("ix_report_feedback_province_handled", "report_feedback", ["province_code", "handled_at"])


def downgrade() -> None:
    op.drop_table("report_feedback")
    op.drop_table("report_targets")
    op.drop_table("report_counts")
    op.drop_index("ix_users_area_activity", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_visit_at")
