"""The process maps dot lays out never overlap their labels: on the demo log and on every
log in tests/data/eventlogs (the road-fines one included), at all activities and all paths,
in the frequency and the performance view. Checked on dot's own coordinates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.kit.platform import Platform
from onewindow.mining import dotmap
from onewindow.mining import service as mining
from onewindow.mining.importers import read_log
from onewindow.mining.maps import ProcessMap, process_map
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.skipif(
    dotmap.dot_path() is None,
    reason="Graphviz dot is not installed (make graphviz): the map layout cannot be checked",
)
LOGS = sorted(
    p for p in (TEST_DATA / "eventlogs").iterdir() if p.name.endswith((".xes", ".xes.gz", ".csv"))
)


def assert_no_overlaps(laid: dotmap.LaidOutMap, what: str) -> None:
    nodes = [n.box for n in laid.nodes]
    labels = [e.label_box for e in laid.edges if e.label_box is not None]
    assert len(labels) == len(laid.edges), f"{what}: every edge has its label placed"
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            assert not a.intersects(b), f"{what}: node boxes {a} and {b} intersect"
    for label in labels:
        for node in nodes:
            assert not label.intersects(node), f"{what}: edge label {label} covers node {node}"
    # every shape inside the drawing
    for box in nodes + labels:
        assert box.x >= 0
        assert box.y >= 0
        assert box.x + box.w <= laid.width + 0.5
        assert box.y + box.h <= laid.height + 0.5


def _check(pm: ProcessMap, what: str) -> None:
    for measure in ("cases", "p90"):
        laid = dotmap.lay_out(pm, activities=100, paths=100, measure=measure)
        sel = laid.selection
        assert sel is not None
        assert sel.hidden_activities == 0
        assert sel.hidden_edges == 0
        assert len(laid.edges) == sel.total_edges
        assert_no_overlaps(laid, f"{what} ({measure})")


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_file_logs_have_no_overlapping_labels(path: Path) -> None:
    log, _ = read_log(path)
    _check(process_map(log), path.name)


def test_demo_log_has_no_overlapping_labels(platform: Platform) -> None:
    seed_demo(
        platform,
        DemoOptions(weeks=2, seed=42, cases_per_day=8, start=date(2026, 3, 2)),
        console=Console(quiet=True),
    )
    with platform.unit_of_work() as ctx:
        log = mining.own_log(ctx)
    _check(process_map(log), "demo log")


def test_sliders_keep_the_map_connected() -> None:
    log, _ = read_log(TEST_DATA / "eventlogs" / "running-example.xes")
    pm = process_map(log)
    sel = dotmap.select(pm, activities=100, paths=0)
    keys = {n.key for n in sel.nodes}
    for node in keys - {dotmap.START, dotmap.END}:
        assert any(e.target == node for e in sel.edges), node
        assert any(e.source == node for e in sel.edges), node
    assert sel.hidden_edges > 0
    half = dotmap.select(pm, activities=50)
    shown = [n for n in half.nodes if n.key not in (dotmap.START, dotmap.END)]
    assert len(shown) == 4
    assert half.hidden_activities == len(pm.nodes) - 4
