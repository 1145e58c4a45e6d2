"""``onewindow feedback``: classify tickets and find hotspots in plain files.

Both commands work on a city's own CSV exports without a database, so historic tickets can
be analysed before (or without) running the platform.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from onewindow.feedback import classifier as clf
from onewindow.feedback import hotspots
from onewindow.feedback.service import parse_instant, read_table
from onewindow.kit.errors import OneWindowError

feedback_app = typer.Typer(
    help="诉求分析: classify complaint texts, find district hotspots.", no_args_is_help=True
)


@feedback_app.callback()
def _group() -> None:
    """诉求分析: classify complaint texts, find district hotspots."""


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        return read_table(path.read_bytes(), path.name)
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OneWindowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _need(rows: list[dict[str, str]], path: Path, *columns: str) -> None:
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        typer.echo(f"{path.name}: missing column(s) {', '.join(missing)}", err=True)
        raise typer.Exit(2)


@feedback_app.command("classify")
def classify(
    in_: Annotated[Path, typer.Option("--in", help="CSV/XLSX with a 'text' column")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write: input + category, confidence")],
    train: Annotated[
        Path | None,
        typer.Option("--train", help="labelled CSV (text, category): train on it first"),
    ] = None,
) -> None:
    """Add ``category`` and ``confidence`` to every row (rows with unusable text get an
    empty category and the reason in ``error``)."""
    if train is not None:
        labelled = _rows(train)
        _need(labelled, train, "text", "category")
        texts: list[str] = []
        labels: list[str] = []
        for n, row in enumerate(labelled, start=2):
            try:
                texts.append(clf.normalise(row["text"]))
                labels.append(row["category"].strip())
            except OneWindowError as exc:
                typer.echo(f"{train.name}: line {n}: {exc.message}", err=True)
        try:
            model = clf.train(texts, labels)
        except OneWindowError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"trained on {len(texts)} labelled tickets", err=True)
    else:
        model = clf.starter()
    rows = _rows(in_)
    _need(rows, in_, "text")
    normalised: list[str | None] = []
    errors: list[str] = []
    for row in rows:
        try:
            normalised.append(clf.normalise(row["text"]))
            errors.append("")
        except OneWindowError as exc:
            normalised.append(None)
            errors.append(exc.message)
    predictions = iter(model.predict([t for t in normalised if t is not None]))
    fields = list(rows[0]) if rows else ["text"]
    extra = ["category", "confidence", "error"]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*fields, *(e for e in extra if e not in fields)])
        writer.writeheader()
        for row, text, error in zip(rows, normalised, errors, strict=True):
            category, confidence = next(predictions) if text is not None else ("", 0.0)
            writer.writerow({**row, "category": category, "confidence": confidence, "error": error})
    bad = sum(1 for e in errors if e)
    typer.echo(f"classified {len(rows) - bad} rows, {bad} without usable text -> {out}", err=True)


@feedback_app.command("hotspots")
def find_hotspots(
    in_: Annotated[Path, typer.Option("--in", help="CSV/XLSX with district, category, created_at")],
    format_: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    week: Annotated[
        str | None, typer.Option("--week", help="a date in the week to test (default: latest)")
    ] = None,
    history: Annotated[int, typer.Option(help="weeks of each cell's own history")] = 8,
    alpha: Annotated[float, typer.Option(help="family-wise significance level")] = 0.01,
    min_count: Annotated[int, typer.Option(help="fewest tickets a flagged cell has")] = 5,
    timezone: Annotated[str, typer.Option(help="zone of naive timestamps")] = "Asia/Shanghai",
) -> None:
    """Flag district x category cells whose week stands out against their own history
    (exact conditional binomial test, Bonferroni across the week's cells)."""
    zone = ZoneInfo(timezone)
    rows = _rows(in_)
    _need(rows, in_, "district", "category", "created_at")
    records: list[hotspots.Record] = []
    skipped = 0
    for row in rows:
        try:
            when = parse_instant(row["created_at"], zone)
        except ValueError:
            skipped += 1
            continue
        if not row["district"] or not row["category"]:
            skipped += 1
            continue
        records.append(hotspots.Record(row["district"], row["category"], when))
    if skipped:
        typer.echo(f"skipped {skipped} rows without district, category or a valid time", err=True)
    flags = hotspots.detect(
        records,
        week=date.fromisoformat(week) if week else None,
        history=history,
        alpha=alpha,
        min_count=min_count,
        zone=zone,
    )
    if format_ == "json":
        typer.echo(json.dumps([f.as_dict() for f in flags], ensure_ascii=False, indent=2))
    elif format_ == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["district", "category", "week", "count", "baseline", "p_value"])
        for f in flags:
            writer.writerow([f.district, f.category, f.week, f.count, f.baseline, f.p_value])
    else:
        typer.echo("--format must be json or csv", err=True)
        raise typer.Exit(2)
