"""Onboarding: stage events, visits, the stages each merchant holds; a "registered" event for every
merchant saved before this revision.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_events",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("recorded_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("recorded_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("client_event_id", sa.String(64), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.UniqueConstraint("merchant_id", "client_event_id", name="uq_stage_events_merchant_client"),
    )
    op.create_index("ix_stage_events_merchant_occurred", "stage_events", ["merchant_id", "occurred_at"])
    op.create_index("ix_stage_events_stage_kind", "stage_events", ["stage", "kind"])
    op.create_index("ix_stage_events_recorded_by", "stage_events", ["recorded_by_id", "occurred_at"])

    op.create_table(
        "visits",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("volunteer_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("recorded_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_follow_up", sa.Date(), nullable=True),
        sa.Column("client_event_id", sa.String(64), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.UniqueConstraint("merchant_id", "client_event_id", name="uq_visits_merchant_client"),
    )
    op.create_index("ix_visits_merchant_occurred", "visits", ["merchant_id", "occurred_at"])
    op.create_index("ix_visits_volunteer_visited", "visits", ["volunteer_id", "visited_on"])

    op.create_table(
        "merchant_stages",
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("stage", sa.String(20), primary_key=True),
        sa.Column("reached_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("event_id", GUID(length=16), sa.ForeignKey("stage_events.id"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
    )
    op.create_index("ix_merchant_stages_stage_reached", "merchant_stages", ["stage", "reached_at"])
    op.create_index("ix_merchant_stages_commune_stage", "merchant_stages", ["commune_code", "stage"])

    op.create_index("ix_audit_entries_entity_id_at", "audit_entries", ["entity_id", "at"])

    # Merchants registered before stage events existed get their "registered" event, in SQL (no
    # rows through Python, whatever the table's size). Their stage columns already say "registered".
    # The client id carries the merchant's id: unique even if a merge later moves events around.
    if op.get_bind().dialect.name == "postgresql":
        new_id, hex_id = "gen_random_uuid()", "replace(id::text, '-', '')"
    else:
        new_id, hex_id = "randomblob(16)", "lower(hex(id))"
    op.execute(
        f"""
        INSERT INTO stage_events (id, merchant_id, stage, kind, source, occurred_at, recorded_at,
            recorded_by_id, client_event_id, province_code, commune_code)
        SELECT {new_id}, id, 'registered', 'reached', 'automatic', created_at, created_at,
            created_by_id, 'auto:registered:' || {hex_id}, province_code, commune_code
        FROM merchants
        """
    )
    op.execute(
        """
        INSERT INTO merchant_stages (merchant_id, stage, reached_at, verified, event_id, province_code,
            commune_code)
        SELECT merchant_id, stage, occurred_at, false, id, province_code, commune_code
        FROM stage_events
        """
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_entity_id_at", table_name="audit_entries")
    op.drop_table("merchant_stages")
    op.drop_table("visits")
    op.drop_table("stage_events")
