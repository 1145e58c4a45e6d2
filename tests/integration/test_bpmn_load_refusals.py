"""Bad input at load: a JUEL method call, a FEEL function the subset lacks, a multi-instance over
a variable that is not a list — each refused with the element id (and the expression quoted),
and nothing loaded. A JUEL condition the subset has loads, stored translated."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ProcessDefinition
from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Platform
from onewindow.workflow.engine import ProcessInvalid, validate_bpmn

DEMO_CITY = Path(__file__).parents[2] / "src" / "onewindow" / "demo" / "city"
FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures" / "constructs"
SEND_BACK = 'decision == "send_back"'


def _city_with(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(DEMO_CITY, folder)
    path = folder / "services" / "social_security_card.bpmn"
    text = path.read_text(encoding="utf-8")
    assert SEND_BACK in text
    path.write_text(edit(text), encoding="utf-8")
    return folder


def _stored_versions(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0)


@pytest.mark.parametrize(
    ("expression", "quoted", "why"),
    [
        pytest.param(
            "${decision.equals('send_back')}",
            "\"${decision.equals('send_back')}\"",
            "JUEL: method call equals() is not supported",
            id="juel-method-call",
        ),
        pytest.param(
            '= substring(decision, 1) = "end_back"',
            '"= substring(decision, 1) = "end_back""',
            "FEEL: function substring() is not supported",
            id="feel-function",
        ),
    ],
)
def test_a_catalogue_with_an_untranslatable_expression_loads_nothing(
    platform: Platform, tmp_path: Path, expression: str, quoted: str, why: str
) -> None:
    folder = _city_with(tmp_path, lambda text: text.replace(SEND_BACK, expression, 1))
    with pytest.raises(OneWindowError) as info:
        with platform.unit_of_work() as ctx:
            catalog.load_catalog(ctx, folder, actor="test")
    assert info.value.code == "catalog.invalid"
    problems = info.value.details["problems"]
    assert len(problems) == 1, problems
    assert problems[0]["element_id"].startswith("Flow")
    assert problems[0]["message"].startswith(f"condition {quoted}: {why}")
    with platform.unit_of_work() as ctx:
        assert catalog.list_services(ctx) == []
    assert _stored_versions(platform) == 0


def test_a_juel_condition_loads_and_is_stored_translated(
    platform: Platform, tmp_path: Path
) -> None:
    folder = _city_with(
        tmp_path, lambda text: text.replace(SEND_BACK, "${decision eq 'send_back'}")
    )
    with platform.unit_of_work() as ctx:
        catalog.load_catalog(ctx, folder, actor="test")
        service = catalog.get_service(ctx, "HRSS-001")
        compiled = catalog.compiled_process(ctx, service.process_definition_id)
    assert "${" not in compiled.spec_state
    assert "(decision == 'send_back')" in compiled.spec_state
    # Send-back is still recognised from the translated condition.
    assert any(t.can_send_back for t in compiled.user_tasks)


def _levels_set_to(value: str) -> bytes:
    xml = (FIXTURES / "sequential.bpmn").read_text(encoding="utf-8")
    xml = xml.replace(
        '<bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Task_level"/>',
        '<bpmn:scriptTask id="Script_levels" scriptFormat="python">'
        f"<bpmn:script>levels = {value}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Script_levels"/>'
        '<bpmn:sequenceFlow id="F1b" sourceRef="Script_levels" targetRef="Task_level"/>',
    )
    return xml.encode()


def test_a_multi_instance_over_a_non_list_is_refused_and_nothing_stored(
    city: Platform,
) -> None:
    bad = _levels_set_to("'科长'")
    problems = validate_bpmn(bad)
    assert [p.element_id for p in problems] == ["Task_level"]
    assert "multi-instance needs a list in 'levels', not text" in problems[0].message
    before = _stored_versions(city)
    with city.unit_of_work() as ctx, pytest.raises(ProcessInvalid) as info:
        catalog.register_process(ctx, bad, actor="test")
    assert [p["element_id"] for p in info.value.details["problems"]] == ["Task_level"]
    assert "needs a list in 'levels', not text" in info.value.details["problems"][0]["message"]
    with city.unit_of_work() as ctx:
        assert list(catalog.process_versions(ctx, "levels")) == []
    assert _stored_versions(city) == before

    good = _levels_set_to("['科长', '处长']")
    assert validate_bpmn(good) == []
    with city.unit_of_work() as ctx:
        assert catalog.register_process(ctx, good, actor="test").version == 1
