"""`onewindow simulate`: what-if simulation of a BPMN process (仿真).

``onewindow simulate --model F.bpmn --params P.yaml --cases N --seed S --out LOG.csv`` runs
the model; ``fit`` learns parameters from a log, ``validate`` checks a fitted baseline
against the log, ``propose`` simulates redesigns and ranks them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onewindow.kit.errors import OneWindowError, ValidationFailed

simulate_app = typer.Typer(
    help="What-if simulation of BPMN processes (流程仿真): run, fit, validate, propose.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _fail(exc: OneWindowError) -> typer.Exit:
    console.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.message_zh}')}")
    if exc.message != exc.message_zh:
        console.print(f"      {escape(exc.message)}")
    return typer.Exit(2)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationFailed(
            f"cannot read {what} {path}: {exc.strerror or exc}",
            message_zh=f"无法读取{what} {path}：{exc.strerror or exc}",
            code="simulation.file_unreadable",
        ) from exc


def _service_info(path: Path | None) -> dict[str, Any]:
    """in_person and APPLICANT lanes from a catalogue service YAML, when given."""
    if path is None:
        return {}
    data = yaml.safe_load(_read(path, "service file"))
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{path} is not a service YAML", message_zh=f"{path} 不是事项 YAML 文件"
        )
    lanes = data.get("lanes") or {}
    return {
        "in_person": list(data.get("in_person_activities") or []),
        "applicant_lanes": [k for k, v in lanes.items() if v == "APPLICANT"],
        "materials": list(data.get("materials") or []),
    }


Calls = Annotated[
    list[Path] | None,
    typer.Option(help="BPMN files (or folders of them) of the processes call activities call"),
]


def _model(path: Path, calls: list[Path] | None) -> Any:
    """The simulator's model of ``path``, its call activities inlined from ``calls``."""
    from onewindow.simulation.model import called_processes, parse_model

    called = called_processes(_read(f, "called process") for f in _bpmn_files(calls or []))
    process = parse_model(_read(path, "model"), source=str(path), called=called)
    for warning in process.warnings:
        console.print(f"[yellow]note[/] {escape(warning)}")
    return process


def _bpmn_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.bpmn")) if path.is_dir() else [path])
    return files


def _fmt(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3g}"


@simulate_app.callback()
def simulate_cmd(
    ctx: typer.Context,
    model: Annotated[Path | None, typer.Option(help="BPMN 2.0 file")] = None,
    params: Annotated[Path | None, typer.Option(help="Parameters YAML")] = None,
    cases: Annotated[int, typer.Option(min=1, help="Cases to simulate per run")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same log)")] = 0,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Event log to write: .csv, .parquet or .xes")
    ] = None,
    replications: Annotated[
        int, typer.Option(min=1, max=1000, help="Runs with seeds seed..seed+R-1 for CIs")
    ] = 1,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes for replications")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print KPIs as JSON")] = False,
    calls: Calls = None,
    system_tasks: Annotated[
        bool,
        typer.Option(
            "--system-tasks/--no-system-tasks",
            help="Write automated tasks (service, script, rule, send) to the log",
        ),
    ] = True,
) -> None:
    """Simulate a BPMN model with a parameters file and write the event log."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None or params is None:
        console.print(ctx.get_help())
        console.print("[red]--model and --params are required[/]")
        raise typer.Exit(2)
    from onewindow.simulation.engine import replicate, simulate
    from onewindow.simulation.logio import write_log
    from onewindow.simulation.params import load_params

    try:
        process = _model(model, calls)
        parameters = load_params(params)
        run = simulate(
            process,
            parameters,
            cases=cases,
            seed=seed,
            record_log=out_path is not None,
            log_automated=system_tasks,
        )
        if out_path is not None:
            written = write_log(run.frame(), out_path)
            console.print(f"wrote {written} events of {run.cases} cases to {out_path}")
        console.print(
            f"simulated {run.events} events in {run.seconds:.2f}s "
            f"({run.events / max(run.seconds, 1e-9):,.0f} events/s)"
        )
        summary: dict[str, Any]
        if replications > 1:
            reps = replicate(
                process,
                parameters,
                cases=cases,
                replications=replications,
                seed=seed,
                workers=workers,
            )
            summary = reps.summary()
        else:
            summary = {k: {"mean": v} for k, v in run.kpis().items()}
    except OneWindowError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(summary, ensure_ascii=False, default=str))
        return
    table = Table(title=f"KPIs ({replications} run(s), 95 % CI)")
    for col in ("KPI", "mean", "CI low", "CI high"):
        table.add_column(col)
    for key, value in summary.items():
        table.add_row(
            key,
            _fmt(value["mean"]),
            _fmt(value.get("ci_low", math.nan)),
            _fmt(value.get("ci_high", math.nan)),
        )
    out.print(table)


@simulate_app.command("fit")
def fit_cmd(
    log: Annotated[Path, typer.Option(help="Event log: .csv, .parquet, .xes(.gz)")],
    model: Annotated[Path, typer.Option(help="BPMN 2.0 file")],
    out_path: Annotated[Path, typer.Option("--out", help="Parameters YAML to write")],
    service: Annotated[
        Path | None, typer.Option(help="Catalogue service YAML (in-person tasks, APPLICANT lane)")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the fit report as JSON")] = None,
    calls: Calls = None,
) -> None:
    """Fit arrivals, durations, branch probabilities, staff and calendar from a log."""
    from onewindow.simulation.fit import fit_params
    from onewindow.simulation.params import dump_params

    try:
        process = _model(model, calls)
        frame = _read_log(log)
        info = _service_info(service)
        result = fit_params(
            frame,
            process,
            in_person=info.get("in_person", ()),
            applicant_lanes=info.get("applicant_lanes", ()),
        )
    except OneWindowError as exc:
        raise _fail(exc) from None
    out_path.write_text(dump_params(result.params), encoding="utf-8")
    if report is not None:
        report.write_text(
            json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str), "utf-8"
        )
    table = Table(title=f"fitted from {result.cases} cases, {result.events} events")
    for col in ("activity", "n", "distribution", "mean (min)", "why"):
        table.add_column(col)
    for fit in result.fits.values():
        table.add_row(
            fit.activity, str(fit.n), fit.chosen.kind, f"{fit.chosen.mean:.1f}", fit.reason
        )
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]note[/] {escape(warning)}")
    console.print(f"wrote {out_path}")


def _read_log(path: Path) -> Any:
    from onewindow.mining.importers import read_log

    frame, report = read_log(path)
    if report.dropped:
        console.print(escape(report.summary()))
    return frame


@simulate_app.command("validate")
def validate_cmd(
    log: Annotated[Path, typer.Option(help="The real event log")],
    model: Annotated[Path, typer.Option(help="BPMN 2.0 file")],
    params: Annotated[Path, typer.Option(help="Fitted parameters YAML")],
    replications: Annotated[int, typer.Option(min=2, max=200)] = 5,
    seed: int = 0,
    service: Annotated[Path | None, typer.Option(help="Catalogue service YAML")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the report as JSON")] = None,
    calls: Calls = None,
) -> None:
    """Simulate the fitted baseline and compare its KPIs with the real log's."""
    from onewindow.simulation.params import load_params
    from onewindow.simulation.validate import validate_baseline

    try:
        process = _model(model, calls)
        parameters = load_params(params)
        info = _service_info(service)
        if info.get("in_person") and not parameters.in_person:
            parameters.in_person = info["in_person"]
        result = validate_baseline(
            _read_log(log), process, parameters, replications=replications, seed=seed
        )
    except OneWindowError as exc:
        raise _fail(exc) from None
    if report is not None:
        report.write_text(
            json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str), "utf-8"
        )
    out.print(escape(result.text()))
    if not result.trustworthy:
        raise typer.Exit(1)


