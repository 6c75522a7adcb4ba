"""Foundation: administrative units, villages, teams, users, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

from service.places.units import load_units

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    provinces = op.create_table(
        "provinces",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name_fold", sa.String(100), nullable=False),
        sa.Column("data_version", sa.String(40), nullable=False),
    )
    communes = op.create_table(
        "communes",
        sa.Column("code", sa.String(5), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name_fold", sa.String(100), nullable=False),
        sa.Column("data_version", sa.String(40), nullable=False),
    )
    op.create_index("ix_communes_province_code", "communes", ["province_code"])
    op.create_table(
        "villages",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_fold", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.UniqueConstraint("commune_code", "name_fold", name="uq_villages_commune_name"),
    )
    op.create_index("ix_villages_province_code", "villages", ["province_code"])
    op.create_table(
        "teams",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("leader_id", GUID(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_teams_commune_code", "teams", ["commune_code"])
    op.create_index("ix_teams_province_code", "teams", ["province_code"])
    op.create_table(
        "users",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team_id", GUID(length=16), sa.ForeignKey("teams.id"), nullable=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=True),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=True),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_users_team_id", "users", ["team_id"])
    op.create_index("ix_users_commune_code", "users", ["commune_code"])
    op.create_index("ix_users_province_code", "users", ["province_code"])
    # teams.leader_id and users.team_id point at each other: the second key is added afterwards.
    with op.batch_alter_table("teams") as batch:
        batch.create_foreign_key("fk_teams_leader_id", "users", ["leader_id"], ["id"])
    op.create_table(
        "team_villages",
        sa.Column(
            "team_id", GUID(length=16), sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "village_id", GUID(length=16), sa.ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", GUID(length=16), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    province_rows, commune_rows = load_units()
    op.bulk_insert(provinces, province_rows)
    op.bulk_insert(communes, commune_rows)


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("team_villages")
    with op.batch_alter_table("teams") as batch:
        batch.drop_constraint("fk_teams_leader_id", type_="foreignkey")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("villages")
    op.drop_table("communes")
    op.drop_table("provinces")
