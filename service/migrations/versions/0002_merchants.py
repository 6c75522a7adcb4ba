"""Merchants, audit entries, idempotency records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Trigram index for LIKE '%…%' on the folded search column. pg_trgm is a trusted extension
        # (PostgreSQL 13+): the database owner may create it without superuser rights.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "merchants",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("business_name", sa.String(150), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("owner_name", sa.String(120), nullable=False),
        sa.Column("owner_phone", sa.String(20), nullable=False),
        sa.Column("owner_id_number", sa.String(12), nullable=True),
        sa.Column("tax_code", sa.String(13), nullable=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("village_id", GUID(length=16), sa.ForeignKey("villages.id"), nullable=True),
        sa.Column("market", sa.String(120), nullable=True),
        sa.Column("stall", sa.String(40), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("team_id", GUID(length=16), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("consent_purposes", sa.JSON(), nullable=False),
        sa.Column("consent_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("consent_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("stage_reached_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_visit_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("next_follow_up", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("deleted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("merged_into_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=True),
        sa.Column("name_fold", sa.String(150), nullable=False),
        sa.Column("search_fold", sa.String(400), nullable=False),
    )
    for name, columns in (
        ("ix_merchants_province_code", ["province_code"]),
        ("ix_merchants_commune_code", ["commune_code"]),
        ("ix_merchants_team_id", ["team_id"]),
        ("ix_merchants_owner_phone", ["owner_phone"]),
        ("ix_merchants_tax_code", ["tax_code"]),
        ("ix_merchants_owner_id_number", ["owner_id_number"]),
        ("ix_merchants_current_stage", ["current_stage"]),
        ("ix_merchants_commune_name_fold", ["commune_code", "name_fold"]),
        ("ix_merchants_created_at_id", ["created_at", "id"]),
    ):
        op.create_index(name, "merchants", columns)
    op.create_index(
        "ix_merchants_search_fold",
        "merchants",
        ["search_fold"],
        postgresql_using="gin",
        postgresql_ops={"search_fold": "gin_trgm_ops"},
    )

    op.create_table(
        "audit_entries",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=True),
    )
    op.create_index("ix_audit_entries_entity", "audit_entries", ["entity_type", "entity_id", "at"])
    op.create_index("ix_audit_entries_province_code", "audit_entries", ["province_code"])
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"])

    op.create_table(
        "idempotency_records",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("user_id", GUID(length=16), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),
    )
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_records")
    op.drop_table("audit_entries")
    op.drop_table("merchants")
    # pg_trgm stays: other objects may use it, and dropping an extension needs more rights.
