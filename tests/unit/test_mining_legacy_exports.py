"""Logs exported by legacy systems: encodings, separators, timestamp formats, bad values.

Every file here is written by the test itself, in the shape the named system exports it.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from onewindow.kit.errors import ValidationFailed
from onewindow.mining.frame import ACTIVITY, CASE_ID, TIMESTAMP
from onewindow.mining.importers import ColumnMap, read_log, timestamp_format
from onewindow.mining.maps import process_map, variants
from onewindow.mining.measures import duplicate_entry
from onewindow.mining.report import ReportOptions, build_report, render_html

MAP = ColumnMap(case="案件编号", activity="环节", timestamp="时间")
ROWS = [
    ("A001", "收件", "2024-03-05 09:30:00"),
    ("A001", "审核", "2024-03-05 14:00:00"),
    ("A002", "收件", "2024-03-06 10:15:00"),
    ("A002", "办结", "2024-03-07 16:45:00"),
]


def _write(path: Path, rows: list[tuple[str, ...]], encoding: str, sep: str = ",") -> Path:
    lines = [sep.join(("案件编号", "环节", "时间"))] + [sep.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("gbk", "gb18030"),  # what Chinese Excel saves as "CSV"
        ("gb18030", "gb18030"),
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),  # Excel's "CSV UTF-8"
        ("utf-16", "utf-16"),  # Excel's "Unicode text", with a byte-order mark
        ("utf-16-le", "utf-16-le"),  # the same without one
    ],
)
def test_every_common_encoding_is_detected(tmp_path: Path, encoding: str, reported: str) -> None:
    frame, report = read_log(_write(tmp_path / "log.csv", ROWS, encoding), columns=MAP)
    assert report.encoding == reported
    assert frame[ACTIVITY].to_list() == ["收件", "审核", "收件", "办结"]
    assert not report.dropped


def test_a_gbk_file_whose_head_is_ascii_is_still_read(tmp_path: Path) -> None:
    rows = [(f"A{i:04d}", "submit", "2024-03-05 09:30:00") for i in range(4000)]
    rows.append(("A9999", "收件", "2024-03-05 10:00:00"))
    frame, report = read_log(_write(tmp_path / "log.csv", rows, "gbk"), columns=MAP)
    assert report.encoding == "gb18030"
    assert frame[ACTIVITY][-1] == "收件"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_is_sniffed(tmp_path: Path, sep: str) -> None:
    # values with commas in them, as Disco writes decimal numbers in some locales
    rows = [(*r, "1,5") for r in ROWS] if sep != "," else [(*r, "1.5") for r in ROWS]
    path = tmp_path / "log.csv"
    header = sep.join(("案件编号", "环节", "时间", "费用"))
    path.write_text("\n".join([header] + [sep.join(r) for r in rows]) + "\n", encoding="utf-8")
    frame, report = read_log(path, columns=MAP)
    assert report.separator == sep
    assert frame.height == 4
    assert "费用" in frame.columns


def test_encoding_and_separator_can_be_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.csv", ROWS, "gbk", ";")
    frame, report = read_log(path, columns=MAP, encoding="gbk", separator=";")
    assert (report.encoding, report.separator, frame.height) == ("gbk", ";", 4)
    with pytest.raises(ValidationFailed, match=r"not UTF-8 text \(byte 0\)"):
        read_log(path, columns=MAP, encoding="utf-8")
    with pytest.raises(ValidationFailed, match="no column 案件编号"):
        read_log(path, columns=MAP, separator="|")
    tabbed = _write(tmp_path / "tab.csv", ROWS, "utf-8", "\t")
    assert read_log(tabbed, columns=MAP, separator="tab")[0].height == 4


SHANGHAI_0930 = datetime(2024, 3, 5, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "values", "first"),
    [
        ("iso", ["2024-03-05T09:30:00+08:00", "2024-03-05 10:00:00+08:00"], SHANGHAI_0930),
        ("iso", ["2024-03-05 09:30", "2024-03-05 10:00"], SHANGHAI_0930),
        ("ymd-slash", ["2024/03/05 09:30:00.000", "2024/03/05 10:15:41.250"], SHANGHAI_0930),
        ("ymd-slash", ["2024/3/5 9:30", "2024/3/5 10:00"], SHANGHAI_0930),
        ("dmy", ["05-03-2024 09:30", "05-03-2024 10:00:00"], SHANGHAI_0930),
        ("chinese", ["2024年3月5日 9:30", "2024年3月5日 10:00"], SHANGHAI_0930),
        ("chinese", ["2024年03月05日09时30分", "2024年03月05日10时00分05秒"], SHANGHAI_0930),
        ("epoch-s", ["1709602200", "1709604000"], SHANGHAI_0930),
        ("epoch-ms", ["1709602200000", "1709604000500"], SHANGHAI_0930),
        ("excel", ["45356.3958333333", "45356.4166666667"], SHANGHAI_0930),
    ],
)
def test_each_timestamp_format_is_recognised(
    tmp_path: Path, name: str, values: list[str], first: datetime
) -> None:
    rows = [("A001", "收件", values[0]), ("A001", "审核", values[1])]
    frame, report = read_log(
        _write(tmp_path / "log.csv", rows, "utf-8"), columns=MAP, assume_tz="Asia/Shanghai"
    )
    assert report.timestamp_format == name
    assert not report.dropped
    assert frame[TIMESTAMP].dt.round("1s")[0] == first
    assert frame[TIMESTAMP][1] > frame[TIMESTAMP][0]
    epoch = name.startswith("epoch")
    assert report.naive_timestamps == (0 if epoch or values[0].endswith("+08:00") else 2)


def test_a_format_can_be_forced_or_given_as_a_pattern(tmp_path: Path) -> None:
    # 03-05-2024 reads as 3 May in dmy: forcing it is the user's decision, and it is kept
    rows = [("A001", "收件", "03-05-2024 09:30"), ("A001", "审核", "04-05-2024 09:30")]
    frame, report = read_log(
        _write(tmp_path / "log.csv", rows, "utf-8"),
        columns=MAP,
        timestamps=timestamp_format("dmy"),
    )
    assert frame[TIMESTAMP][0] == datetime(2024, 5, 3, 9, 30, tzinfo=UTC)
    german = [("A001", "收件", "05.03.2024 09:30"), ("A001", "审核", "05.03.2024 11:00")]
    frame, report = read_log(
        _write(tmp_path / "de.csv", german, "utf-8"),
        columns=MAP,
        timestamps=timestamp_format("%d.%m.%Y %H:%M"),
    )
    assert report.timestamp_format == "%d.%m.%Y %H:%M"
    assert frame[TIMESTAMP][0] == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    with pytest.raises(ValidationFailed, match="unknown timestamp format 'american'"):
        timestamp_format("american")
    assert timestamp_format("auto") is None


def test_a_mixed_format_column_names_each_bad_value_and_the_expected_format(
    tmp_path: Path,
) -> None:
    rows = [(f"A{i:03d}", "收件", f"2024-03-05 09:{i:02d}:00") for i in range(30)]
    rows[4] = ("A004", "收件", "05-03-2024 09:04")
    rows[17] = ("A017", "收件", "2024年3月5日 9:17")
    rows[20] = ("A020", "收件", "")
    frame, report = read_log(_write(tmp_path / "log.csv", rows, "utf-8"), columns=MAP)
    assert frame.height == 27
    bad = {d.reason: d for d in report.dropped}
    unparsable = bad["timestamp unparsable"]
    assert unparsable.rows == [6, 19]  # the header is row 1
    assert unparsable.values == ["05-03-2024 09:04", "2024年3月5日 9:17"]
    assert unparsable.expected == "iso (e.g. 2024-03-05 09:30:00+08:00)"
    assert bad["timestamp missing"].rows == [22]
    assert report.rows_dropped == 3
    assert report.dropped_share == pytest.approx(0.1)
    summary = report.summary()
    assert "rows 6 '05-03-2024 09:04', 19 '2024年3月5日 9:17'" in summary
    assert "expected iso" in summary


def test_a_mapped_optional_column_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.csv", ROWS, "utf-8")
    mapping = ColumnMap(case="案件编号", activity="环节", timestamp="时间", group="科室")
    with pytest.raises(ValidationFailed, match="科室") as err:
        read_log(path, columns=mapping)
    assert err.value.details is not None
    assert err.value.details["missing"] == ["科室"]


def test_identifier_columns_are_not_duplicate_data_entry() -> None:
    """``.order`` (position in the case), ``activity_instance_id`` (one per activity
    instance, shared by its start and complete), ``row_id`` (one per row) are left out;
    the applicant's ID typed in at two steps is what the measure is for."""
    rows: list[dict[str, Any]] = []
    for case in range(20):
        steps = [("提交申请", "start"), ("提交申请", "complete"), ("窗口受理", "complete")]
        for order, (activity, life) in enumerate(steps):
            rows.append(
                {
                    CASE_ID: f"c{case}",
                    ACTIVITY: activity,
                    TIMESTAMP: datetime(2024, 3, 5, 9, order, case, tzinfo=UTC),
                    "lifecycle:transition": life,
                    ".order": order,
                    "activity_instance_id": f"{case}-{activity}",
                    "row_id": len(rows),
                    "applicant_id": f"35010219800101{case:04d}" if order else None,
                }
            )
    log = pl.DataFrame(rows)
    report = duplicate_entry(log)
    assert report.fields == ["applicant_id"]
    assert sorted(report.identifier_like) == [".order", "activity_instance_id", "row_id"]
    assert report.cases_with_duplicates == 20
    # named with --field they are checked all the same
    assert duplicate_entry(log, [".order"]).fields == [".order"]


