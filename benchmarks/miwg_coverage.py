"""What the engine makes of the OMG BPMN MIWG reference models (tests/data/bpmn-miwg).

    .venv/bin/python benchmarks/miwg_coverage.py

For each file and each of its pools (that pool alone marked executable): "run" when a case
ran to its end (user tasks completed, messages delivered, timers fired, stored and restored
after every step), else "refused" with validate's first problem (and how many more). The same
driver and expectations are tests/unit/test_miwg.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.test_miwg import MIWG, outcomes  # noqa: E402


def main() -> None:
    started = time.perf_counter()
    files = sorted(MIWG.glob("*.bpmn"))
    ran = refused = 0
    for path in files:
        results = outcomes(path)
        for result in results:
            ran += result.ran
            refused += not result.ran
            pool = f" [{result.process_id}]" if len(results) > 1 else ""
            verdict = "run" if result.ran else "refused"
            detail = result.summary.removeprefix("refused: ")
            print(f"{path.name}{pool}: {verdict} — {detail}")
    fully = sum(all(r.ran for r in outcomes(p)) for p in files)
    print(
        f"\n{len(files)} files, {ran + refused} pools: {ran} run to their end, {refused} refused; "
        f"{fully} files run in every pool ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
