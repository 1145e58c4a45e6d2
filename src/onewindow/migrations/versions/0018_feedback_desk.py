"""feedback desk: an improvement on the public board is published by staff

``feedback_improvements.published_at`` is set when a member of staff publishes the item (你说我改);
a draft (``NULL``) is not shown on the public board. Items that existed before were all public,
so they are published as of their creation.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC = onewindow.kit.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("feedback_improvements") as batch:
        batch.add_column(sa.Column("published_at", UTC(), nullable=True))
    op.execute(
        "UPDATE feedback_improvements SET published_at = created_at WHERE published_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("feedback_improvements") as batch:
        batch.drop_column("published_at")
