"""simulation: published redesigns with their prediction and measured effect

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "simulation_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("from_process_id", sa.Integer(), nullable=False),
        sa.Column("to_process_id", sa.Integer(), nullable=False),
        sa.Column("proposal_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("assumptions", sa.JSON(), nullable=False),
        sa.Column("predicted", sa.JSON(), nullable=False),
        sa.Column("in_person_before", sa.JSON(), nullable=False),
        sa.Column("in_person_after", sa.JSON(), nullable=False),
        sa.Column("change_point", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("baseline_since", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evaluate_after_weeks", sa.Integer(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("measured", sa.JSON(), nullable=True),
        sa.Column("measured_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_process_id"],
            ["process_definitions.id"],
            name=op.f("fk_simulation_predictions_from_process_id_process_definitions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["to_process_id"],
            ["process_definitions.id"],
            name=op.f("fk_simulation_predictions_to_process_id_process_definitions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulation_predictions")),
    )
    with op.batch_alter_table("simulation_predictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_simulation_predictions_service_code"), ["service_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("simulation_predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_simulation_predictions_service_code"))
    op.drop_table("simulation_predictions")
