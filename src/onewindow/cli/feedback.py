"""``onewindow feedback``: classify tickets, find hotspots and topics in plain files.

The commands work on a city's own CSV exports without a database, so historic tickets can
be analysed before (or without) running the platform. Each imports what it needs when it
runs, so ``onewindow --help`` stays fast.
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
from onewindow.kit.errors import OneWindowError

feedback_app = typer.Typer(
    help="诉求分析: classify complaint texts, find district hotspots.", no_args_is_help=True
)


@feedback_app.callback()
def _group() -> None:
    """诉求分析: classify complaint texts, find district hotspots."""


def _rows(path: Path) -> list[dict[str, str]]:
    from onewindow.feedback.service import read_table

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


def _title(row: dict[str, str]) -> str | None:
    """A row's title (its ``title`` column), normalised; None when it has none."""
    raw = (row.get("title") or "").strip()
    return clf.normalise(raw) if raw and not clf.is_blank(raw) else None


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
    empty category and the reason in ``error``). Texts of any length are classified; a
    ``title`` column, where a file has one, is weighted as the title."""
    if train is not None:
        labelled = _rows(train)
        _need(labelled, train, "text", "category")
        texts: list[str] = []
        labels: list[str] = []
        titles: list[str | None] = []
        for n, row in enumerate(labelled, start=2):
            try:
                body = clf.normalise(row["text"])
                titles.append(_title(row))
            except OneWindowError as exc:
                typer.echo(f"{train.name}: line {n}: {exc.message}", err=True)
                continue
            texts.append(body)
            labels.append(row["category"].strip())
        try:
            model = clf.train(texts, labels, titles)
        except OneWindowError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"trained on {len(texts)} labelled tickets", err=True)
    else:
        model = clf.starter()
    rows = _rows(in_)
    _need(rows, in_, "text")
    normalised: list[str | None] = []
    heads: list[str | None] = []
    errors: list[str] = []
    for row in rows:
        try:
            normalised.append(clf.normalise(row["text"]))
            heads.append(_title(row))
            errors.append("")
        except OneWindowError as exc:
            normalised.append(None)
            heads.append(None)
            errors.append(exc.message)
    kept = [i for i, t in enumerate(normalised) if t is not None]
    predictions = iter(model.predict([normalised[i] or "" for i in kept], [heads[i] for i in kept]))
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
    from onewindow.feedback import hotspots
    from onewindow.feedback.service import parse_instant

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


def _column(rows: list[dict[str, str]], path: Path, given: str | None, default: str) -> str | None:
    """The column to read: the one named (which must exist), else ``default`` if present."""
    if given is not None:
        _need(rows, path, given)
        return given
    return default if rows and default in rows[0] else None


@feedback_app.command("topics")
def find_topics(
    in_: Annotated[Path, typer.Option("--in", help="CSV/XLSX of messages")],
    text_column: Annotated[str, typer.Option(help="column with the message text")] = "text",
    time_column: Annotated[
        str | None, typer.Option(help="column with the time [default: created_at if present]")
    ] = None,
    likes_column: Annotated[
        str | None, typer.Option(help="column with likes/+1s [default: likes if present]")
    ] = None,
    sender_column: Annotated[
        str | None, typer.Option(help="column naming the sender (phone, account)")
    ] = None,
    id_column: Annotated[str, typer.Option(help="column with the message id")] = "id",
    since: Annotated[
        str | None, typer.Option("--since", help="only messages on or after this date")
    ] = None,
    min_size: Annotated[int, typer.Option(min=1, help="fewest messages in a topic")] = (3),
    half_life: Annotated[
        float, typer.Option(min=0.0, help="days after which a quiet topic's heat halves")
    ] = 30.0,
    top: Annotated[int, typer.Option(min=0, help="how many topics to list (0: all)")] = 20,
    format_: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    timezone: Annotated[str, typer.Option(help="zone of naive timestamps")] = "Asia/Shanghai",
) -> None:
    """热点问题: cluster messages about the same place and problem, hottest first.

    Places are learnt from the text (estates, roads, rivers, villages … with GB/T 2260
    districts), problems from their words; heat = (senders + 0.5 x repeats + ln(1 + likes))
    x 0.5^(days quiet / half-life) x (1 + min(span days, 90) / 90)."""
    from onewindow.feedback import topics
    from onewindow.feedback.service import parse_instant

    if format_ not in ("json", "csv"):
        typer.echo("--format must be json or csv", err=True)
        raise typer.Exit(2)
    zone = ZoneInfo(timezone)
    start = None
    if since is not None:
        try:
            start = parse_instant(since, zone)
        except ValueError as exc:
            typer.echo(f"--since {since!r} is not a date (expected e.g. 2024-03-05)", err=True)
            raise typer.Exit(2) from exc
    rows = _rows(in_)
    _need(rows, in_, text_column)
    time_col = _column(rows, in_, time_column, "created_at")
    likes_col = _column(rows, in_, likes_column, "likes")
    sender_col = _column(rows, in_, sender_column, "sender")
    id_col = id_column if rows and id_column in rows[0] else None
    messages: list[topics.Message] = []
    problems: list[str] = []
    no_text = before = 0
    for line, row in enumerate(rows, start=2):
        ident = row[id_col] if id_col and row[id_col] else str(line)
        when = None
        raw_time = row.get(time_col, "") if time_col else ""
        if raw_time:
            try:
                when = parse_instant(raw_time, zone)
            except ValueError:
                problems.append(
                    f"line {line}: {time_col} {raw_time!r} is not a date or date-time "
                    "(expected ISO 8601, e.g. 2024-03-05 or 2024-03-05 09:30)"
                )
                continue
        raw_likes = (row.get(likes_col, "") if likes_col else "").strip()
        if raw_likes and not raw_likes.isdigit():
            problems.append(f"line {line}: {likes_col} {raw_likes!r} is not a whole number")
            continue
        if not row[text_column].strip():
            no_text += 1
            continue
        if start is not None and (when is None or when < start):
            before += 1
            continue
        messages.append(
            topics.Message(
                ident,
                row[text_column],
                when,
                likes=int(raw_likes) if raw_likes else 0,
                sender=row.get(sender_col) if sender_col else None,
            )
        )
    if problems:
        for p in problems[:20]:
            typer.echo(f"{in_.name}: {p}", err=True)
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        typer.echo(f"{len(problems)} rows cannot be read{more}; nothing was analysed", err=True)
        raise typer.Exit(2)
    if no_text or before:
        typer.echo(
            f"left out: {no_text} rows without text, {before} before --since (or undated)",
            err=True,
        )
    found = topics.find_topics(messages, min_size=min_size, half_life=half_life)
    shown = found[:top] if top else found
    if format_ == "json":
        body = {
            "messages": len(messages),
            "clustered": sum(t.size for t in found),
            "topics_found": len(found),
            "method": topics.METHOD,
            "half_life_days": half_life,
            "min_size": min_size,
            "topics": [t.as_dict() for t in shown],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    writer = csv.writer(sys.stdout)
    columns = ["rank", "label", "place", "district", "theme", "words", "size", "senders"]
    writer.writerow([*columns, "likes", "first", "last", "heat", "members"])
    for rank, t in enumerate(shown, start=1):
        writer.writerow(
            [
                rank,
                t.label,
                t.place,
                t.district or "",
                t.theme or "",
                " ".join(t.words),
                t.size,
                t.senders,
                t.likes,
                t.first.isoformat() if t.first else "",
                t.last.isoformat() if t.last else "",
                t.heat,
                " ".join(t.members),
            ]
        )
