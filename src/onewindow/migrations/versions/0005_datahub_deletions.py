"""datahub: rows missing from a full load are marked deleted, with history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "datahub_records",
        sa.Column("deleted_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "datahub_record_versions",
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "datahub_loads", sa.Column("full", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "datahub_loads",
        sa.Column("rows_deleted", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("datahub_loads") as batch:
        batch.drop_column("rows_deleted")
        batch.drop_column("full")
    with op.batch_alter_table("datahub_record_versions") as batch:
        batch.drop_column("deleted")
    if op.get_bind().dialect.name == "sqlite":  # the batch copy lost the append-only triggers
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS datahub_record_versions_no_{verb.lower()} "
                f"BEFORE {verb} ON datahub_record_versions "
                "BEGIN SELECT RAISE(ABORT, 'datahub_record_versions is append-only'); END"
            )
    with op.batch_alter_table("datahub_records") as batch:
        batch.drop_column("deleted_at")
