"""Migration 0010 moves every running case into the one case engine without loss.

A database is migrated to 0009 and seeded the way the platform wrote it then: an application
case (``case_states`` + its tasks and events, one task completed with an opinion) and a
complaint running on the feedback module's own tables (``feedback_cases`` / ``feedback_tasks``
/ ``feedback_events``), with real engine states. After ``upgrade`` to head the rows are in
``cases`` / ``tasks`` / ``events``, the opinion is a decision, and both cases go on running
through today's services.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from onewindow.feedback import repository as feedback_repo
from onewindow.feedback import service as feedback
from onewindow.intake.models import Applicant, Application
from onewindow.kit.clock import ManualClock
from onewindow.kit.db import make_engine
from onewindow.kit.migrate import current_revision, head_revision, upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.workflow import service as workflow
from onewindow.workflow.engine import EngineCase, compile_bpmn
from tests.conftest import DEMO_CITY, PG_URL, START, _with_schema

from .helpers import COMPANY

PHONE = "13800138000"


@pytest.fixture
def old_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the shared template is already at head)."""
    if PG_URL:
        schema = f"ow_mig_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield _with_schema(PG_URL, schema)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def _process(conn: sa.Connection, table: sa.Table, xml: bytes) -> tuple[int, Any]:
    compiled = compile_bpmn(xml)
    row = conn.execute(
        table.insert()
        .values(
            process_key=compiled.process_id,
            version=1,
            name=compiled.name,
            sha256=hashlib.sha256(xml).hexdigest(),
            bpmn_xml=xml.decode(),
            dmn_xml=[],
            compiled=compiled.to_json(),
            user_tasks=[{"task_id": t.task_id, "lane": t.lane} for t in compiled.user_tasks],
            created_at=START,
        )
        .returning(table.c.id)
    ).scalar_one()
    return row, compiled


