"""The one-pass timestamp path gives what the all-formats parser gives, and steps aside for
any column it cannot read whole."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from onewindow.mining.importers import _iso_with_offset, parse_timestamps, read_csv

ISO = [
    "2024-05-31T13:04:42.000000+0000",
    "2024-05-31T13:04:42+08:00",
    "2024-12-31T23:59:59.123456789-05:30",
    "2024-02-29T00:00:00.5+0000",
]


def _full(values: list[str | None]) -> pl.Series:
    return pl.DataFrame({"t": values}, schema={"t": pl.String}).select(
        parse_timestamps(pl.col("t"))
    )["t"]


def test_one_pass_equals_every_format_on_iso_with_offsets() -> None:
    values: list[str | None] = [*ISO, None]
    fast = _iso_with_offset(pl.Series(values, dtype=pl.String))
    assert fast is not None
    assert fast.to_list() == _full(values).to_list()
    assert fast.null_count() == 1


def test_other_shapes_take_the_full_parser(tmp_path: Path) -> None:
    mixed: list[str | None] = [*ISO, "2024-05-31 13:04", "2024-05-31Z"]
    assert _iso_with_offset(pl.Series(mixed, dtype=pl.String)) is None
    path = tmp_path / "log.csv"
    rows = [f"c{i},a,{v}" for i, v in enumerate([*ISO, "2024-05-31 13:04", "2024-06-01"])]
    path.write_text("\n".join(["case:concept:name,concept:name,time:timestamp", *rows]) + "\n")
    frame, report = read_csv(path, assume_tz="Asia/Shanghai")
    assert report.rows_kept == 6
    assert report.naive_timestamps == 2
    expected = _full([*ISO, None, None])[:4].to_list()
    assert frame["time:timestamp"].to_list()[:4] == expected
    assert str(frame["time:timestamp"][4]) == "2024-05-31 05:04:00+00:00"
