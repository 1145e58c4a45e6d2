"""Drill-down helpers of the analysis page on hand-made logs: the cases behind an edge or an
activity (slowest first), deviations per BPMN task, bottleneck sentences in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from onewindow.mining import explore
from onewindow.mining.bpmn import bpmn_to_petri, parse_bpmn
from onewindow.mining.prepared import prepare

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _log(traces: dict[str, list[tuple[str, float]]]) -> pl.DataFrame:
    rows = [
        {
            "case:concept:name": case,
            "concept:name": activity,
            "time:timestamp": T0 + timedelta(hours=hours),
        }
        for case, steps in traces.items()
        for activity, hours in steps
    ]
    return pl.DataFrame(rows)


def test_cases_of_an_edge_slowest_first_and_of_an_activity() -> None:
    prep = prepare(
        _log(
            {
                "c1": [("a", 0), ("b", 1), ("c", 2)],
                "c2": [("a", 0), ("b", 5), ("c", 6)],
                "c3": [("a", 0), ("c", 1)],
            }
        )
    )
    edge = explore.cases_of(prep, edge=("a", "b"))
    assert [r.case for r in edge] == ["c2", "c1"]
    assert edge[0].wait_s == 5 * 3600
    assert {r.case for r in explore.cases_of(prep, activity="c")} == {"c1", "c2", "c3"}
    assert explore.cases_of(prep, activity="nope") == []
    assert explore.cases_of(prep, edge=("c", "a")) == []


SEQUENCE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <userTask id="Task_accept" name="受理"/>
    <userTask id="Task_review" name="审核"/>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="Task_accept"/>
    <sequenceFlow id="f2" sourceRef="Task_accept" targetRef="Task_review"/>
    <sequenceFlow id="f3" sourceRef="Task_review" targetRef="e"/>
  </process>
</definitions>""".encode()


def test_deviations_land_on_the_task_reached_out_of_order() -> None:
    names = parse_bpmn(SEQUENCE).task_names
    net = bpmn_to_petri(SEQUENCE)
    prep = prepare(
        _log(
            {
                "ok": [("受理", 0), ("审核", 1)],
                "skip1": [("审核", 0)],
                "skip2": [("审核", 0), ("补录", 1)],
            }
        )
    )
    found = explore.deviations(prep, net, names)
    assert found.per_task == {"Task_review": 2}
    assert found.cases == 3
    assert sorted(case for case, _, _ in found.unfit) == ["skip1", "skip2"]
    where = dict((case, probs) for case, _, probs in found.unfit)
    assert where["skip1"] == ("审核",)
    assert where["skip2"] == ("审核", "补录")
    assert found.not_in_model == {"补录": 1}


def test_bottlenecks_in_both_languages() -> None:
    prep = prepare(_log({"c1": [("受理", 0), ("审核", 30)], "c2": [("受理", 0), ("审核", 2)]}))
    found = explore.bottleneck_sentences(prep, top=2)
    assert found
    assert "等待中位数" in found[0]["zh"]
    assert "(median)" in found[0]["en"]