def _seed_0009(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine, "0009")
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    out: dict[str, Any] = {}
    with engine.begin() as conn:

        def ins(table: str, **values: Any) -> int:
            return int(conn.execute(t[table].insert().values(**values)).inserted_primary_key[0])

        center = ins("departments", code="CENTER", name_zh="政务服务中心", name_en="Centre")
        samr = ins("departments", code="SAMR", name_zh="市场监管局", name_en="SAMR")
        for code in ("TAX", "HRSS", "PSB"):
            ins("departments", code=code, name_zh=code, name_en=code)
        licence_xml = (DEMO_CITY / "services" / "business_licence.bpmn").read_bytes()
        # the demo city's process as it was before 0010 (its acceptance step had a boolean)
        licence_xml = licence_xml.replace(
            b'decision == "send_back"', b"materials_complete == False"
        )
        licence_id, licence = _process(conn, t["process_definitions"], licence_xml)
        complaint_id, complaint = _process(
            conn, t["process_definitions"], feedback.process_xml("complaint")
        )
        service = ins(
            "service_items",
            code="SAMR-001",
            name_zh="企业开办",
            name_en="Business start-up",
            applicant_kind="business",
            time_limit_days=3,
            fee=0,
            process_definition_id=licence_id,
            lanes={"申请人": "APPLICANT", "窗口": "CENTER", "市场监管": "SAMR", "税务": "TAX",
                   "人社": "HRSS", "公安": "PSB"},
            task_sla_days={"Task_window_accept": 1},
            in_person_activities=[],
            form_fields=[],
            active=True,
        )  # fmt: skip
    with Session(engine) as session:
        applicant = Applicant(kind="business", name="闽江贸易有限公司", created_at=START)
        applicant.id_number = COMPANY
        applicant.phone = PHONE
        session.add(applicant)
        session.commit()
        applicant_id = applicant.id
    with engine.begin() as conn:

        def ins2(table: str, **values: Any) -> int:
            return int(conn.execute(t[table].insert().values(**values)).inserted_primary_key[0])

        app = ins2(
            "applications",
            number="OW2026030200000001",
            service_item_id=service,
            process_definition_id=licence_id,
            applicant_id=applicant_id,
            channel="window",
            form_data={"legal_rep_mobile": PHONE, "company_name": "福州闽江科技有限公司"},
            status="in_progress",
            submitted_at=START,
            deadline=START.date() + timedelta(days=3),
            returns=0,
        )
        engine_case = EngineCase.start(licence, {"case_number": "OW2026030200000001"}, START)
        (accept,) = engine_case.ready_user_tasks()
        accept_row = ins2(
            "tasks",
            application_id=app,
            engine_task_id=accept.task_uuid,
            element_id=accept.task_id,
            name=accept.name,
            lane=accept.lane,
            department_id=center,
            for_applicant=False,
            status="completed",
            completed_by="center_qian",
            created_at=START,
            completed_at=START + timedelta(minutes=20),
            sla_due=START + timedelta(days=1),
            escalated=False,
            data={"materials_complete": True, "comment": "材料齐全，予以受理"},
            can_send_back=True,
            form_fields=[],
        )
        engine_case.complete(
            accept.task_uuid,
            {"materials_complete": True, "decision": "approve"},
            START + timedelta(minutes=20),
        )
        (review,) = engine_case.ready_user_tasks()
        ins2(
            "tasks",
            application_id=app,
            engine_task_id=review.task_uuid,
            element_id=review.task_id,
            name=review.name,
            lane=review.lane,
            department_id=samr,
            for_applicant=False,
            status="ready",
            created_at=START + timedelta(minutes=20),
            sla_due=START + timedelta(days=1),
            escalated=False,
            data={},
            can_send_back=True,
            form_fields=[{"id": "decision", "type": "enum", "required": True,
                          "options": ["approve", "reject", "send_back"]}],
        )  # fmt: skip
        ins2(
            "case_states",
            application_id=app,
            process_definition_id=licence_id,
            state=engine_case.dump(),
            completed=False,
            version=2,
        )
        for i, (activity, element) in enumerate((("提交申请", None), ("窗口受理", accept.task_id))):
            ins2(
                "events",
                application_id=app,
                case_number="OW2026030200000001",
                event_type="application_submitted" if i == 0 else "task_completed",
                activity=activity,
                activity_id=element,
                lifecycle="complete",
                timestamp=START + timedelta(minutes=20 * i),
                resource="center_qian",
                department="CENTER",
                channel="window",
                service_code="SAMR-001",
                attributes={},
            )
        # a complaint on the feedback module's own tables, waiting at SAMR
        ticket = ins2(
            "feedback_tickets",
            number="T20260302AAAA0001",
            kind="complaint",
            channel="hotline",
            text="某公司无照经营，请查处",
            normalised="某公司无照经营，请查处",
            category="market",
            confidence=0.9,
            category_source="model",
            department_id=samr,
            contact_phone=PHONE,
            status="pending_at_department",
            reopened=0,
            escalations=0,
            created_at=START,
            created_by="center_qian",
        )
        due = (START + timedelta(days=7)).isoformat()
        fb = EngineCase.start(
            complaint,
            {
                "accepted": True,
                "auto_dispatch": True,
                "category": "market",
                "confidence": 0.9,
                "channel": "hotline",
                "handle_due": due,
                "rate_due": due,
                "appeal_due": due,
                "case_number": "GD20260302AAAA0001",
            },
            START,
        )
        (handle,) = fb.ready_user_tasks()
        fb_case = ins2(
            "feedback_cases",
            number="GD20260302AAAA0001",
            kind="complaint",
            process_definition_id=complaint_id,
            ticket_id=ticket,
            department_id=samr,
            state=fb.dump(),
            completed=False,
            started_at=START,
            next_timer_at=fb.next_timer_due(),
            version=1,
        )
        ins2(
            "feedback_tasks",
            case_id=fb_case,
            engine_task_id=handle.task_uuid,
            element_id=handle.task_id,
            name=handle.name,
            lane=handle.lane,
            department_id=samr,
            for_citizen=False,
            status="ready",
            created_at=START,
            sla_due=START + timedelta(days=7),
            escalated=False,
            data={},
            form_fields=[{"id": "decision", "type": "enum", "required": True,
                          "options": ["resolve", "reject", "transfer"]},
                         {"id": "reply", "type": "string", "required": False, "options": []}],
        )  # fmt: skip
        ins2(
            "feedback_events",
            case_id=fb_case,
            case_number="GD20260302AAAA0001",
            kind="complaint",
            event_type="case_started",
            activity="立案",
            lifecycle="complete",
            timestamp=START,
            resource="system",
            attributes={},
        )
        out.update(app=app, ticket=ticket, accept_task=accept_row, samr=samr)
    engine.dispose()
    return out


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one())
            for name in ("cases", "tasks", "events", "decisions")
        }
    engine.dispose()
    return counts


