"""Every kind of bad input gets a specific error code, and nothing already stored changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from onewindow.catalog import service as catalog
from onewindow.eventlog.models import Event
from onewindow.intake.models import Applicant, Application, Blob
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.db import DatabaseNotMigrated, make_engine
from onewindow.kit.errors import OneWindowError
from onewindow.kit.migrate import require_migrated
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from tests.conftest import DEMO_CITY

from .helpers import COMPANY, PERSON, complete, open_tasks, pdf, valid_form


def _counts(platform: Platform) -> tuple[int, int, int, int]:
    with platform.unit_of_work() as ctx:
        s = ctx.session
        return (
            s.scalar(select(func.count()).select_from(Application)) or 0,
            s.scalar(select(func.count()).select_from(Applicant)) or 0,
            s.scalar(select(func.count()).select_from(Blob)) or 0,
            s.scalar(select(func.count()).select_from(Event)) or 0,
        )


def _card_inputs(city: Platform) -> tuple[dict[str, Any], list[Upload]]:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "HRSS-001")
        form = valid_form(service)
        uploads = [
            Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials if m.required
        ]
    return form, uploads


def _submit(city: Platform, **overrides: Any) -> Any:
    form, uploads = _card_inputs(city)
    args: dict[str, Any] = {
        "service_code": "HRSS-001",
        "applicant": ApplicantIn("person", PERSON, "张三"),
        "channel": "window",
        "form": form,
        "uploads": uploads,
    }
    args.update(overrides)
    return city.run(
        lambda ctx: flows.submit_application(
            ctx,
            args["service_code"],
            args["applicant"],
            channel=args["channel"],
            form=args["form"],
            uploads=args["uploads"],
            actor="center_qian",
        )
    )


def _expect(city: Platform, code: str, **overrides: Any) -> OneWindowError:
    before = _counts(city)
    with pytest.raises(OneWindowError) as info:
        _submit(city, **overrides)
    assert info.value.code == code, info.value
    assert _counts(city) == before
    return info.value


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010519491231002Y", "applicant.invalid_citizen_id"),
        ("110105194912310021", "applicant.invalid_citizen_id"),  # wrong check digit
        ("1101051949123100", "applicant.invalid_citizen_id"),
        ("11010520990101002X", "applicant.invalid_citizen_id"),  # future birth date
    ],
)
def test_invalid_citizen_id(city: Platform, number: str, code: str) -> None:
    _expect(city, code, applicant=ApplicantIn("person", number, "张三"))


def test_invalid_credit_code(city: Platform) -> None:
    _expect(
        city,
        "applicant.invalid_credit_code",
        service_code="SAMR-001",
        applicant=ApplicantIn("business", "91350100M000100Y44", "某公司"),
    )


def test_unknown_service(city: Platform) -> None:
    _expect(city, "service.unknown", service_code="NOPE-999")


def test_wrong_applicant_kind(city: Platform) -> None:
    _expect(
        city,
        "application.applicant_kind_mismatch",
        applicant=ApplicantIn("business", COMPANY, "某公司"),
    )


def test_missing_materials_are_all_listed_at_once(city: Platform) -> None:
    err = _expect(city, "application.materials_missing", uploads=[])
    with city.unit_of_work() as ctx:
        required = {m.code for m in catalog.get_service(ctx, "HRSS-001").materials if m.required}
    assert {m["code"] for m in err.details["missing"]} == required
    assert len(required) >= 2


def test_file_over_the_limit(city: Platform) -> None:
    form, uploads = _card_inputs(city)
    big = Upload(
        uploads[0].material_code, "big.pdf", b"%PDF-" + b"0" * city.settings.max_upload_bytes
    )
    _expect(city, "material.too_large", uploads=[big, *uploads[1:]])
    assert not list(city.settings.blob_dir.rglob("*.pdf"))


@pytest.mark.parametrize(
    "content", [b"MZ\x90\x00 this is an exe", b"<html><script>alert(1)</script>", b""]
)
def test_forbidden_or_empty_file(city: Platform, content: bytes) -> None:
    _, uploads = _card_inputs(city)
    bad = Upload(uploads[0].material_code, "scan.pdf", content)
    code = "material.empty" if not content else "material.type_not_allowed"
    _expect(city, code, uploads=[bad, *uploads[1:]])
    assert not city.settings.blob_dir.exists() or not any(
        p.is_file() for p in city.settings.blob_dir.rglob("*")
    )


def test_material_the_service_does_not_ask_for(city: Platform) -> None:
    _, uploads = _card_inputs(city)
    _expect(
        city, "material.unknown_code", uploads=[*uploads, Upload("passport", "p.pdf", pdf("p"))]
    )


def test_bad_form_and_channel(city: Platform) -> None:
    _expect(city, "application.form_invalid", form={"no_such_field": 1})
    _expect(city, "application.invalid_channel", channel="carrier-pigeon")


def test_task_of_another_department_and_twice(city: Platform) -> None:
    sub = _submit(city)
    app_id = sub.application.id
    accept = open_tasks(city, app_id)["Task_window_accept"]
    before = _counts(city)
    with pytest.raises(OneWindowError) as info:
        complete(city, accept, "fire_deng")
    assert info.value.code == "task.wrong_department"
    assert _counts(city) == before
    with city.unit_of_work() as ctx:
        assert workflow.get_task(ctx, accept).status == "ready"
    complete(city, accept, "center_qian")
    after = _counts(city)
    with pytest.raises(OneWindowError) as info:
        complete(city, accept, "center_qian")
    assert info.value.code == "task.already_completed"
    assert _counts(city) == after


def test_applicant_task_is_not_for_staff_and_decision_is_checked(city: Platform) -> None:
    sub = _submit(city)
    app_id = sub.application.id
    accept = open_tasks(city, app_id)["Task_window_accept"]
    with pytest.raises(OneWindowError) as info:
        complete(city, accept, "center_qian", {"decision": "maybe", "materials_complete": True})
    assert info.value.code == "task.invalid_decision"
    with pytest.raises(OneWindowError) as info:
        city.run(
            lambda ctx: workflow.send_back(
                ctx, accept, [" "], actor=catalog.get_staff(ctx, "center_qian")
            )
        )
    assert info.value.code == "task.send_back_empty"
    with pytest.raises(OneWindowError) as info:
        complete(
            city, accept, "center_qian", {"decision": "send_back", "missing_materials": ["照片"]}
        )
    assert info.value.code == "decision.missing_item_unknown"  # items come from the list
    complete(
        city, accept, "center_qian", {"decision": "send_back", "missing_materials": ["id_card"]}
    )
    (task_id,) = open_tasks(city, app_id).values()
    with pytest.raises(OneWindowError) as info:
        complete(city, task_id, "center_qian")
    assert info.value.code == "task.for_applicant"
    with pytest.raises(OneWindowError) as info:
        city.run(lambda ctx: flows.supplement(ctx, "OW-NOPE", [], actor="applicant"))
    assert info.value.code == "application.unknown"


def test_staff_without_a_working_role_cannot_complete(city: Platform) -> None:
    sub = _submit(city)
    accept = open_tasks(city, sub.application.id)["Task_window_accept"]
    with pytest.raises(OneWindowError) as info:
        complete(city, accept, "center_zheng")  # the auditor
    assert info.value.code == "permission.role_required"


def _write_catalog(tmp_path: Path, bpmn_edit: Any) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(DEMO_CITY, folder)
    path = folder / "services" / "social_security_card.bpmn"
    path.write_text(bpmn_edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda x: x[: len(x) // 2], id="truncated-xml"),
        pytest.param(
            lambda x: x.replace('decision == "send_back"', "__import__('os').system('id')"),
            id="unsafe-condition",
        ),
        pytest.param(
            lambda x: (
                '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                + x.split("?>", 1)[1]
            ),
            id="external-entity",
        ),
    ],
)
def test_bad_bpmn_in_catalogue_loads_nothing(platform: Platform, tmp_path: Path, edit: Any) -> None:
    folder = _write_catalog(tmp_path, edit)
    with pytest.raises(OneWindowError) as info:
        with platform.unit_of_work() as ctx:
            catalog.load_catalog(ctx, folder, actor="test")
    assert info.value.code == "catalog.invalid"
    assert info.value.details["problems"]
    with platform.unit_of_work() as ctx:
        assert catalog.list_services(ctx) == []
        assert catalog.list_departments(ctx) == []


def test_unsafe_condition_is_named_by_element(platform: Platform, tmp_path: Path) -> None:
    folder = _write_catalog(
        tmp_path, lambda x: x.replace('decision == "send_back"', "().__class__.__bases__")
    )
    with pytest.raises(OneWindowError) as info:
        with platform.unit_of_work() as ctx:
            catalog.load_catalog(ctx, folder, actor="test")
    problems = info.value.details["problems"]
    assert any(p["element_id"] and p["element_id"].startswith("Flow") for p in problems), problems


def test_database_not_migrated(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseNotMigrated) as info:
        require_migrated(engine)
    assert info.value.code == "db.not_migrated"
    engine.dispose()


def test_event_log_rejects_rewrites_in_the_database(city: Platform) -> None:
    _submit(city)
    for statement in ("UPDATE events SET activity = 'forged'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with city.unit_of_work() as ctx:
                ctx.session.execute(text(statement))
    with city.unit_of_work() as ctx:
        assert ctx.session.scalar(select(func.count()).select_from(Event)) == 1
