"""integration: webhook subscriptions and the transactional outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("deactivated_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deactivated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_subscriptions")),
    )
    with op.batch_alter_table("integration_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integration_subscriptions_active"), ["active"], unique=False
        )

    op.create_table(
        "integration_outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["integration_subscriptions.id"],
            name=op.f("fk_integration_outbox_subscription_id_integration_subscriptions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_outbox")),
    )
    with op.batch_alter_table("integration_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integration_outbox_status_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_integration_outbox_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("integration_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_outbox_subscription_id"))
        batch_op.drop_index("ix_integration_outbox_status_due")

    op.drop_table("integration_outbox")
    with op.batch_alter_table("integration_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_subscriptions_active"))

    op.drop_table("integration_subscriptions")