def test_feedback_and_application_cases_move_into_the_one_engine(
    old_url: str, tmp_path: Path
) -> None:
    seeded = _seed_0009(old_url)
    engine = make_engine(old_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert not names & {"feedback_cases", "feedback_tasks", "feedback_events", "case_states"}
    with engine.connect() as conn:
        cases = conn.execute(
            sa.text("SELECT number, kind, application_id, subject_department_id FROM cases")
        ).all()
        assert sorted((c.number, c.kind) for c in cases) == [
            ("GD20260302AAAA0001", "complaint"),
            ("OW2026030200000001", "application"),
        ]
        events = conn.execute(sa.text("SELECT case_kind, activity FROM events ORDER BY id")).all()
        assert [(e.case_kind, e.activity) for e in events] == [
            ("application", "提交申请"),
            ("application", "窗口受理"),
            ("complaint", "立案"),
        ]
        ticket_case = conn.execute(
            sa.text("SELECT case_id FROM feedback_tickets WHERE id = :i"), {"i": seeded["ticket"]}
        ).scalar_one()
        assert ticket_case is not None
        opinion = conn.execute(
            sa.text("SELECT decision, opinion FROM decisions WHERE task_id = :t"),
            {"t": seeded["accept_task"]},
        ).one()
        assert tuple(opinion) == ("accept", "材料齐全，予以受理")
        # 0015: personal data once stored plain is encrypted at rest
        phone, phone_index = conn.execute(
            sa.text("SELECT contact_phone, contact_phone_bidx FROM feedback_tickets")
        ).one()
        assert PHONE not in phone
        assert phone_index
        form = conn.execute(sa.text("SELECT form_data FROM applications")).scalar_one()
        assert PHONE not in str(form)
        plain = json.loads(form) if isinstance(form, str) else form
        assert plain["company_name"] == "福州闽江科技有限公司"  # the rest stays plain JSON
    engine.dispose()
    before = _counts(old_url)
    upgrade(make_engine(old_url))  # a second run is a no-op
    assert _counts(old_url) == before

    # both cases go on running through today's services
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=old_url)
    platform = Platform.create(settings, clock=ManualClock(START + timedelta(hours=2)))
    try:
        with platform.unit_of_work() as ctx:
            from onewindow.catalog import service as catalog

            catalog.load_catalog(ctx, DEMO_CITY, actor="test")
        with platform.unit_of_work() as ctx:
            case = workflow.case_by_number(ctx, "GD20260302AAAA0001")
            (handle,) = workflow.open_tasks(ctx, case.id)
            assert handle.element_id == "Task_handle"
            assert handle.department_id == seeded["samr"]
            samr = catalog.get_staff(ctx, "samr_wang")
            workflow.complete_task(
                ctx, handle.id, {"decision": "resolve", "reply": "已责令停业整改"}, actor=samr
            )
        with platform.unit_of_work() as ctx:
            ticket = feedback.get_ticket(ctx, "T20260302AAAA0001")
            assert ticket.status == "pending_closure"
            assert ticket.contact_phone == PHONE
            assert [t.number for t in feedback_repo.tickets(ctx.session, contact_phone=PHONE)] == [
                "T20260302AAAA0001"
            ]
            assert ticket.reply == "已责令停业整改"
            app_case = workflow.application_case(ctx, seeded["app"])
            application = ctx.session.get(Application, seeded["app"])
            assert application is not None
            assert application.form_data["legal_rep_mobile"] == PHONE
            (review,) = workflow.open_tasks(ctx, app_case.id)
            workflow.complete_task(ctx, review.id, {"decision": "approve"}, actor=samr)
            assert {t.element_id for t in workflow.open_tasks(ctx, app_case.id)} == {
                "Task_tax_register",
                "Task_hrss_register",
                "Task_psb_seal",
            }
    finally:
        platform.dispose()
