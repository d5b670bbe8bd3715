"""site characteristics

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 07:41:46.688504
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sitecharacteristic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("as_written", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("passage_id", sa.Integer(), nullable=True),
        sa.Column("char_start", sa.Integer(), nullable=True),
        sa.Column("char_end", sa.Integer(), nullable=True),
        sa.Column("quote", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("provenance", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("edited_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sitecharacteristic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sitecharacteristic_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sitecharacteristic_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sitecharacteristic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sitecharacteristic_site_id"))
        batch_op.drop_index(batch_op.f("ix_sitecharacteristic_document_id"))

    op.drop_table("sitecharacteristic")
