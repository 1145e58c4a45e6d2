"""``onewindow training``: training needs from any event log file, no database needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from onewindow.kit.errors import OneWindowError
from onewindow.mining.importers import read_log
from onewindow.training.needs import find_needs, unjudged
from onewindow.training.profile import DEFAULT_MIN_CASES, profile

training_app = typer.Typer(help="培训: training needs from the event log.", no_args_is_help=True)


@training_app.callback()
def _group() -> None:
    """培训: training needs from the event log."""


@training_app.command("needs")
def needs(
    log: Annotated[Path, typer.Option("--log", help="event log: CSV, Parquet, XES(.gz)")],
    min_cases: Annotated[
        int, typer.Option("--min-cases", min=1, help="fewest cases before a verdict")
    ] = DEFAULT_MIN_CASES,
    fmt: Annotated[Literal["json", "text"], typer.Option("--format", help="json or text")] = "text",
    show_all: Annotated[
        bool, typer.Option("--all", help="json: also every metric that was not flagged")
    ] = False,
    hours: Annotated[
        str,
        typer.Option(
            "--hours",
            help="which minutes count: office (09:00-17:00 on working days), 24x7 (every "
            "minute), a YAML schedule file, or auto (read from the log)",
        ),
    ] = "auto",
    timezone: Annotated[
        str, typer.Option(help="zone of timestamps written without one")
    ] = "Asia/Shanghai",
) -> None:
    """Who struggles with which step: slower, more rework, later or worse rated than peers.

    Handling time counts office minutes or every elapsed minute, as the log's working
    pattern says (office when at least 75 % of staff events fall in office hours), unless
    --hours says which; the output says which was used and why."""
    from onewindow.kit import worktime

    try:
        counted = worktime.schedule(hours)
        frame, report = read_log(log, assume_tz=timezone)
        result = profile(frame, min_cases=min_cases, hours=counted)
    except OneWindowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    found = find_needs(result)
    skipped = unjudged(result)
    if fmt == "json":
        rows = [n.as_row() for n in found]
        if show_all:
            flagged = {(n.resource, n.activity, n.metric) for n in found}
            rows += [
                {
                    "resource": s.resource,
                    "activity": s.activity,
                    "metric": s.metric,
                    "value": s.value,
                    "peer_median": s.peer_median,
                    "score": s.score,
                    "cases": s.cases,
                    "status": s.status,
                }
                for s in result.scores
                if (s.resource, s.activity, s.metric) not in flagged
            ]
        body = {"hours": result.hours, "min_cases": min_cases, "needs": rows}
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        typer.echo(report.summary())
        typer.echo(f"handling time: {result.hours['method']} ({result.hours['reason']})")
        for note in result.notes:
            typer.echo(f"note: {note}")
        if not found:
            typer.echo("no training needs found / 未发现培训需求")
        for n in found:
            typer.echo(f"{n.message_zh}\n  {n.message_en} (score {n.score:.1f})")
    for s in skipped:
        why = (
            f"{s.cases} cases < {min_cases}, not judged / 件数不足，不作结论"
            if s.status == "too_few_cases"
            else "no peers with enough cases, not judged / 无可比同岗，不作结论"
        )
        typer.echo(f"{s.resource} · {s.activity}: {why}", err=True)
