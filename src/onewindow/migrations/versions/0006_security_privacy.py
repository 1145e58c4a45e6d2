"""security and privacy: encrypted applicant identifiers with blind indexes, the Merkle ledger,
signed tree heads, personal-data requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("ledger_entries", "ledger_nodes")


def _encrypt_applicants() -> None:
    """Encrypt the identifiers already stored (plain text until this revision)."""
    from onewindow.security.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, id_number, phone FROM applicants")).all()
    for row_id, number, phone in rows:
        bind.execute(
            sa.text(
                "UPDATE applicants SET id_number = :n, id_number_bidx = :nb, phone = :p, "
                "phone_bidx = :pb, key_id = :k WHERE id = :id"
            ),
            {
                "n": ring.encrypt(number, "applicants.id_number"),
                "nb": ring.blind_index("applicants.id_number", number),
                "p": ring.encrypt(phone, "applicants.phone") if phone else None,
                "pb": ring.blind_index("applicants.phone", phone) if phone else None,
                "k": ring.active_key_id,
                "id": row_id,
            },
        )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("applicants", sa.Column("id_number_bidx", sa.String(length=32), nullable=True))
    op.add_column("applicants", sa.Column("phone_bidx", sa.String(length=32), nullable=True))
    op.add_column(
        "applicants", sa.Column("key_id", sa.String(length=32), nullable=False, server_default="")
    )
    if not sqlite:
        op.alter_column("applicants", "id_number", type_=sa.Text(), existing_nullable=False)
        op.alter_column("applicants", "phone", type_=sa.Text(), existing_nullable=True)
    _encrypt_applicants()
    if not sqlite:
        op.drop_constraint("uq_applicants_kind_id_number", "applicants", type_="unique")
        op.alter_column("applicants", "id_number_bidx", nullable=False)
        op.create_unique_constraint(
            "uq_applicants_kind_id_number_bidx", "applicants", ["kind", "id_number_bidx"]
        )
    else:
        # SQLite cannot drop the old UNIQUE(kind, id_number) without rebuilding a table that
        # other tables reference; it now holds random-nonce ciphertexts, so it never binds.
        op.create_index(
            "uq_applicants_kind_id_number_bidx",
            "applicants",
            ["kind", "id_number_bidx"],
            unique=True,
        )
    op.create_index("ix_applicants_phone_bidx", "applicants", ["phone_bidx"])
    op.create_index("ix_applicants_key_id", "applicants", ["key_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_kind"), "ledger_entries", ["kind"])
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    state = op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.bulk_insert(
        state,
        [
            {
                "id": 1,
                "size": 0,
                "frontier": [],
                "root_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    op.create_table(
        "ledger_tree_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_tree_heads")),
    )
    op.create_index(op.f("ix_ledger_tree_heads_size"), "ledger_tree_heads", ["size"])
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
            name=op.f("fk_privacy_requests_applicant_id_applicants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(op.f("ix_privacy_requests_applicant_id"), "privacy_requests", ["applicant_id"])
    _forbid_ledger_rewrites(sqlite)


def _forbid_ledger_rewrites(sqlite: bool) -> None:
    """The ledger is append-only in the database too; verification catches what gets past."""
    if sqlite:
        for table in _APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION onewindow_ledger_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$ LANGUAGE plpgsql"
    )
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION onewindow_ledger_append_only()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS onewindow_ledger_append_only()")
    op.drop_table("privacy_requests")
    op.drop_table("ledger_tree_heads")
    op.drop_table("ledger_state")
    op.drop_table("ledger_nodes")
    op.drop_table("ledger_entries")

    from onewindow.security.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    for row_id, number, phone in bind.execute(
        sa.text("SELECT id, id_number, phone FROM applicants")
    ).all():
        bind.execute(
            sa.text("UPDATE applicants SET id_number = :n, phone = :p WHERE id = :id"),
            {
                "n": ring.decrypt(number, "applicants.id_number"),
                "p": ring.decrypt(phone, "applicants.phone") if phone else None,
                "id": row_id,
            },
        )
    op.drop_index("ix_applicants_key_id", "applicants")
    op.drop_index("ix_applicants_phone_bidx", "applicants")
    if sqlite:
        op.drop_index("uq_applicants_kind_id_number_bidx", "applicants")
    else:
        op.drop_constraint("uq_applicants_kind_id_number_bidx", "applicants", type_="unique")
        op.create_unique_constraint(
            "uq_applicants_kind_id_number", "applicants", ["kind", "id_number"]
        )
    op.drop_column("applicants", "key_id")
    op.drop_column("applicants", "phone_bidx")
    op.drop_column("applicants", "id_number_bidx")
