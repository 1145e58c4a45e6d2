"""one case engine: every BPMN case (applications, complaints, rectifications) in ``cases`` and
``tasks``, every event in ``events``; decisions with their reasons; issued documents; the
catalogue's legal bases for refusals

Moves ``case_states`` (applications) and ``feedback_cases`` / ``feedback_tasks`` /
``feedback_events`` into the one set of tables without loss, then drops the old ones. Opinions
already recorded on completed tasks become decisions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = onewindow.kit.db.UTCDateTime

# The feedback processes' lanes by role, as the feedback domain routes them (policy default:
# the service centre CENTER is the office).
_OFFICE = "CENTER"
_LANE_ROLES = {
    "好差评办": "office",
    "受理派单中心": "office",
    "被评部门": "subject",
    "承办部门": "subject",
    "评价人": "citizen",
    "市民": "citizen",
}
_FEEDBACK_SLA = {
    "Task_rectify": "var:rectify_due",
    "Task_handle": "var:handle_due",
    "Task_rate": "var:rate_due",
    "Task_rater_appeal": "var:appeal_due",
}


def _json(value: Any) -> Any:
    """JSON columns read back as text on some drivers and as objects on others."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _feedback_routes() -> dict[str, str]:
    to = {"office": f"dept:{_OFFICE}", "subject": f"subject:{_OFFICE}", "citizen": "party"}
    routes = {lane: to[role] for lane, role in _LANE_ROLES.items()}
    routes["*"] = routes[""] = f"dept:{_OFFICE}"
    return routes


def _application_routes(lanes: dict[str, str], task_lanes: set[str]) -> dict[str, str]:
    routes = {"": "party"}
    for lane in sorted(task_lanes | set(lanes)):
        code = lanes.get(lane, lane)
        routes[lane] = "party" if code == "APPLICANT" else f"dept:{code}"
    return routes


cases_t = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("number", sa.String),
    sa.column("kind", sa.String),
    sa.column("process_definition_id", sa.Integer),
    sa.column("application_id", sa.Integer),
    sa.column("service_code", sa.String),
    sa.column("channel", sa.String),
    sa.column("subject_department_id", sa.Integer),
    sa.column("party_proxy_department_id", sa.Integer),
    sa.column("routes", sa.JSON),
    sa.column("task_sla", sa.JSON),
    sa.column("state", sa.Text),
    sa.column("completed", sa.Boolean),
    sa.column("outcome", sa.String),
    sa.column("started_at", UTC()),
    sa.column("completed_at", UTC()),
    sa.column("next_timer_at", UTC()),
    sa.column("version", sa.Integer),
)

tasks_t = sa.table(
    "tasks",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("application_id", sa.Integer),
    sa.column("engine_task_id", sa.String),
    sa.column("element_id", sa.String),
    sa.column("name", sa.String),
    sa.column("lane", sa.String),
    sa.column("department_id", sa.Integer),
    sa.column("for_applicant", sa.Boolean),
    sa.column("status", sa.String),
    sa.column("claimed_by", sa.String),
    sa.column("completed_by", sa.String),
    sa.column("created_at", UTC()),
    sa.column("claimed_at", UTC()),
    sa.column("completed_at", UTC()),
    sa.column("sla_due", UTC()),
    sa.column("escalated", sa.Boolean),
    sa.column("data", sa.JSON),
    sa.column("can_send_back", sa.Boolean),
    sa.column("form_fields", sa.JSON),
)

decisions_t = sa.table(
    "decisions",
    sa.column("case_id", sa.Integer),
    sa.column("task_id", sa.Integer),
    sa.column("decision", sa.String),
    sa.column("opinion", sa.Text),
    sa.column("reason", sa.Text),
    sa.column("missing_items", sa.JSON),
    sa.column("decided_by", sa.String),
    sa.column("department", sa.String),
    sa.column("decided_at", UTC()),
)


