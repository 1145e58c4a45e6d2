"""Importers: every real public log (tests/data/eventlogs) loads completely; bad rows are
reported, not fatal."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from onewindow.kit.errors import ValidationFailed
from onewindow.mining.frame import ACTIVITY, CASE_ID, TIMESTAMP
from onewindow.mining.importers import ColumnMap, read_log, read_ocel
from tests.conftest import TEST_DATA

LOGS = TEST_DATA / "eventlogs"

# (file, cases, events) from tests/data/eventlogs/README.md
EXPECTED = [
    ("wabo_receipt.xes.gz", 1434, 8577),
    ("wabo_receipt.csv", 1434, 8577),
    ("bpic2020_permits_1_trace_per_variant.xes.gz", 1478, 26028),
    ("road_traffic_fines_100_traces.xes", 100, 390),
    ("running-example.xes", 6, 42),
]


@pytest.mark.parametrize(("name", "cases", "events"), EXPECTED)
def test_real_logs_load_whole(name: str, cases: int, events: int) -> None:
    frame, report = read_log(LOGS / name)
    assert frame.height == events
    assert frame[CASE_ID].n_unique() == cases
    assert frame.schema[TIMESTAMP] == pl.Datetime("us", "UTC")
    assert report.rows_kept == report.rows_read == events
    assert not report.dropped


def test_xes_and_csv_of_wabo_agree() -> None:
    xes, _ = read_log(LOGS / "wabo_receipt.xes.gz")
    csv, _ = read_log(LOGS / "wabo_receipt.csv")
    cols = [CASE_ID, ACTIVITY, TIMESTAMP, "case:deadline"]
    assert xes.select(cols).sort(cols).equals(csv.select(cols).sort(cols))


def test_mixed_offsets_become_utc_and_bad_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "case,act,when\n"
        "c1,A,2024-03-01T09:00:00+08:00\n"
        "c1,B,2024-03-01 02:30:00+01:00\n"
        "c2,A,not a time\n"
        ",B,2024-03-01T10:00:00Z\n"
        "c2,B,2024-03-01T10:00:00\n",
        encoding="utf-8",
    )
    frame, report = read_log(
        path, columns=ColumnMap(case="case", activity="act", timestamp="when"), assume_tz="UTC"
    )
    assert frame[TIMESTAMP].dt.hour().to_list() == [1, 1, 10]
    reasons = {d.reason: d.rows for d in report.dropped}
    # rows counted as a spreadsheet shows them: the header is line 1
    assert reasons == {"case id missing": [5], "timestamp unparsable": [4]}
    assert report.naive_timestamps == 1
    assert "rows 4" in report.summary()


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        read_log(path)
    assert info.value.code == "mining.import_invalid"


def test_plain_and_gzipped_xes_and_parquet_round_trip(tmp_path: Path) -> None:
    plain = (LOGS / "running-example.xes").read_bytes()
    gz = tmp_path / "running.xes.gz"
    gz.write_bytes(gzip.compress(plain))
    a, _ = read_log(LOGS / "running-example.xes")
    b, _ = read_log(gz)
    assert a.equals(b)
    a.write_parquet(tmp_path / "r.parquet")
    c, _ = read_log(tmp_path / "r.parquet")
    assert c.select(a.columns).equals(a)


def test_ocel_json_and_xml_flatten_alike() -> None:
    j, rj = read_ocel(LOGS / "ocel20_example.jsonocel", "Purchase Order")
    x, _ = read_ocel(
        LOGS / "ocel20_example.xmlocel", "Purchase Order", assume_tz="Europe/Amsterdam"
    )
    cols = [CASE_ID, ACTIVITY, TIMESTAMP]
    assert j.select(cols).sort(cols).equals(x.select(cols).sort(cols))
    assert rj.rows_read == 13
    assert rj.dropped[0].count == 8


def test_ocel_first_mode_keeps_one_row_per_event() -> None:
    exploded, _ = read_ocel(LOGS / "ocel20_example.jsonocel", "Invoice")
    first, report = read_ocel(LOGS / "ocel20_example.jsonocel", "Invoice", mode="first")
    assert first["ocel:eid"].n_unique() == first.height
    assert exploded.height >= first.height
    with pytest.raises(ValidationFailed):
        read_ocel(LOGS / "ocel20_example.jsonocel", "Nope")
    assert report.format == "ocel-json"
