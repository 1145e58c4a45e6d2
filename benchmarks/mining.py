"""Process mining at province scale: 1M events / 100k cases, onewindow vs pm4py.

Generates a seeded government-permit log (Parquet), then runs, each in its own
subprocess so peak memory (ru_maxrss) is per contender:

- ``ours-report``: onewindow's full report (map, performance, variants, bottlenecks,
  trips, returns, rework, ping-pong, hand-offs, duplicate entry, queues, SLA in working
  days) built, rendered as HTML and as JSON, from the Parquet file;
- ``ours-stages``: the same analyses one by one, to show where the time goes;
- ``ours-core``: onewindow's process map + performance map + variants only;
- ``pm4py``: pm4py's three calls (discover_dfg, discover_performance_dfg, get_variants)
  on the same file read with pandas and pm4py.format_dataframe.

Then what a user waits for, whole processes from start to exit on a CSV of ``--csv-events``
events (300k by default): ``onewindow mining report --log FILE.csv --out report.html``
against a Python process that imports pandas and pm4py, reads the CSV, formats it and
makes the same three calls (median of ``--repeat`` runs each, alternating).

Run: ``.venv/bin/python benchmarks/mining.py [--cases 100000] [--seed 7] [--csv-events 300000]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

# One template per path through a permit process (activity names as our demo city uses).
ACCEPT, ISSUE = "窗口受理", "窗口出件"
PATHS = [
    (0.46, ["提交申请", ACCEPT, "材料审查", "施工图审查", "消防设计审查", "审批决定", "制证", ISSUE, "办结"]),  # noqa: E501
    (0.14, ["提交申请", ACCEPT, "材料审查", "消防设计审查", "施工图审查", "审批决定", "制证", ISSUE, "办结"]),  # noqa: E501
    (
        0.12,
        [
            "提交申请", ACCEPT, "补正通知", "补正受理材料", ACCEPT, "材料审查",
            "施工图审查", "消防设计审查", "审批决定", "制证", ISSUE, "办结",
        ],
    ),
    (
        0.10,
        [
            "提交申请", ACCEPT, "受理通知", "材料审查", "补正通知", "补正审查材料", "材料审查",
            "施工图审查", "人防工程审查", "消防设计审查", "审批决定", "制证", ISSUE, "办结",
        ],
    ),
    (
        0.08,
        [
            "提交申请", ACCEPT, "材料审查", "施工图审查", "消防设计审查", "超时督办",
            "消防审查督办", "审批决定", "制证", ISSUE, "办结",
        ],
    ),
    (0.04, ["提交申请", ACCEPT, "受理通知", "材料审查", "办结"]),
    (
        0.06,
        [
            "提交申请", ACCEPT, "材料审查", "施工图审查", "质量安全监督登记", "人防工程审查",
            "消防设计审查", "审批决定", "邮寄送达", "办结",
        ],
    ),
]  # fmt: skip
TASK_IDS = {ACCEPT: "Task_window_accept", ISSUE: "Task_window_issue"}
DEPARTMENTS = {
    "提交申请": "网办", ACCEPT: "窗口", ISSUE: "窗口", "补正受理材料": "窗口", "受理通知": "窗口",
    "材料审查": "审批科", "补正通知": "审批科", "补正审查材料": "审批科", "审批决定": "审批科",
    "施工图审查": "图审中心", "人防工程审查": "人防办", "消防设计审查": "消防科",
    "消防审查督办": "消防科", "超时督办": "督查室", "质量安全监督登记": "质监站",
    "制证": "审批科", "邮寄送达": "窗口", "办结": "审批科",
}  # fmt: skip
# The applicant's ID number is typed in again at the window (duplicate data entry).
ENTERED_AT = ("提交申请", ACCEPT)


def generate(cases: int, seed: int, out: Path) -> int:
    """Write the log; returns the number of events. Ties happen (whole-second stamps)."""
    rng = np.random.default_rng(seed)
    weights = np.array([w for w, _ in PATHS])
    choice = rng.choice(len(PATHS), size=cases, p=weights / weights.sum())
    lengths = np.array([len(p) for _, p in PATHS])[choice]
    total = int(lengths.sum())
    case_idx = np.repeat(np.arange(cases), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = [a for _, p in PATHS for a in p]
    starts_in_flat = np.cumsum([0] + [len(p) for _, p in PATHS[:-1]])
    activity_codes = starts_in_flat[choice][case_idx] + offsets
    activities = np.array(flat, dtype=object)[activity_codes]
    # Case arrivals over two years; gaps between events lognormal (minutes to days).
    arrival = rng.integers(0, 2 * 365 * 86400, size=cases)
    gaps = np.round(rng.lognormal(mean=9.0, sigma=1.4, size=total))
    gaps[offsets == 0] = 0
    cum = np.cumsum(gaps)
    case_first = np.repeat(cum[np.cumsum(lengths) - lengths], lengths)
    seconds = arrival[case_idx] + (cum - case_first)
    base = np.datetime64("2024-01-01T00:00:00", "s")
    frame = pl.DataFrame(
        {
            "case:concept:name": [f"OW{i:09d}" for i in range(cases)],
            "case:service": rng.choice(["HOUSING-001", "FIRE-001"], size=cases, p=[0.8, 0.2]),
        }
    )[case_idx.tolist()].with_columns(
        pl.Series("concept:name", activities.tolist(), dtype=pl.String),
        pl.Series(
            "time:timestamp", (base + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
        ).dt.replace_time_zone("UTC"),
        pl.lit("complete").alias("lifecycle:transition"),
    )
    frame = frame.with_columns(
        pl.col("concept:name").replace_strict(TASK_IDS, default=None).alias("activity_id"),
        pl.col("concept:name").replace_strict(DEPARTMENTS, default=None).alias("org:group"),
        pl.when(pl.col("concept:name").is_in(ENTERED_AT))
        .then(pl.col("case:concept:name").str.slice(2))
        .alias("applicant_id"),
    )
    frame.write_parquet(out)
    return frame.height


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


OPTIONS = {
    "in_person": list(TASK_IDS.values()),
    "return_activity": "补正通知",
    "time_limit_days": {"HOUSING-001": 20, "FIRE-001": 10},
    "group_by": "case:service",
    "end_activities": ["办结"],
}


def run_ours(path: Path, kind: str) -> dict[str, float]:
    from onewindow.mining.importers import read_parquet
    from onewindow.mining.maps import process_map, variants
    from onewindow.mining.report import ReportOptions, build_report, render_html

    t0 = time.perf_counter()
    frame, _ = read_parquet(path)
    t1 = time.perf_counter()
    timings = {"read_s": t1 - t0}
    if kind == "ours-report":
        report = build_report(frame, ReportOptions(**OPTIONS))  # type: ignore[arg-type]
        t2 = time.perf_counter()
        html = render_html(report)
        t3 = time.perf_counter()
        document = json.dumps(report.as_dict(), ensure_ascii=False)
        t4 = time.perf_counter()
        timings |= {
            "build_s": t2 - t1,
            "html_s": t3 - t2,
            "json_s": t4 - t3,
            "html_kb": len(html.encode()) / 1024,
            "json_kb": len(document.encode()) / 1024,
        }
    elif kind == "ours-stages":
        timings |= _stages(frame)
    else:
        process_map(frame)  # frequency and performance in one pass
        t2 = time.perf_counter()
        variants(frame)
        timings["map_and_performance_s"] = t2 - t1
        timings["variants_s"] = time.perf_counter() - t2
    timings["analysis_s"] = time.perf_counter() - t1
    return timings


def _stages(frame: pl.DataFrame) -> dict[str, float]:
    """Each analysis of the report on its own, on one prepared log."""
    from onewindow.mining import analyses, measures
    from onewindow.mining.maps import process_map, variants
    from onewindow.mining.prepared import prepare

    out: dict[str, float] = {}
    t = time.perf_counter()
    prep = prepare(frame)
    out["prepare_s"] = time.perf_counter() - t
    steps: dict[str, Callable[[], object]] = {
        "map": lambda: process_map(prep),
        "variants": lambda: variants(prep),
        "activities": lambda: analyses.bottlenecks(prep),
        "ranking": lambda: measures.rank_bottlenecks(prep),
        "rework": lambda: analyses.rework(prep, return_activity="补正通知"),
        "trips": lambda: analyses.trips(prep, list(TASK_IDS.values()), group_by="case:service"),
        "sla": lambda: analyses.sla(
            prep,
            time_limit_days={"HOUSING-001": 20, "FIRE-001": 10},
            group_by="case:service",
            end_activities=["办结"],
        ),
        "returns": lambda: measures.returns(prep, group_by="case:service"),
        "ping_pong": lambda: measures.ping_pong(prep),
        "handoffs": lambda: measures.handoffs(prep),
        "duplicates": lambda: measures.duplicate_entry(prep),
        "queues": lambda: measures.queues(prep),
    }
    for name, step in steps.items():
        t = time.perf_counter()
        step()
        out[f"{name}_s"] = time.perf_counter() - t
    return out


def run_pm4py(path: Path) -> dict[str, float]:
    import pandas as pd  # type: ignore[import-untyped]

    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    t1 = time.perf_counter()
    df = pm4py.format_dataframe(df)
    t2 = time.perf_counter()
    pm4py.discover_dfg(df)
    t3 = time.perf_counter()
    pm4py.discover_performance_dfg(df)
    t4 = time.perf_counter()
    pm4py.get_variants(df)
    t5 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "format_s": t2 - t1,
        "map_s": t3 - t2,
        "performance_s": t4 - t3,
        "variants_s": t5 - t4,
        "analysis_s": t5 - t1,
    }


PM4PY_WHOLE = """
import contextlib, io, sys
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import pm4py
df = pd.read_csv(sys.argv[1])
df = pm4py.format_dataframe(
    df, case_id="case:concept:name", activity_key="concept:name", timestamp_key="time:timestamp"
)
pm4py.discover_dfg(df)
pm4py.discover_performance_dfg(df)
pm4py.get_variants(df)
"""


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)  # noqa: S603 - our own commands
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def whole_process(events: int, seed: int, repeat: int) -> None:
    """``onewindow mining report`` on a CSV vs pm4py read + three calls, as whole processes."""
    mean_length = sum(w * len(p) for w, p in PATHS) / sum(w for w, _ in PATHS)
    cases = max(1, round(events / mean_length))
    onewindow = str(Path(sys.executable).with_name("onewindow"))
    with tempfile.TemporaryDirectory() as tmp:
        parquet, csv = Path(tmp) / "log.parquet", Path(tmp) / "log.csv"
        written = generate(cases, seed, parquet)
        pl.read_parquet(parquet).write_csv(csv)
        report = [onewindow, "mining", "report", "--log", str(csv), "--out", f"{tmp}/r.html"]
        report += ["--return-activity", "补正通知", "--end-activity", "办结"]
        report += ["--group-by", "case:service"]
        reference = [sys.executable, "-c", PM4PY_WHOLE, str(csv)]
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(_timed(report))
            theirs.append(_timed(reference))

    def median(runs: list[tuple[float, float]], i: int) -> float:
        return sorted(r[i] for r in runs)[len(runs) // 2]

    a, b = median(ours, 0), median(theirs, 0)
    print(
        f"whole process on a CSV of {written:,} events / {cases:,} cases "
        f"(median of {repeat}): onewindow mining report {a:.2f} s wall, "
        f"{median(ours, 1):.2f} s CPU (runs {', '.join(f'{w:.2f}' for w, _ in ours)}); "
        f"pm4py read + format + dfg + performance dfg + variants {b:.2f} s wall, "
        f"{median(theirs, 1):.2f} s CPU (runs {', '.join(f'{w:.2f}' for w, _ in theirs)}) "
        f"-> {b / a:.1f}x wall, {median(theirs, 1) / median(ours, 1):.1f}x CPU; "
        f"aim >= 3x -> {'met' if b / a >= 3 else 'NOT met'}"
    )


def child(kind: str, path: Path) -> None:
    if kind == "pm4py":
        result = run_pm4py(path)
    else:
        result = run_ours(path, kind)
    result["peak_mb"] = _peak_mb()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def _spawn(kind: str, path: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--log", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv-events", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-csv", action="store_true", help="only the whole-process run")
    parser.add_argument("--child")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.log)
        return
    if args.only_csv:
        whole_process(args.csv_events, args.seed, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "permits.parquet"
        t = time.perf_counter()
        events = generate(args.cases, args.seed, path)
        print(
            f"generated {events:,} events / {args.cases:,} cases in {time.perf_counter() - t:.1f} s"
        )
        kinds = ("ours-report", "ours-stages", "ours-core", "pm4py")
        results = {kind: _spawn(kind, path) for kind in kinds}
    for kind, r in results.items():
        figures = ", ".join(f"{k}={v:.3f}" for k, v in r.items())
        print(f"{kind:12s} {figures}")
    ours, core, ref = results["ours-report"], results["ours-core"], results["pm4py"]
    total = ours["analysis_s"]
    print(
        f"full report (build + HTML + JSON, excl. read): {total:.2f} s "
        f"(+ read {ours['read_s']:.2f} s) | core map+performance+variants "
        f"{core['analysis_s']:.2f} s | pm4py three calls (format + dfg + perf dfg + variants, "
        f"excl. read) {ref['analysis_s']:.2f} s"
    )
    print(
        f"speed-up: full report {ref['analysis_s'] / total:.1f}x faster than pm4py, "
        f"core {ref['analysis_s'] / core['analysis_s']:.1f}x; aim: full < 2 s and >= 4x -> "
        f"{'met' if total < 2 and ref['analysis_s'] / total >= 4 else 'NOT met'}"
    )
    print(
        f"peak memory: full report {ours['peak_mb']:.0f} MB, core {core['peak_mb']:.0f} MB, "
        f"pm4py {ref['peak_mb']:.0f} MB -> full/pm4py {ours['peak_mb'] / ref['peak_mb']:.2f}x"
    )
    whole_process(args.csv_events, args.seed, args.repeat)


if __name__ == "__main__":
    main()
