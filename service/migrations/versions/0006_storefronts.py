"""Storefronts: listings, their address history, products, stored photos, trader edit links.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0006"
down_revision = "0004"  # beside 0005 (reports): `upgrade heads` applies both, in either order
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_table(
        "storefronts",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("merchant_id", GUID(length=16), sa.ForeignKey("merchants.id"), nullable=False, unique=True),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("slug", sa.String(90), nullable=False, unique=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("headline", sa.String(120), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("location_note", sa.String(200), nullable=True),
        sa.Column("map_url", sa.String(500), nullable=True),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("contact_call", sa.Boolean(), nullable=False),
        sa.Column("contact_zalo", sa.Boolean(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("cover_image_id", sa.String(32), sa.ForeignKey("images.id"), nullable=True),
        sa.Column("search_fold", sa.String(1000), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_storefronts_province_code", "storefronts", ["province_code"])
    op.create_index("ix_storefronts_published", "storefronts", ["published", "province_code"])
    op.create_table(
        "storefront_slugs",
        sa.Column("slug", sa.String(90), primary_key=True),
        sa.Column("storefront_id", GUID(length=16), sa.ForeignKey("storefronts.id"), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_storefront_slugs_storefront_id", "storefront_slugs", ["storefront_id"])
    op.create_table(
        "products",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("storefront_id", GUID(length=16), sa.ForeignKey("storefronts.id"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(30), nullable=True),
        sa.Column("image_id", sa.String(32), sa.ForeignKey("images.id"), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_products_storefront_position", "products", ["storefront_id", "position"])
    op.create_index("ix_products_province_code", "products", ["province_code"])
    op.create_table(
        "storefront_edit_links",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("storefront_id", GUID(length=16), sa.ForeignKey("storefronts.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_by_id", GUID(length=16), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
    )
    op.create_index("ix_storefront_edit_links_storefront_id", "storefront_edit_links", ["storefront_id"])


def downgrade() -> None:
    op.drop_table("storefront_edit_links")
    op.drop_table("products")
    op.drop_table("storefront_slugs")
    op.drop_table("storefronts")
    op.drop_table("images")