@simulate_app.command("propose")
def propose_cmd(
    model: Annotated[Path, typer.Option(help="BPMN 2.0 file (today's process)")],
    params: Annotated[Path, typer.Option(help="Parameters YAML (fitted baseline)")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for proposals' BPMN + YAML")],
    cases: Annotated[int, typer.Option(min=10)] = 2000,
    replications: Annotated[int, typer.Option(min=2, max=200)] = 5,
    seed: int = 0,
    service: Annotated[Path | None, typer.Option(help="Catalogue service YAML")] = None,
    extra: Annotated[
        list[Path] | None,
        typer.Option("--also", help="A hand-edited BPMN to simulate alongside (same params)"),
    ] = None,
    calls: Calls = None,
) -> None:
    """Propose redesigns, simulate each with replications and rank them."""
    from onewindow.simulation.params import dump_params, load_params
    from onewindow.simulation.redesign import evaluate, propose

    try:
        process = _model(model, calls)
        parameters = load_params(params)
        info = _service_info(service)
        if info.get("in_person") and not parameters.in_person:
            parameters.in_person = info["in_person"]
        proposals = propose(process, parameters, materials=info.get("materials"))
        for path in extra or []:
            from onewindow.simulation.redesign import hand_edited

            proposals.append(
                hand_edited(_read(path, "model"), parameters, name=path.stem, called=process.called)
            )
        ranking = evaluate(
            process, parameters, proposals, cases=cases, replications=replications, seed=seed
        )
    except OneWindowError as exc:
        raise _fail(exc) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"redesigns ranked by median cycle time ({replications} runs, 95 % CI)")
    for col in ("rank", "proposal", "median h", "change", "95 % CI", "trips", "returns"):
        table.add_column(col)
    for rank, row in enumerate(ranking.rows, start=1):
        prop = row.proposal
        (out_dir / f"{prop.key}.bpmn").write_bytes(prop.bpmn)
        (out_dir / f"{prop.key}.yaml").write_text(dump_params(prop.params), encoding="utf-8")
        table.add_row(
            str(rank),
            f"{prop.key}: {prop.title_en}",
            _fmt(row.median.mean),
            f"{row.change.mean:+.1%}",
            f"[{row.change.low:+.1%}, {row.change.high:+.1%}]",
            _fmt(row.trips.mean),
            _fmt(row.returns.mean),
        )
    out.print(table)
    (out_dir / "ranking.json").write_text(
        json.dumps(ranking.as_dict(), ensure_ascii=False, indent=2, default=str), "utf-8"
    )
    console.print(f"wrote {len(ranking.rows)} proposals to {out_dir}")
