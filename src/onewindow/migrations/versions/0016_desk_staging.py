"""front desk: uploads staged across a failed submission; 容缺受理 (materials promised by a date)

``desk_staged_uploads`` keeps the files a clerk chose on a submission that came back with
errors, so the resubmission reuses them; the worker deletes rows nobody came back for.
``service_materials.deferrable`` and ``service_items.deferral_days`` say which materials a
service may accept on a promise and within how many working days; ``material_promises`` holds
each promise until it is fulfilled or lapses.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_staged_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("staged_by", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("staged_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_staged_uploads")),
        sa.UniqueConstraint(
            "batch", "material_code", name=op.f("uq_desk_staged_uploads_batch_material_code")
        ),
    )
    op.create_index(op.f("ix_desk_staged_uploads_staged_at"), "desk_staged_uploads", ["staged_at"])
    with op.batch_alter_table("service_materials") as batch:
        batch.add_column(
            sa.Column("deferrable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("service_items") as batch:
        batch.add_column(sa.Column("deferral_days", sa.Integer(), nullable=True))
    op.create_table(
        "material_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("promised_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("promised_to", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("settled_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_material_promises_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_promises")),
        sa.UniqueConstraint(
            "application_id",
            "material_code",
            name=op.f("uq_material_promises_application_id_material_code"),
        ),
    )
    op.create_index(op.f("ix_material_promises_state"), "material_promises", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_material_promises_state"), table_name="material_promises")
    op.drop_table("material_promises")
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("deferral_days")
    with op.batch_alter_table("service_materials") as batch:
        batch.drop_column("deferrable")
    op.drop_index(op.f("ix_desk_staged_uploads_staged_at"), table_name="desk_staged_uploads")
    op.drop_table("desk_staged_uploads")
