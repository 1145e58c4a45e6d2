"""Simulated events per second, and 100,000 cases of the business-licence bundle x 10 runs.

    .venv/bin/python benchmarks/simulation.py [--cases 100000] [--replications 10] [--workers 2]

Events are the event-log rows a run produces (arrival, start/complete per task, returns,
case end), counted whether or not the log is kept. The first figure times one run that
keeps its log (and builds the polars frame); the second times the replications with KPIs
only, as ``onewindow simulate --replications`` runs them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from onewindow.simulation.engine import replicate, simulate
from onewindow.simulation.model import parse_model
from onewindow.simulation.params import load_params

SRC = Path(__file__).resolve().parents[1] / "src" / "onewindow"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    model = parse_model((SRC / "demo" / "city" / "services" / "business_licence.bpmn").read_bytes())
    params = load_params(SRC / "simulation" / "examples" / "business_licence.yaml")

    began = time.perf_counter()
    run = simulate(model, params, cases=args.cases, seed=1)
    frame = run.frame()
    with_log = time.perf_counter() - began
    print(
        f"one run with its event log: {args.cases:,} cases, {run.events:,} events in "
        f"{with_log:.2f} s (simulation {run.seconds:.2f} s) -> "
        f"{run.events / with_log:,.0f} events/s end to end, "
        f"{run.events / run.seconds:,.0f} events/s simulated; frame {frame.height:,} rows"
    )
    began = time.perf_counter()
    reps = replicate(
        model,
        params,
        cases=args.cases,
        replications=args.replications,
        seed=1,
        workers=args.workers,
    )
    total = time.perf_counter() - began
    est = reps.estimate("cycle_median_h")
    print(
        f"{args.replications} replications x {args.cases:,} cases ({args.workers} worker(s)): "
        f"{total:.1f} s, {reps.events:,} events, {reps.events / total:,.0f} events/s; "
        f"median cycle time {est.mean:.2f} h ± {est.half_width:.2f} (95 % CI)"
    )


if __name__ == "__main__":
    main()
