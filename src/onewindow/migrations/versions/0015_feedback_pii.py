"""personal data at rest: feedback phones and names encrypted (AES-256-GCM, as applicants'),
blind indexes for the phones looked up by value, targeted surveys' invitees kept as blind
indexes; application forms' ID and phone values sealed (``SealedJSON``) and removed from the
engine states of cases (no process decides on them)

Existing rows are encrypted in batches of ``BATCH`` (a value already encrypted is left as it
is, so the upgrade can be run again after an interruption).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:45:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BATCH = 1000
_APPLICATIONS = sa.table(
    "applications", sa.column("id", sa.Integer), sa.column("form_data", sa.JSON)
)
_SURVEYS = sa.table("feedback_surveys", sa.column("id", sa.Integer), sa.column("invitees", sa.JSON))
INVITEES = "feedback_surveys.invitees"
# table → ([(column, its length before), ...], the blind-indexed column or None)
_COLUMNS: dict[str, tuple[list[tuple[str, int]], str | None]] = {
    "feedback_visits": ([("visitor_phone", 32), ("visitor_name", 100)], None),
    "feedback_ratings": ([("rater_phone", 32)], "rater_phone"),
    "feedback_tickets": ([("contact_name", 100), ("contact_phone", 32)], "contact_phone"),
    "feedback_survey_responses": ([("respondent_phone", 32)], None),
}


def _encrypted(value: str, column: str) -> bool:
    """Whether ``value`` is already this column's ciphertext (a re-run after an interruption)."""
    from onewindow.security.crypto import keyring

    try:
        keyring().decrypt(value, column)
    except Exception:  # noqa: BLE001 - plain text: no key id, bad base64 or no valid tag
        return False
    return True


def _encrypt_rows(table: str, columns: list[str], indexed: str | None) -> None:
    from onewindow.security.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                f"SELECT id, {', '.join(columns)} FROM {table} "  # noqa: S608 - fixed names
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for row in rows:
            last = row[0]
            values: dict[str, Any] = {}
            for name, value in zip(columns, row[1:], strict=True):
                if value is None or _encrypted(value, f"{table}.{name}"):
                    continue
                values[name] = ring.encrypt(value, f"{table}.{name}")
                if name == indexed:
                    values[f"{name}_bidx"] = ring.blind_index(f"{table}.{name}", value)
            if values:
                sets = ", ".join(f"{k} = :{k}" for k in values)
                bind.execute(
                    sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"),  # noqa: S608
                    {**values, "id": row[0]},
                )


def _invitees_to_indexes() -> None:
    from onewindow.security.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    for survey_id, phones in bind.execute(sa.select(_SURVEYS.c.id, _SURVEYS.c.invitees)).all():
        # A blind index is 32 hex digits; a mobile number 11 digits.
        keys = [p if len(p) == 32 else ring.blind_index(INVITEES, p) for p in phones or []]
        if keys != (phones or []):
            bind.execute(_SURVEYS.update().where(_SURVEYS.c.id == survey_id).values(invitees=keys))


def _forms() -> Any:
    """``(id, form_data)`` of every application, in batches of ``BATCH``."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_APPLICATIONS.c.id, _APPLICATIONS.c.form_data)
            .where(_APPLICATIONS.c.id > last)
            .order_by(_APPLICATIONS.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _set_form(row_id: int, form: dict[str, Any]) -> None:
    op.get_bind().execute(
        _APPLICATIONS.update().where(_APPLICATIONS.c.id == row_id).values(form_data=form)
    )


def _rows(table: str, columns: str) -> Any:
    """``(id, *columns)`` of ``table`` in batches of ``BATCH``, by id."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                f"SELECT id, {columns} FROM {table} WHERE id > :last ORDER BY id LIMIT :n"  # noqa: S608
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _seal_forms() -> None:
    from onewindow.security.crypto import SEALED_KEY, keyring, sealed_values

    ring = keyring()
    for row_id, raw in _forms():
        form = dict(raw or {})
        personal = sealed_values(form)
        if personal:
            for key in personal:
                form[key] = {SEALED_KEY: ring.encrypt(form[key], "applications.form_data")}
            _set_form(row_id, form)


