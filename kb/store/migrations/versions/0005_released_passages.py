"""released passages: a published record makes only its own passages of a draft document searchable

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("passage") as batch:
        batch.add_column(sa.Column("released", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_passage_released", ["released"])


def downgrade() -> None:
    with op.batch_alter_table("passage") as batch:
        batch.drop_index("ix_passage_released")
        batch.drop_column("released")