def _overlapping() -> pl.DataFrame:
    """Two cases with a start-timestamp column; in c1, B starts before A ends."""

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2024, 3, 5, hour, minute, tzinfo=UTC)

    rows = [
        ("c1", "A", at(11), at(9)),
        ("c1", "B", at(10, 30), at(10)),
        ("c1", "C", at(13), at(12)),
        ("c2", "A", at(9, 30), at(9)),
        ("c2", "B", at(10, 30), at(10)),
        ("c2", "C", at(11), at(10, 45)),
    ]
    return pl.DataFrame(
        rows, schema=[CASE_ID, ACTIVITY, TIMESTAMP, "start_timestamp"], orient="row"
    )


def test_negative_waits_render_in_the_html_report() -> None:
    report = build_report(_overlapping(), ReportOptions(lifecycle=None))
    means = report.map.edge_metric("mean")
    assert means[("B", "A")] == -5400.0  # A began 90 min before B ended
    html = render_html(report)
    assert "-1.5 h" in html
    assert "overlap" in html


@pytest.fixture(scope="module")
def pm4py() -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # licence banner
        import pm4py as module
    return module


def _start_complete_log() -> pl.DataFrame:
    """A BPIC 2012-like log: each activity a start and a complete event, some at the same
    instant (ties keep file order), made by the simulator from the demo's licence bundle."""
    from onewindow.simulation.engine import simulate
    from onewindow.simulation.model import parse_model
    from onewindow.simulation.params import load_params

    base = Path(__file__).resolve().parents[2] / "src" / "onewindow"
    model = parse_model(
        (base / "demo" / "city" / "services" / "business_licence.bpmn").read_bytes()
    )
    params = load_params(base / "simulation" / "examples" / "business_licence.yaml")
    frame = simulate(model, params, cases=300, seed=2).frame()
    return frame.with_columns(pl.col(TIMESTAMP).dt.convert_time_zone("UTC"))