def _create_tables() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("process_definition_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("subject_department_id", sa.Integer(), nullable=True),
        sa.Column("party_proxy_department_id", sa.Integer(), nullable=True),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("task_sla", sa.JSON(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("started_at", UTC(timezone=True), nullable=False),
        sa.Column("completed_at", UTC(timezone=True), nullable=True),
        sa.Column("next_timer_at", UTC(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_cases_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["party_proxy_department_id"],
            ["departments.id"],
            name=op.f("fk_cases_party_proxy_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["process_definitions.id"],
            name=op.f("fk_cases_process_definition_id_process_definitions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subject_department_id"],
            ["departments.id"],
            name=op.f("fk_cases_subject_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("application_id", name=op.f("uq_cases_application_id")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    op.create_index(op.f("ix_cases_completed"), "cases", ["completed"], unique=False)
    op.create_index(op.f("ix_cases_kind"), "cases", ["kind"], unique=False)
    op.create_index(op.f("ix_cases_next_timer_at"), "cases", ["next_timer_at"], unique=False)


def _create_decisions_and_documents() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("legal_basis_code", sa.String(length=64), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("missing_items", sa.JSON(), nullable=False),
        sa.Column("reason_sha256", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("decided_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_decisions_task_id_tasks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("task_id", name=op.f("uq_decisions_task_id")),
    )
    op.create_index(op.f("ix_decisions_case_id"), "decisions", ["case_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("issued_at", UTC(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("rendered_at", UTC(timezone=True), nullable=True),
        sa.Column("ledger_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_documents_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["blobs.sha256"],
            name=op.f("fk_documents_sha256_blobs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_documents_task_id_tasks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("code", name=op.f("uq_documents_code")),
    )
    op.create_index(op.f("ix_documents_case_id"), "documents", ["case_id"], unique=False)
    op.create_index(op.f("ix_documents_rendered_at"), "documents", ["rendered_at"], unique=False)


def _drop_event_triggers(table: str, function: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def _create_event_triggers() -> None:
    """The event log is append-only in the database too, not only by the code's convention."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION onewindow_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'events are append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION onewindow_events_append_only()"
        )


def _move_application_cases(conn: sa.Connection) -> None:
    services = {
        row.id: (row.code, _json(row.lanes) or {}, _json(row.task_sla_days) or {})
        for row in conn.execute(sa.text("SELECT id, code, lanes, task_sla_days FROM service_items"))
    }
    task_lanes: dict[int, set[str]] = {}
    for row in conn.execute(sa.text("SELECT id, user_tasks FROM process_definitions")):
        task_lanes[row.id] = {str(t.get("lane") or "") for t in _json(row.user_tasks) or []} - {""}
    rows = conn.execute(
        sa.text(
            "SELECT s.application_id, s.process_definition_id, s.state, s.completed, "
            "s.next_timer_at, s.version, a.number, a.service_item_id, a.channel, a.status, "
            "a.submitted_at, a.closed_at FROM case_states s "
            "JOIN applications a ON a.id = s.application_id ORDER BY s.application_id"
        )
    ).all()
    closed = {"approved", "rejected", "not_accepted"}
    values = []
    for r in rows:
        code, lanes, sla = services[r.service_item_id]
        routes = _application_routes(lanes, task_lanes.get(r.process_definition_id, set()))
        values.append(
            {
                "number": r.number,
                "kind": "application",
                "process_definition_id": r.process_definition_id,
                "application_id": r.application_id,
                "service_code": code,
                "channel": r.channel,
                "subject_department_id": None,
                "party_proxy_department_id": None,
                "routes": routes,
                "task_sla": sla,
                "state": r.state,
                "completed": bool(r.completed),
                "outcome": r.status if r.status in closed else None,
                "started_at": _utc(r.submitted_at),
                "completed_at": _utc(r.closed_at) if r.completed else None,
                "next_timer_at": _utc(r.next_timer_at),
                "version": r.version,
            }
        )
    if values:
        conn.execute(cases_t.insert(), values)


def _utc(value: Any) -> Any:
    """A datetime as stored (SQLite: naive UTC text) made aware for UTCDateTime's bind."""
    if value is None:
        return None
    from datetime import UTC as _UTC
    from datetime import datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)


def _move_feedback_cases(
    conn: sa.Connection,
) -> tuple[dict[int, int], list[tuple[int, int | None, int | None]]]:
    """feedback_cases -> cases; returns old id -> new id, and (new id, ticket, rating)."""
    office = conn.execute(
        sa.text("SELECT id FROM departments WHERE code = :c"), {"c": _OFFICE}
    ).scalar()
    rows = conn.execute(
        sa.text(
            "SELECT c.id, c.number, c.kind, c.process_definition_id, c.rating_id, c.ticket_id, "
            "c.department_id, c.state, c.completed, c.outcome, c.started_at, c.completed_at, "
            "c.next_timer_at, c.version, t.channel AS ticket_channel, "
            "r.channel AS rating_channel FROM feedback_cases c "
            "LEFT JOIN feedback_tickets t ON t.id = c.ticket_id "
            "LEFT JOIN feedback_ratings r ON r.id = c.rating_id ORDER BY c.id"
        )
    ).all()
    mapping: dict[int, int] = {}
    subjects: list[tuple[int, int | None, int | None]] = []
    for r in rows:
        new_id = conn.execute(
            cases_t.insert().returning(cases_t.c.id),
            {
                "number": r.number,
                "kind": r.kind,
                "process_definition_id": r.process_definition_id,
                "application_id": None,
                "service_code": r.kind,
                "channel": r.ticket_channel or r.rating_channel or "portal",
                "subject_department_id": r.department_id,
                "party_proxy_department_id": office,
                "routes": _feedback_routes(),
                "task_sla": _FEEDBACK_SLA,
                "state": r.state,
                "completed": bool(r.completed),
                "outcome": r.outcome,
                "started_at": _utc(r.started_at),
                "completed_at": _utc(r.completed_at),
                "next_timer_at": _utc(r.next_timer_at),
                "version": r.version,
            },
        ).scalar_one()
        mapping[r.id] = new_id
        subjects.append((new_id, r.ticket_id, r.rating_id))
    return mapping, subjects


def _link_subjects(conn: sa.Connection, subjects: list[tuple[int, int | None, int | None]]) -> None:
    """Tickets and ratings point at their case (added once feedback_cases, which referenced
    them, is gone: SQLite rebuilds a table to add a constraint)."""
    for table in ("feedback_tickets", "feedback_ratings"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_case_id"), ["case_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_case_id_cases"),
                "cases",
                ["case_id"],
                ["id"],
                ondelete="RESTRICT",
            )
    for case_id, ticket_id, rating_id in subjects:
        if ticket_id is not None:
            conn.execute(
                sa.text("UPDATE feedback_tickets SET case_id = :c WHERE id = :t"),
                {"c": case_id, "t": ticket_id},
            )
        if rating_id is not None:
            conn.execute(
                sa.text("UPDATE feedback_ratings SET case_id = :c WHERE id = :r"),
                {"c": case_id, "r": rating_id},
            )


def _move_feedback_tasks(conn: sa.Connection, mapping: dict[int, int]) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT case_id, engine_task_id, element_id, name, lane, department_id, for_citizen, "
            "status, completed_by, created_at, completed_at, sla_due, escalated, data, "
            "form_fields FROM feedback_tasks ORDER BY id"
        )
    ).all()
    values = [
        {
            "case_id": mapping[r.case_id],
            "application_id": None,
            "engine_task_id": r.engine_task_id,
            "element_id": r.element_id,
            "name": r.name,
            "lane": r.lane,
            "department_id": r.department_id,
            "for_applicant": bool(r.for_citizen),
            "status": r.status,
            "claimed_by": None,
            "completed_by": r.completed_by,
            "created_at": _utc(r.created_at),
            "claimed_at": None,
            "completed_at": _utc(r.completed_at),
            "sla_due": _utc(r.sla_due) or _utc(r.created_at),
            "escalated": bool(r.escalated),
            "data": _json(r.data) or {},
            "can_send_back": False,
            "form_fields": _json(r.form_fields) or [],
        }
        for r in rows
    ]
    if values:
        conn.execute(tasks_t.insert(), values)


def _move_feedback_events(conn: sa.Connection, mapping: dict[int, int]) -> None:
    channels = {
        row.id: row.channel for row in conn.execute(sa.text("SELECT id, channel FROM cases"))
    }
    events = sa.table(
        "events",
        sa.column("case_id", sa.Integer),
        sa.column("application_id", sa.Integer),
        sa.column("case_number", sa.String),
        sa.column("case_kind", sa.String),
        sa.column("task_id", sa.Integer),
        sa.column("event_type", sa.String),
        sa.column("activity", sa.String),
        sa.column("activity_id", sa.String),
        sa.column("lifecycle", sa.String),
        sa.column("timestamp", UTC()),
        sa.column("resource", sa.String),
        sa.column("department", sa.String),
        sa.column("channel", sa.String),
        sa.column("service_code", sa.String),
        sa.column("attributes", sa.JSON),
    )
    rows = conn.execute(
        sa.text(
            "SELECT case_id, case_number, kind, event_type, activity, activity_id, lifecycle, "
            "timestamp, resource, department, attributes FROM feedback_events ORDER BY id"
        )
    ).all()
    values = [
        {
            "case_id": mapping[r.case_id],
            "application_id": None,
            "case_number": r.case_number,
            "case_kind": r.kind,
            "task_id": None,
            "event_type": r.event_type,
            "activity": r.activity,
            "activity_id": r.activity_id,
            "lifecycle": r.lifecycle,
            "timestamp": _utc(r.timestamp),
            "resource": r.resource,
            "department": r.department,
            "channel": channels[mapping[r.case_id]],
            "service_code": r.kind,
            "attributes": _json(r.attributes) or {},
        }
        for r in rows
    ]
    if values:
        conn.execute(events.insert(), values)


def _decisions_from_tasks(conn: sa.Connection) -> None:
    """Opinions already recorded on completed staff tasks become decisions."""
    codes = {row.id: row.code for row in conn.execute(sa.text("SELECT id, code FROM departments"))}
    rows = conn.execute(
        sa.select(
            tasks_t.c.id,
            tasks_t.c.case_id,
            tasks_t.c.data,
            tasks_t.c.completed_by,
            tasks_t.c.completed_at,
            tasks_t.c.department_id,
        ).where(tasks_t.c.status == "completed", tasks_t.c.for_applicant.is_(False))
    ).all()
    values = []
    for r in rows:
        data = _json(r.data) or {}
        decision = data.get("decision")
        if decision is None and "materials_complete" in data:
            decision = "accept" if data["materials_complete"] else "send_back"
        missing = data.get("missing_materials") or []
        if isinstance(missing, str):
            missing = [m.strip() for m in missing.splitlines() if m.strip()]
        values.append(
            {
                "case_id": r.case_id,
                "task_id": r.id,
                "decision": str(decision or "done")[:16],
                "opinion": str(data.get("comment") or ""),
                "reason": None,
                "missing_items": [str(m) for m in missing] if isinstance(missing, list) else [],
                "decided_by": r.completed_by or "system",
                "department": codes.get(r.department_id),
                "decided_at": _utc(r.completed_at),
            }
        )
    if values:
        conn.execute(decisions_t.insert(), values)


def upgrade() -> None:
    conn = op.get_bind()
    # Plain ADD COLUMNs: SQLite must not rebuild service_items, which many tables reference.
    op.add_column(
        "service_items",
        sa.Column("is_permit", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("service_items", sa.Column("acceptance_task", sa.String(200), nullable=True))
    op.add_column(
        "service_items",
        sa.Column("legal_bases", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "service_items",
        sa.Column("review", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    _create_tables()
    _move_application_cases(conn)
    mapping, subjects = _move_feedback_cases(conn)

    # tasks: application_id -> case_id, then the feedback tasks join them
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalates_task_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=32), nullable=True))
        batch_op.alter_column("application_id", existing_type=sa.Integer(), nullable=True)
    conn.execute(
        sa.text(
            "UPDATE tasks SET case_id = "
            "(SELECT c.id FROM cases c WHERE c.application_id = tasks.application_id)"
        )
    )
    _move_feedback_tasks(conn, mapping)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tasks_application_id_engine_task_id", type_="unique")
        batch_op.drop_index("ix_tasks_application_id")
        batch_op.drop_constraint("fk_tasks_application_id_applications", type_="foreignkey")
        batch_op.drop_column("application_id")
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_tasks_case_id"), ["case_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_tasks_case_id_engine_task_id"), ["case_id", "engine_task_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_case_id_cases"), "cases", ["case_id"], ["id"], ondelete="RESTRICT"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_escalates_task_id_tasks"),
            "tasks",
            ["escalates_task_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    # events: every event carries its case and the case's kind
    _drop_event_triggers("events", "onewindow_events_append_only")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("case_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch_op.alter_column("application_id", existing_type=sa.Integer(), nullable=True)
    conn.execute(
        sa.text(
            "UPDATE events SET case_kind = 'application', case_id = "
            "(SELECT c.id FROM cases c WHERE c.application_id = events.application_id)"
        )
    )
    _move_feedback_events(conn, mapping)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("case_kind", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_index(batch_op.f("ix_events_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_case_kind"), ["case_kind"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_events_case_id_cases"), "cases", ["case_id"], ["id"], ondelete="RESTRICT"
        )
    _create_event_triggers()

    _create_decisions_and_documents()
    _decisions_from_tasks(conn)

    _drop_event_triggers("feedback_events", "onewindow_feedback_events_append_only")
    op.drop_table("feedback_events")
    op.drop_table("feedback_tasks")
    op.drop_table("feedback_cases")
    op.drop_table("case_states")
    _link_subjects(conn, subjects)


def downgrade() -> None:
    raise NotImplementedError(
        "0010 merges the feedback cases into the one case engine and cannot be undone; "
        "restore the backup taken before upgrading"
    )
