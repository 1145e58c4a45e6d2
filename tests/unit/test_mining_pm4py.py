"""Our figures against pm4py (test-time reference only) on every real public log
(tests/data/eventlogs)."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from onewindow.mining.bpmn import bpmn_to_petri
from onewindow.mining.compare import mann_whitney_u
from onewindow.mining.importers import read_log
from onewindow.mining.maps import process_map, variants
from onewindow.mining.petri import PetriNet, replay_log
from tests.conftest import DEMO_CITY, TEST_DATA

LOGS = TEST_DATA / "eventlogs"
FILES = [
    "running-example.xes",
    "road_traffic_fines_100_traces.xes",
    "wabo_receipt.xes.gz",
    "wabo_receipt.csv",
    "bpic2020_permits_1_trace_per_variant.xes.gz",
]


@pytest.fixture(scope="module")
def pm4py() -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # licence banner
        import pm4py as module
    return module


def _close(a: float | None, b: float) -> bool:
    if a is None or (isinstance(b, float) and math.isnan(b)):
        return a is None and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(abs(b), 1e-12)


@pytest.mark.parametrize("name", FILES)
def test_maps_and_variants_match_pm4py(pm4py: Any, name: str) -> None:
    frame, _ = read_log(LOGS / name)
    ours = process_map(frame, lifecycle=None)
    df = frame.to_pandas()
    dfg, starts, ends = pm4py.discover_dfg(df)
    perf, _, _ = pm4py.discover_performance_dfg(df)
    assert ours.edge_counts() == {k: int(v) for k, v in dfg.items()}
    assert ours.start_counts() == starts
    assert ours.end_counts() == ends
    for metric in ("mean", "median", "min", "max", "sum", "stdev"):
        mine = ours.edge_metric(metric)
        key = metric
        assert all(_close(mine[edge], values[key]) for edge, values in perf.items()), metric
    theirs = pm4py.get_variants(df)
    assert {v.activities: v.cases for v in variants(frame, lifecycle=None)} == {
        k: (len(v) if isinstance(v, list) else v) for k, v in theirs.items()
    }


@pytest.mark.parametrize("name", ["running-example.xes", "wabo_receipt.xes.gz"])
def test_same_counts_as_pm4py_own_reader(pm4py: Any, name: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        df = pm4py.read_xes(str(LOGS / name), show_progress_bar=False)
    dfg, _, _ = pm4py.discover_dfg(df)
    frame, _ = read_log(LOGS / name)
    assert process_map(frame, lifecycle=None).edge_counts() == {k: int(v) for k, v in dfg.items()}


# ------------------------------------------------------------------ token replay


def _to_pm4py(net: PetriNet) -> Any:
    from pm4py.objects.petri_net.obj import Marking
    from pm4py.objects.petri_net.obj import PetriNet as PN
    from pm4py.objects.petri_net.utils import petri_utils

    pn = PN("net")
    places = {p: PN.Place(p) for p in net.places}
    for place in places.values():
        pn.places.add(place)
    for t in net.transitions:
        tr = PN.Transition(t.name, t.label)
        pn.transitions.add(tr)
        for p, w in t.inputs.items():
            petri_utils.add_arc_from_to(places[p], tr, pn, w)
        for p, w in t.outputs.items():
            petri_utils.add_arc_from_to(tr, places[p], pn, w)
    im = Marking({places[p]: n for p, n in net.initial.items()})
    fm = Marking({places[p]: n for p, n in net.final.items()})
    return pn, im, fm


def _from_pm4py(pn: Any, im: Any, fm: Any) -> PetriNet:
    net = PetriNet()
    for p in pn.places:
        net.add_place(p.name)
    for t in pn.transitions:
        net.add_transition(
            t.name, t.label, [a.source.name for a in t.in_arcs], [a.target.name for a in t.out_arcs]
        )
    net.initial = {p.name: n for p, n in im.items()}
    net.final = {p.name: n for p, n in fm.items()}
    return net


def _event_log(traces: list[list[str]]) -> Any:
    from pm4py.objects.log.obj import Event, EventLog, Trace

    log = EventLog()
    for i, activities in enumerate(traces):
        trace = Trace()
        trace.attributes["concept:name"] = str(i)
        for a in activities:
            trace.append(Event({"concept:name": a}))
        log.append(trace)
    return log


def _same_fitness(pm4py: Any, net: PetriNet, traces: list[list[str]]) -> None:
    ours = replay_log(net, traces)
    pn, im, fm = _to_pm4py(net)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = pm4py.fitness_token_based_replay(_event_log(traces), pn, im, fm)
    assert abs(ours.log_fitness - theirs["log_fitness"]) < 1e-12
    assert abs(ours.average_trace_fitness - theirs["average_trace_fitness"]) < 1e-12
    assert ours.percentage_of_fitting_traces == pytest.approx(
        theirs["percentage_of_fitting_traces"], abs=1e-12
    )


def test_replay_on_our_bpmn_matches_pm4py(pm4py: Any) -> None:
    net = bpmn_to_petri((DEMO_CITY / "services" / "business_licence.bpmn").read_bytes())
    happy = ["窗口受理", "营业执照核准", "公章刻制备案", "税务登记", "社保登记", "窗口出件"]
    traces = [
        happy,
        ["提交申请", *happy, "办结"],  # events outside the model are skipped
        ["窗口受理", "补正受理材料", "窗口受理", *happy[1:]],
        ["窗口受理", "营业执照核准", "税务登记", "窗口出件"],  # skipped branches
        ["营业执照核准", "窗口受理", "窗口出件", "窗口出件"],  # wrong order, repeated
        ["窗口受理"],
    ]
    labels = net.labels
    assert set(happy) <= labels
    _same_fitness(pm4py, net, traces)


@pytest.mark.parametrize(
    "name", ["running-example.xes", "road_traffic_fines_100_traces.xes", "wabo_receipt.xes.gz"]
)
def test_replay_on_discovered_nets_matches_pm4py(pm4py: Any, name: str) -> None:
    from onewindow.mining.report import traces as traces_of

    frame, _ = read_log(LOGS / name)
    df = frame.to_pandas()
    with contextlib.redirect_stdout(io.StringIO()):
        pn, im, fm = pm4py.discover_petri_net_inductive(df, noise_threshold=0.2)
    _same_fitness(pm4py, _from_pm4py(pn, im, fm), traces_of(frame, None))


def test_mann_whitney_matches_scipy() -> None:
    from scipy.stats import mannwhitneyu

    cases: list[tuple[list[float], list[float]]] = [
        ([1.0, 4.0, 2.5, 7.0], [3.0, 5.5, 6.0, 8.0, 9.5]),  # exact
        ([1, 2, 2, 3, 5, 8, 8, 9, 10], [2, 4, 4, 6, 7, 11, 12, 12, 15, 3]),  # ties
        ([float(x % 17) for x in range(60)], [float(x % 13) + 1.5 for x in range(45)]),
    ]
    for x, y in cases:
        u, p = mann_whitney_u(x, y)
        ref = mannwhitneyu(x, y)
        assert u == pytest.approx(float(ref.statistic))
        assert p == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_lifecycle_default_keeps_complete_events() -> None:
    frame = pl.DataFrame(
        {
            "case:concept:name": ["a"] * 4,
            "concept:name": ["X", "X", "Y", "Y"],
            "lifecycle:transition": ["start", "complete", "start", "complete"],
            "time:timestamp": pl.datetime_range(
                pl.datetime(2026, 1, 1, time_zone="UTC"),
                pl.datetime(2026, 1, 1, 3, time_zone="UTC"),
                "1h",
                eager=True,
            ),
        }
    )
    assert process_map(frame).edge_counts() == {("X", "Y"): 1}
    assert len(process_map(frame, lifecycle=None).edge_counts()) == 3


def test_bpmn_net_shape(tmp_path: Path) -> None:
    net = bpmn_to_petri((DEMO_CITY / "services" / "construction_permit.bpmn").read_bytes())
    assert net.initial == {"p:source": 1}
    assert net.final == {"p:sink": 1}
    # every task is one visible transition
    assert sum(1 for t in net.transitions if t.label) == len(net.labels)
