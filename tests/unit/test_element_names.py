"""English names of BPMN elements: the ``name_en`` Camunda property, and the demo city's
processes give one to every task and event a page may show."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from onewindow.catalog.service import english_names

from ..conftest import DEMO_CITY

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SHOWN = ("Task", "Event", "callActivity", "subProcess")  # tasks of every kind, events


def test_the_name_en_property_of_an_element_is_its_english_name() -> None:
    xml = f"""<bpmn:definitions xmlns:bpmn="{BPMN[1:-1]}"
        xmlns:camunda="http://camunda.org/schema/1.0/bpmn"><bpmn:process id="p">
      <bpmn:userTask id="a" name="窗口受理"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="other" value="x"/>
        <camunda:property name="name_en" value=" Window
           acceptance "/></camunda:properties></bpmn:extensionElements></bpmn:userTask>
      <bpmn:userTask id="b" name="审核"/>
      <bpmn:endEvent id="c" name="办结"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="name_en" value=""/></camunda:properties></bpmn:extensionElements>
      </bpmn:endEvent></bpmn:process></bpmn:definitions>"""
    assert english_names(xml) == {"a": "Window acceptance"}


@pytest.mark.parametrize(
    "path", sorted(DEMO_CITY.glob("*/*.bpmn")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_task_and_event_of_the_demo_city_has_an_english_name(path: Path) -> None:
    xml = path.read_text(encoding="utf-8")
    named = {
        str(el.get("id"))
        for el in etree.fromstring(xml.encode()).iter(f"{BPMN}*")
        if el.get("name") and str(el.tag)[len(BPMN) :].endswith(SHOWN)
    }
    assert named
    assert named - set(english_names(xml)) == set()
