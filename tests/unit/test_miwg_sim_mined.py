"""The BPMN MIWG reference models (tests/data/bpmn-miwg, CC BY 3.0) marked executable:
each simulates, or is refused in one line naming the element; each becomes a Petri net on
which the simulated log replays with fitness 1."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
MIWG = ROOT / "tests" / "data" / "bpmn-miwg"

REFUSED = {
    "C.6.0.bpmn": "timer _87baeef0-f32e-4a93-b802-fdd588aaf729: only a timeDuration (P5D) or "
    "a repeating timeCycle (R3/P1D) is simulated, not a timeDate",
    "C.9.0.bpmn": "Activity_ManualCheck: call activity to process 'ManualCheck', which is not "
    "in this file or the catalogue given",
}


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "miwg_sim_mined", ROOT / "benchmarks" / "miwg_sim_mined.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("miwg_sim_mined", module)
    spec.loader.exec_module(module)
    return module


def test_every_miwg_file_simulates_or_is_refused_clearly_and_mines() -> None:
    rows = _benchmark().table(MIWG, cases=60)
    assert len(rows) == 21
    for row in rows:
        if row.file in REFUSED:
            assert row.simulated.startswith("no (")
            assert REFUSED[row.file] in row.simulated
            assert "\n" not in row.simulated
            assert "<Element" not in row.simulated
            assert row.mined.startswith("yes (")
        else:
            assert row.simulated.startswith("yes (60 cases"), row
            assert row.mined.endswith("fitness 1.000)"), row


def test_a_process_not_marked_executable_is_marked_in_memory() -> None:
    module = _benchmark()
    xml = (MIWG / "A.4.1.bpmn").read_bytes()
    assert b'isExecutable="true"' not in xml
    marked = module.mark_executable(xml)
    assert marked.count(b'isExecutable="true"') == 1
