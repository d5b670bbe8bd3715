"""index changes: the passages each generation changed, so indexes are updated rather than rebuilt

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indexchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("passage_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("indexchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indexchange_generation"), ["generation"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("indexchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indexchange_generation"))
    op.drop_table("indexchange")
