"""feedback: visits, invitations, ratings (好差评), feedback cases and tasks on the BPMN engine,
tickets (12345), the append-only feedback event log, surveys, the improvement board

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onewindow.kit.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_APPEND_ONLY = "feedback_events"


def upgrade() -> None:
    op.create_table(
        "feedback_classifier_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trained_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("from_tickets", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("macro_f1", sa.Float(), nullable=True),
        sa.Column("trained_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_classifier_versions")),
    )
    op.create_table(
        "feedback_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("invitees", sa.JSON(), nullable=False),
        sa.Column("opens_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_early_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_surveys")),
        sa.UniqueConstraint("code", name=op.f("uq_feedback_surveys_code")),
    )
    op.create_table(
        "feedback_survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("respondent_key", sa.String(length=64), nullable=True),
        sa.Column("respondent_phone", sa.String(length=32), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("submitted_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["feedback_surveys.id"],
            name=op.f("fk_feedback_survey_responses_survey_id_feedback_surveys"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_survey_responses")),
        sa.UniqueConstraint(
            "survey_id",
            "respondent_key",
            name=op.f("uq_feedback_survey_responses_survey_id_respondent_key"),
        ),
    )
    op.create_index(
        op.f("ix_feedback_survey_responses_survey_id"),
        "feedback_survey_responses",
        ["survey_id"],
        unique=False,
    )
    op.create_table(
        "feedback_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalised", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("category_source", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(length=32), nullable=True),
        sa.Column("street", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handle_due", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("source_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_tickets_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["feedback_tickets.id"],
            name=op.f("fk_feedback_tickets_duplicate_of_id_feedback_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_feedback_tickets_number")),
        sa.UniqueConstraint(
            "source", "source_ref", name=op.f("uq_feedback_tickets_source_source_ref")
        ),
    )
    op.create_index(
        op.f("ix_feedback_tickets_category"), "feedback_tickets", ["category"], unique=False
    )
    op.create_index(
        op.f("ix_feedback_tickets_contact_phone"),
        "feedback_tickets",
        ["contact_phone"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_tickets_created_at"), "feedback_tickets", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_feedback_tickets_department_id"),
        "feedback_tickets",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        "ix_feedback_tickets_place_time",
        "feedback_tickets",
        ["district", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_tickets_status"), "feedback_tickets", ["status"], unique=False
    )
    op.create_table(
        "feedback_improvements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("service_item_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("live_since", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("effect", sa.JSON(), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_improvements_owner_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["service_items.id"],
            name=op.f("fk_feedback_improvements_service_item_id_service_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_improvements")),
        sa.UniqueConstraint("code", name=op.f("uq_feedback_improvements_code")),
    )
    op.create_table(
        "feedback_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("service_item_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("staff_username", sa.String(length=64), nullable=False),
        sa.Column("visitor_phone", sa.String(length=32), nullable=True),
        sa.Column("visitor_name", sa.String(length=100), nullable=True),
        sa.Column("started_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_visits_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["service_items.id"],
            name=op.f("fk_feedback_visits_service_item_id_service_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_visits")),
        sa.UniqueConstraint("number", name=op.f("uq_feedback_visits_number")),
    )
    op.create_table(
        "feedback_improvement_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["feedback_improvements.id"],
            name=op.f("fk_feedback_improvement_sources_item_id_feedback_improvements"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_improvement_sources")),
        sa.UniqueConstraint(
            "item_id",
            "source_kind",
            "source_id",
            name=op.f("uq_feedback_improvement_sources_item_id_source_kind_source_id"),
        ),
    )
    op.create_index(
        op.f("ix_feedback_improvement_sources_item_id"),
        "feedback_improvement_sources",
        ["item_id"],
        unique=False,
    )
    op.create_table(
        "feedback_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_feedback_invitations_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["feedback_visits.id"],
            name=op.f("fk_feedback_invitations_visit_id_feedback_visits"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_invitations")),
        sa.UniqueConstraint("application_id", name=op.f("uq_feedback_invitations_application_id")),
        sa.UniqueConstraint("token", name=op.f("uq_feedback_invitations_token")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_feedback_invitations_visit_id")),
    )
    op.create_table(
        "feedback_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("service_item_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("window", sa.String(length=32), nullable=True),
        sa.Column("staff_username", sa.String(length=64), nullable=True),
        sa.Column("rater_phone", sa.String(length=32), nullable=True),
        sa.Column("real_name", sa.Boolean(), nullable=False),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("excluded_reason", sa.String(length=16), nullable=True),
        sa.Column("rectified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_feedback_ratings_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_ratings_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["service_items.id"],
            name=op.f("fk_feedback_ratings_service_item_id_service_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["feedback_visits.id"],
            name=op.f("fk_feedback_ratings_visit_id_feedback_visits"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_ratings")),
        sa.UniqueConstraint("application_id", name=op.f("uq_feedback_ratings_application_id")),
        sa.UniqueConstraint("number", name=op.f("uq_feedback_ratings_number")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_feedback_ratings_visit_id")),
    )
    op.create_index(
        op.f("ix_feedback_ratings_created_at"), "feedback_ratings", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_feedback_ratings_department_id"),
        "feedback_ratings",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_ratings_service_item_id"),
        "feedback_ratings",
        ["service_item_id"],
        unique=False,
    )
    op.create_table(
        "feedback_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("process_definition_id", sa.Integer(), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("started_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_timer_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_cases_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["process_definitions.id"],
            name=op.f("fk_feedback_cases_process_definition_id_process_definitions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rating_id"],
            ["feedback_ratings.id"],
            name=op.f("fk_feedback_cases_rating_id_feedback_ratings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["feedback_tickets.id"],
            name=op.f("fk_feedback_cases_ticket_id_feedback_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_feedback_cases_number")),
        sa.UniqueConstraint("rating_id", name=op.f("uq_feedback_cases_rating_id")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_feedback_cases_ticket_id")),
    )
    op.create_index(
        op.f("ix_feedback_cases_completed"), "feedback_cases", ["completed"], unique=False
    )
    op.create_index(op.f("ix_feedback_cases_kind"), "feedback_cases", ["kind"], unique=False)
    op.create_index(
        op.f("ix_feedback_cases_next_timer_at"), "feedback_cases", ["next_timer_at"], unique=False
    )
    op.create_table(
        "feedback_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("activity_id", sa.String(length=200), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("timestamp", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["feedback_cases.id"],
            name=op.f("fk_feedback_events_case_id_feedback_cases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_events")),
    )
    op.create_index(
        op.f("ix_feedback_events_case_id"), "feedback_events", ["case_id"], unique=False
    )
    op.create_index(
        "ix_feedback_events_case_time",
        "feedback_events",
        ["case_number", "timestamp", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_feedback_events_timestamp"), "feedback_events", ["timestamp"], unique=False
    )
    op.create_table(
        "feedback_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("engine_task_id", sa.String(length=64), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lane", sa.String(length=200), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("for_citizen", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_due", onewindow.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("form_fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["feedback_cases.id"],
            name=op.f("fk_feedback_tasks_case_id_feedback_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_feedback_tasks_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_tasks")),
        sa.UniqueConstraint(
            "case_id", "engine_task_id", name=op.f("uq_feedback_tasks_case_id_engine_task_id")
        ),
    )
    op.create_index(op.f("ix_feedback_tasks_case_id"), "feedback_tasks", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_feedback_tasks_department_id"), "feedback_tasks", ["department_id"], unique=False
    )
    op.create_index(op.f("ix_feedback_tasks_sla_due"), "feedback_tasks", ["sla_due"], unique=False)
    op.create_index(op.f("ix_feedback_tasks_status"), "feedback_tasks", ["status"], unique=False)
    # The feedback event log is append-only, as the process event log is.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_APPEND_ONLY}_no_{verb.lower()} BEFORE {verb} ON {_APPEND_ONLY} "
                "BEGIN SELECT RAISE(ABORT, 'feedback_events is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION onewindow_feedback_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'feedback_events is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {_APPEND_ONLY}_append_only BEFORE UPDATE OR DELETE ON {_APPEND_ONLY} "
            "FOR EACH ROW EXECUTE FUNCTION onewindow_feedback_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_APPEND_ONLY}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {_APPEND_ONLY}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_APPEND_ONLY}_append_only ON {_APPEND_ONLY}")
        op.execute("DROP FUNCTION IF EXISTS onewindow_feedback_events_append_only()")
    op.drop_index(op.f("ix_feedback_tasks_status"), table_name="feedback_tasks")
    op.drop_index(op.f("ix_feedback_tasks_sla_due"), table_name="feedback_tasks")
    op.drop_index(op.f("ix_feedback_tasks_department_id"), table_name="feedback_tasks")
    op.drop_index(op.f("ix_feedback_tasks_case_id"), table_name="feedback_tasks")
    op.drop_table("feedback_tasks")
    op.drop_index(op.f("ix_feedback_events_timestamp"), table_name="feedback_events")
    op.drop_index("ix_feedback_events_case_time", table_name="feedback_events")
    op.drop_index(op.f("ix_feedback_events_case_id"), table_name="feedback_events")
    op.drop_table("feedback_events")
    op.drop_index(op.f("ix_feedback_cases_next_timer_at"), table_name="feedback_cases")
    op.drop_index(op.f("ix_feedback_cases_kind"), table_name="feedback_cases")
    op.drop_index(op.f("ix_feedback_cases_completed"), table_name="feedback_cases")
    op.drop_table("feedback_cases")
    op.drop_index(op.f("ix_feedback_ratings_service_item_id"), table_name="feedback_ratings")
    op.drop_index(op.f("ix_feedback_ratings_department_id"), table_name="feedback_ratings")
    op.drop_index(op.f("ix_feedback_ratings_created_at"), table_name="feedback_ratings")
    op.drop_table("feedback_ratings")
    op.drop_table("feedback_invitations")
    op.drop_index(
        op.f("ix_feedback_improvement_sources_item_id"), table_name="feedback_improvement_sources"
    )
    op.drop_table("feedback_improvement_sources")
    op.drop_table("feedback_visits")
    op.drop_table("feedback_improvements")
    op.drop_index(op.f("ix_feedback_tickets_status"), table_name="feedback_tickets")
    op.drop_index("ix_feedback_tickets_place_time", table_name="feedback_tickets")
    op.drop_index(op.f("ix_feedback_tickets_department_id"), table_name="feedback_tickets")
    op.drop_index(op.f("ix_feedback_tickets_created_at"), table_name="feedback_tickets")
    op.drop_index(op.f("ix_feedback_tickets_contact_phone"), table_name="feedback_tickets")
    op.drop_index(op.f("ix_feedback_tickets_category"), table_name="feedback_tickets")
    op.drop_table("feedback_tickets")
    op.drop_index(
        op.f("ix_feedback_survey_responses_survey_id"), table_name="feedback_survey_responses"
    )
    op.drop_table("feedback_survey_responses")
    op.drop_table("feedback_surveys")
    op.drop_table("feedback_classifier_versions")
