"""Writing simulated logs in the formats the mining module reads (CSV, Parquet, XES)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from onewindow.eventlog.export import write_xes
from onewindow.kit.errors import ValidationFailed

__all__ = ["write_log"]


def write_log(frame: pl.DataFrame, path: str | os.PathLike[str]) -> int:
    """Write by the file's suffix: ``.csv``/``.csv.gz``, ``.parquet``, ``.xes``/``.xes.gz``.

    CSV timestamps are ISO 8601 with their UTC offset, as the platform's own export writes
    them. Returns the number of events written.

    Raises:
        ValidationFailed: an unknown suffix.
    """
    target = Path(path)
    name = target.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return write_xes(frame, target)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if name.endswith(".parquet"):
            frame.write_parquet(tmp)
        elif name.endswith((".csv", ".csv.gz")):
            text = frame.with_columns(
                pl.col("time:timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%.3f%:z")
            )
            if name.endswith(".gz"):
                import gzip

                with gzip.open(tmp, "wb", compresslevel=6) as out:
                    out.write(text.write_csv().encode("utf-8"))
            else:
                text.write_csv(tmp)
        else:
            raise ValidationFailed(
                f"cannot tell the log format of {target.name}: use .csv, .csv.gz, .parquet, "
                ".xes or .xes.gz",
                message_zh=f"无法识别 {target.name} 的格式：请使用 .csv、.parquet 或 .xes",
                code="simulation.output_invalid",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return frame.height
