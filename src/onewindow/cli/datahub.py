"""``onewindow datahub``: link plain files, load sources, run identity resolution."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from onewindow.datahub import linkage
from onewindow.datahub.sources import SourceUnreadable, read_csv, read_xlsx

datahub_app = typer.Typer(
    help="数据中台: sources, identity resolution, sharing.", no_args_is_help=True
)


@datahub_app.callback()
def _group() -> None:
    """数据中台: sources, identity resolution, sharing."""


def _read(path: Path) -> list[dict[str, str | None]]:
    data = path.read_bytes()
    rows = read_xlsx(data) if path.suffix.lower() in (".xlsx", ".xlsm") else read_csv(data)
    for problem in rows.problems[:20]:
        typer.echo(f"{path.name}: line {problem['line']}: {problem['message']}", err=True)
    return [values for _, values in rows.rows]


@datahub_app.command("link")
def link_files(
    source: Annotated[list[Path], typer.Option("--source", help="a CSV or XLSX file; repeat")],
    out: Annotated[Path, typer.Option("--out", help="clusters.csv to write")],
    id_column: Annotated[str, typer.Option("--id-column")] = "rec_id",
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="COLUMN=FIELD for unrecognised columns")
    ] = None,
    match_threshold: Annotated[float, typer.Option()] = 0.9,
    threads: Annotated[int, typer.Option(help="DuckDB threads")] = 1,
) -> None:
    """Link records across files into clusters: source, record_id, cluster_id."""
    mapping: dict[str, str] = {}
    for item in map_ or []:
        column, sep, field = item.partition("=")
        if not sep or field.strip() not in linkage.FIELDS:
            raise typer.BadParameter(
                f"--map {item!r}: expected COLUMN=FIELD with FIELD one of "
                + ", ".join(sorted(linkage.FIELDS))
            )
        mapping[column.strip()] = field.strip()
    records: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for path in source:
        try:
            rows = _read(path)
        except (OSError, SourceUnreadable) as exc:
            typer.echo(f"{path}: {exc}", err=True)
            raise typer.Exit(2) from None
        for n, row in enumerate(rows, start=1):
            row = {k.strip(): v for k, v in row.items()}
            record_id = (row.get(id_column) or "").strip() or str(n)
            if (path.name, record_id) in seen:
                typer.echo(f"{path.name}: duplicate {id_column} {record_id!r} skipped", err=True)
                continue
            seen.add((path.name, record_id))
            fields = {mapping.get(k, k): v for k, v in row.items() if k != id_column}
            records.append(
                {
                    **linkage.canonical(fields),
                    "unique_id": f"{path.name}\x1f{record_id}",
                    "source_dataset": path.name,
                }
            )
    config = linkage.LinkageConfig(match_threshold=match_threshold, threads=threads)
    result = linkage.link(
        records, today=datetime.now(ZoneInfo("Asia/Shanghai")).date(), config=config
    )
    numbering: dict[str, int] = {}
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "record_id", "cluster_id"])
        for uid, cluster in result.clusters.items():
            src, record_id = uid.split("\x1f", 1)
            writer.writerow([src, record_id, numbering.setdefault(cluster, len(numbering) + 1)])
    typer.echo(
        f"{len(records)} records, {len(numbering)} clusters, {len(result.pairs)} linked pairs "
        f"in {result.seconds:.1f}s",
        err=True,
    )
    for note in result.training_notes:
        typer.echo(f"note: {note}", err=True)
    sys.stderr.flush()