def _strip_identifiers(node: Any) -> bool:
    """Remove identifier values from every ``data`` dict of a serialised engine state."""
    from onewindow.security.crypto import sealed_values

    changed = False
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict):
            for key in sealed_values(data):
                del data[key]
                changed = True
        for value in node.values():
            changed = _strip_identifiers(value) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _strip_identifiers(value) or changed
    return changed


def _strip_case_states() -> None:
    bind = op.get_bind()
    for row_id, raw in _rows("cases", "state"):
        state = json.loads(raw)
        if _strip_identifiers(state):
            bind.execute(
                sa.text("UPDATE cases SET state = :s WHERE id = :id"),
                {"s": json.dumps(state), "id": row_id},
            )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (columns, indexed) in _COLUMNS.items():
        if indexed is not None:
            op.add_column(table, sa.Column(f"{indexed}_bidx", sa.String(length=32), nullable=True))
        if not sqlite:  # SQLite's TEXT affinity already takes the longer ciphertext
            for name, length in columns:
                op.alter_column(
                    table,
                    name,
                    type_=sa.Text(),
                    existing_type=sa.String(length=length),
                    existing_nullable=True,
                )
    op.drop_index("ix_feedback_tickets_contact_phone", table_name="feedback_tickets")
    for table, (columns, indexed) in _COLUMNS.items():
        _encrypt_rows(table, [name for name, _ in columns], indexed)
        if indexed is not None:
            op.create_index(f"ix_{table}_{indexed}_bidx", table, [f"{indexed}_bidx"])
    _invitees_to_indexes()
    _seal_forms()
    _strip_case_states()


def _decrypt_rows(table: str, columns: list[str]) -> None:
    from onewindow.security.crypto import keyring

    ring = keyring()
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()  # noqa: S608
    for row in rows:
        values = {
            name: ring.decrypt(value, f"{table}.{name}")
            for name, value in zip(columns, row[1:], strict=True)
            if value is not None and _encrypted(value, f"{table}.{name}")
        }
        if values:
            sets = ", ".join(f"{k} = :{k}" for k in values)
            bind.execute(
                sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"),  # noqa: S608
                {**values, "id": row[0]},
            )


def downgrade() -> None:
    """Decrypts the columns and the forms back. A targeted survey's invitees stay blind
    indexes (one-way): after a downgrade nobody matches them, so such a survey must be
    re-created; the identifiers removed from engine states stay in the forms."""
    from onewindow.security.crypto import SEALED_KEY, keyring

    sqlite = op.get_bind().dialect.name == "sqlite"
    for row_id, raw in _forms():
        form = dict(raw or {})
        sealed = {k for k, v in form.items() if isinstance(v, dict) and set(v) == {SEALED_KEY}}
        if sealed:
            for key in sealed:
                form[key] = keyring().decrypt(form[key][SEALED_KEY], "applications.form_data")
            _set_form(row_id, form)
    for table, (columns, indexed) in _COLUMNS.items():
        _decrypt_rows(table, [name for name, _ in columns])
        if indexed is not None:
            op.drop_index(f"ix_{table}_{indexed}_bidx", table_name=table)
            with op.batch_alter_table(table) as batch:
                batch.drop_column(f"{indexed}_bidx")
        if not sqlite:
            for name, length in columns:
                op.alter_column(
                    table,
                    name,
                    type_=sa.String(length=length),
                    existing_type=sa.Text(),
                    existing_nullable=True,
                )
    op.create_index(
        "ix_feedback_tickets_contact_phone", "feedback_tickets", ["contact_phone"], unique=False
    )
