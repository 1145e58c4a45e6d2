"""administration: one-time password-reset links for staff, and the holiday calendar's years
as the administrator entered them from the State Council's yearly notice

``staff_password_resets`` keeps only the SHA-256 of each link's token, when it expires and
when it was used (a link works once). ``calendar_years`` holds one row per notice year; the
running platform lays those years over the shipped ``holidays_cn.yaml``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_password_resets_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_password_resets_token_hash")),
    )
    op.create_index(
        op.f("ix_staff_password_resets_staff_id"),
        "staff_password_resets",
        ["staff_id"],
        unique=False,
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("makeup_workdays", sa.JSON(), nullable=False),
        sa.Column("notice", sa.String(length=300), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
    op.drop_index(op.f("ix_staff_password_resets_staff_id"), table_name="staff_password_resets")
    op.drop_table("staff_password_resets")
