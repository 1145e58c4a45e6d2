"""BPMN constructs: call activities bound per case, multi-instance tasks, case messages

``cases.called_versions`` keeps the versions of the called processes a case was started with;
``tasks.instance_no`` / ``tasks.assignee`` describe one instance of a 会签 or 逐级审批;
``case_messages`` keeps every message department systems send to cases.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = onewindow.kit.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("called_versions", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("instance_no", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(64), nullable=True))
    op.create_table(
        "case_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("cases.id", name="fk_case_messages_case_id_cases", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("delivered_at", UTC(), nullable=True),
        sa.UniqueConstraint("sender", "message_id", name="uq_case_messages_sender_message_id"),
    )
    op.create_index("ix_case_messages_case_id", "case_messages", ["case_id"])
    op.create_index("ix_case_messages_status", "case_messages", ["status"])


def downgrade() -> None:
    op.drop_index("ix_case_messages_status", "case_messages")
    op.drop_index("ix_case_messages_case_id", "case_messages")
    op.drop_table("case_messages")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("assignee")
        batch.drop_column("instance_no")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("called_versions")
