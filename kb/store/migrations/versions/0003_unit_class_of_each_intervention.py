"""What each intervention's unit was judged to be at ingest (existing records: local interventions)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 08:23:21.045006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unit_class",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="local_intervention",
            )
        )
        batch_op.add_column(sa.Column("class_confidence", sa.Float(), nullable=False, server_default="1.0"))
        batch_op.add_column(
            sa.Column("class_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.drop_column("class_reason")
        batch_op.drop_column("class_confidence")
        batch_op.drop_column("unit_class")
