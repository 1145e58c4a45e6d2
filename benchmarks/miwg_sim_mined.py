"""The BPMN MIWG reference models through the simulator and mining's BPMN → Petri net.

    .venv/bin/python benchmarks/miwg_sim_mined.py [--folder tests/data/bpmn-miwg] [--cases 200]

Each file is marked executable in memory (its first process with flow nodes, when none is)
and given generic parameters made from the model itself: every lane with people's tasks
has 2 staff, every such task takes 30 minutes on average (exponential), every message
arrives after 2 hours on average, a multi-instance task or sub-process over a collection has
3 instances, gateways share their branches equally. *Simulated* is yes when every case
ends; *mined* is yes when the Petri net is built and the simulated log replays on it (its
fitness shown).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from onewindow.kit.errors import OneWindowError
from onewindow.mining.bpmn import bpmn_to_petri
from onewindow.mining.petri import replay_log
from onewindow.mining.report import traces
from onewindow.simulation.engine import simulate
from onewindow.simulation.model import ProcessModel, parse_model
from onewindow.simulation.params import parse_params

ROOT = Path(__file__).resolve().parents[1]
_PROCESS = re.compile(rb"<((?:\w+:)?process)\b([^>]*)>")


@dataclass(frozen=True)
class Row:
    file: str
    simulated: str
    mined: str


def mark_executable(xml: bytes) -> bytes:
    """The file with one process marked ``isExecutable="true"`` (as a modeller would)."""
    if b'isExecutable="true"' in xml:
        return xml
    for match in _PROCESS.finditer(xml):
        tag, attrs = match.group(1), match.group(2)
        if attrs.rstrip().endswith(b"/"):
            continue  # an empty process of a collaboration's black-box pool
        attrs = re.sub(rb'\s*isExecutable="[^"]*"', b"", attrs)
        replacement = b"<" + tag + attrs + b' isExecutable="true">'
        return xml[: match.start()] + replacement + xml[match.end() :]
    return xml


def generic_params(model: ProcessModel) -> dict[str, Any]:
    humans = [t for t in model.tasks if not t.automated]
    staffed = {t.lane for t in humans if t.lane}
    return {
        "calendar": "always",
        "arrivals": {"distribution": "exponential", "mean_minutes": 60},
        "resources": {lane: 2 for lane in sorted(staffed)},
        "applicant": {"lanes": []},
        "activities": {t.id: {"distribution": "exponential", "mean_minutes": 30} for t in humans},
        "messages": {
            n.id: {"distribution": "exponential", "mean_minutes": 120}
            for n in model.nodes.values()
            if n.kind == "catch"
        },
        "multi_instance": {
            **{
                t.id: {"instances": 3} for t in model.tasks if t.multi and t.multi.instances is None
            },
            **{
                scope: {"instances": 3}
                for scope, (_, multi) in model.multi_scopes.items()
                if multi.instances is None
            },
        },
    }


def _traces(frame: pl.DataFrame) -> list[list[str]]:
    # Arrival and end events are no task: the replay skips them as not in the model.
    return traces(frame, "complete")


def _first_line(exc: OneWindowError) -> str:
    return exc.message.replace("\n", " ")


def check_file(path: Path, cases: int = 200) -> Row:
    xml = mark_executable(path.read_bytes())
    traces: list[list[str]] | None = None
    try:
        model = parse_model(xml, source=path.name)
        params = parse_params(generic_params(model))
        run = simulate(model, params, cases=cases, seed=1, log_automated=True)
        if run.completed == run.cases:
            simulated = f"yes ({run.completed} cases, {run.events} events)"
            traces = _traces(run.frame())
        else:
            simulated = f"no ({run.cases - run.completed} of {run.cases} cases never end)"
    except OneWindowError as exc:
        simulated = f"no ({_first_line(exc)})"
    try:
        net = bpmn_to_petri(xml)
        visible = sum(1 for t in net.transitions if t.label)
        if traces:
            fitness = replay_log(net, traces).log_fitness
            mined = f"yes ({visible} tasks, fitness {fitness:.3f})"
        else:
            mined = f"yes ({visible} tasks, net only)"
    except OneWindowError as exc:
        mined = f"no ({_first_line(exc)})"
    return Row(path.name, simulated, mined)


def table(folder: Path, cases: int = 200) -> list[Row]:
    return [check_file(path, cases) for path in sorted(folder.glob("*.bpmn"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=ROOT / "tests" / "data" / "bpmn-miwg")
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    print("| file | simulated | mined |")
    print("|---|---|---|")
    for row in table(args.folder, args.cases):
        print(f"| {row.file} | {row.simulated} | {row.mined} |")


if __name__ == "__main__":
    main()