def test_lifecycle_all_equals_pm4py_on_a_start_complete_log(pm4py: Any) -> None:
    log = _start_complete_log()
    assert set(log["lifecycle:transition"].unique()) == {"start", "complete"}
    ours = process_map(log, lifecycle=None)
    df = log.to_pandas()
    dfg, starts, ends = pm4py.discover_dfg(df)
    assert ours.edge_counts() == {k: int(v) for k, v in dfg.items()}
    self_loops = {k: v for k, v in ours.edge_counts().items() if k[0] == k[1]}
    assert self_loops  # start → complete of the same activity, as pm4py counts them
    assert ours.start_counts() == starts
    assert ours.end_counts() == ends
    perf, _, _ = pm4py.discover_performance_dfg(df)
    mine = ours.edge_metric("mean")
    assert all(mine[e] == pytest.approx(v["mean"], abs=1e-6) for e, v in perf.items())
    theirs = pm4py.get_variants(df)
    assert {v.activities: v.cases for v in variants(log, lifecycle=None)} == {
        k: (len(v) if isinstance(v, list) else v) for k, v in theirs.items()
    }
    # the report's map honours the lifecycle it was asked for
    report = build_report(log, ReportOptions(lifecycle=None))
    assert report.map.edge_counts() == ours.edge_counts()
    assert report.as_dict()["process_map"]["lifecycle"] == "all"
    started = build_report(log, ReportOptions(lifecycle="start"))
    assert started.map.events == log.filter(pl.col("lifecycle:transition") == "start").height
    assert started.as_dict()["process_map"]["lifecycle"] == "start"


def test_a_start_timestamp_column_orders_like_pm4py_unless_activities_overlap(
    pm4py: Any,
) -> None:
    log = _overlapping()
    df = log.to_pandas()
    # c2 has no overlap: both order A, B, C; c1's B began before A ended
    ours = process_map(log.filter(pl.col(CASE_ID) == "c2"), lifecycle=None)
    dfg, _, _ = pm4py.discover_dfg(df[df[CASE_ID] == "c2"])
    assert ours.edge_counts() == {k: int(v) for k, v in dfg.items()}
    both = process_map(log, lifecycle=None).edge_counts()
    theirs = {k: int(v) for k, v in pm4py.discover_dfg(df)[0].items()}
    # pm4py orders c1 by start (A, B, C); we order by completion (B, A, C)
    assert theirs == {("A", "B"): 2, ("B", "C"): 2}
    assert both == {("A", "B"): 1, ("B", "C"): 1, ("B", "A"): 1, ("A", "C"): 1}
