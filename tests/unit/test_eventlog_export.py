from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from lxml import etree

from onewindow.eventlog.export import (
    write_csv,
    write_events,
    write_parquet,
    write_xes,
)
from onewindow.kit.errors import ValidationFailed

SH = ZoneInfo("Asia/Shanghai")
XES = "{http://www.xes-standard.org/}"
SRC = Path(__file__).resolve().parents[2] / "src"


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=SH)


def _row(
    case: str,
    activity: str,
    when: datetime,
    resource: str,
    group: str,
    lifecycle: str = "complete",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "case:concept:name": case,
        "concept:name": activity,
        "time:timestamp": when,
        "lifecycle:transition": lifecycle,
        "org:resource": resource,
        "org:group": group,
        **extra,
    }


# Input order is deliberately scrambled. Ties: 办件-002 受理/补正 at 08:00 and 办件-001
# 材料审查(complete)/税务登记 at 10:00 must keep input order. 办件-003 and 办件-002 both
# start at 08:00, so 办件-003 (seen first) comes first; 办件-001 starts later at 09:00.
ROWS: list[dict[str, Any]] = [
    _row(
        "办件-001",
        "办结",
        _at(11),
        "张伟",
        "综合窗口",
        channel="窗口",
        **{"case:service": "企业开办"},
    ),
    _row("办件-001", "受理", _at(9), "张伟", "综合窗口", channel="窗口", trips=1),
    _row(
        "办件-003", "受理", _at(8), "赵敏", "综合窗口", channel="网上", **{"case:service": "社保"}
    ),
    _row("办件-001", "材料审查", _at(9, 30), "李娜", "市场监管局", lifecycle="start"),
    _row("办件-002", "受理", _at(8), "赵敏", "综合窗口", fee=12.5, **{"case:service": "社保"}),
    _row("办件-001", "材料审查", _at(10), "李娜", "市场监管局", overdue=False),
    _row("办件-002", "补正", _at(8), "赵敏", "综合窗口", note="缺\x01身份证\x0b复印件"),
    _row("办件-001", "税务登记", _at(10), "王芳", "税务局"),
    # same instant as 09:30 Shanghai, written in UTC
    _row("办件-002", "受理", datetime(2026, 3, 2, 1, 30, tzinfo=UTC), "钱进", "综合窗口"),
    _row("办件-002", "办结", _at(10), "钱进", "综合窗口", overdue=True),
]

# (case, activity, timestamp, lifecycle, resource, group) in the order every writer uses
EXPECTED = [
    ("办件-003", "受理", _at(8), "complete", "赵敏", "综合窗口"),
    ("办件-002", "受理", _at(8), "complete", "赵敏", "综合窗口"),
    ("办件-002", "补正", _at(8), "complete", "赵敏", "综合窗口"),
    ("办件-002", "受理", _at(9, 30), "complete", "钱进", "综合窗口"),
    ("办件-002", "办结", _at(10), "complete", "钱进", "综合窗口"),
    ("办件-001", "受理", _at(9), "complete", "张伟", "综合窗口"),
    ("办件-001", "材料审查", _at(9, 30), "start", "李娜", "市场监管局"),
    ("办件-001", "材料审查", _at(10), "complete", "李娜", "市场监管局"),
    ("办件-001", "税务登记", _at(10), "complete", "王芳", "税务局"),
    ("办件-001", "办结", _at(11), "complete", "张伟", "综合窗口"),
]

# Directly-follows graph worked out by hand from EXPECTED.
EXPECTED_DFG = {
    ("受理", "补正"): 1,
    ("补正", "受理"): 1,
    ("受理", "办结"): 1,
    ("受理", "材料审查"): 1,
    ("材料审查", "材料审查"): 1,
    ("材料审查", "税务登记"): 1,
    ("税务登记", "办结"): 1,
}
EXPECTED_START = {"受理": 3}
EXPECTED_END = {"受理": 1, "办结": 2}

COLUMNS = [
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
    "org:resource",
    "org:group",
]


@pytest.fixture(scope="module")
def pm4py() -> ModuleType:
    module: ModuleType = pytest.importorskip("pm4py")
    return module


def _tuples_from_frame(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in frame.select(COLUMNS).iter_rows()]


# --- CSV and Parquet --------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    assert write_csv(ROWS, path) == len(ROWS)
    frame = pl.read_csv(path).with_columns(
        pl.col("time:timestamp").map_elements(datetime.fromisoformat, return_dtype=pl.Object)
    )
    assert frame.columns[:6] == COLUMNS
    assert set(frame.columns[6:]) == {"case:service", "channel", "trips", "fee", "overdue", "note"}
    assert _tuples_from_frame(frame) == EXPECTED
    text = path.read_text(encoding="utf-8")
    assert "2026-03-02T08:00:00.000+08:00" in text
    assert "2026-03-02T01:30:00.000+00:00" in text  # each event keeps its own offset


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    write_csv(ROWS, path)
    with gzip.open(path, "rb") as fh:
        frame = pl.read_csv(fh.read())
    assert frame.height == len(ROWS)
    assert frame["concept:name"].to_list() == [e[1] for e in EXPECTED]


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    assert write_parquet(ROWS, path) == len(ROWS)
    frame = pl.read_parquet(path)
    assert frame.columns[:6] == COLUMNS
    assert _tuples_from_frame(frame) == EXPECTED
    assert frame.schema["trips"] == pl.Int64
    assert frame.schema["fee"] == pl.Float64
    assert frame.schema["overdue"] == pl.Boolean
    assert frame["trips"].to_list() == [None] * 5 + [1] + [None] * 4


def test_parquet_keeps_a_shared_zone(tmp_path: Path) -> None:
    rows = [r for r in ROWS if r["time:timestamp"].tzinfo is SH]
    write_parquet(rows, tmp_path / "sh.parquet")
    dtype = pl.read_parquet_schema(tmp_path / "sh.parquet")["time:timestamp"]
    assert dtype == pl.Datetime("us", "Asia/Shanghai")
    write_parquet(ROWS, tmp_path / "mixed.parquet")
    dtype = pl.read_parquet_schema(tmp_path / "mixed.parquet")["time:timestamp"]
    assert dtype == pl.Datetime("us", "UTC")


# --- XES --------------------------------------------------------------------------


def test_xes_read_by_pm4py(tmp_path: Path, pm4py: ModuleType) -> None:
    path = tmp_path / "log.xes"
    assert write_xes(ROWS, path) == len(ROWS)
    frame = pm4py.read_xes(str(path))
    got = [
        (
            r["case:concept:name"],
            r["concept:name"],
            r["time:timestamp"].to_pydatetime(),
            r["lifecycle:transition"],
            r["org:resource"],
            r["org:group"],
        )
        for r in frame.to_dict("records")
    ]
    assert got == EXPECTED
    services = frame.groupby("case:concept:name")["case:service"].first().to_dict()
    assert services == {"办件-001": "企业开办", "办件-002": "社保", "办件-003": "社保"}


def test_xes_dfg_matches_hand_computed(tmp_path: Path, pm4py: ModuleType) -> None:
    path = tmp_path / "log.xes"
    write_xes(ROWS, path)
    dfg, start, end = pm4py.discover_dfg(pm4py.read_xes(str(path)))
    assert dict(dfg) == EXPECTED_DFG
    assert dict(start) == EXPECTED_START
    assert dict(end) == EXPECTED_END
    # and the hand DFG really is the DFG of EXPECTED
    pairs: Counter[tuple[str, str]] = Counter()
    for before, after in zip(EXPECTED, EXPECTED[1:], strict=False):
        if before[0] == after[0]:
            pairs[(before[1], after[1])] += 1
    assert dict(pairs) == EXPECTED_DFG


def test_xes_read_by_pm4py_iterparse(tmp_path: Path, pm4py: ModuleType) -> None:
    from pm4py.objects.log.importer.xes import importer as xes_importer

    path = tmp_path / "log.xes"
    write_xes(ROWS, path)
    log = xes_importer.apply(str(path), variant=xes_importer.Variants.ITERPARSE)
    assert [t.attributes["concept:name"] for t in log] == ["办件-003", "办件-002", "办件-001"]
    got = [
        (
            trace.attributes["concept:name"],
            event["concept:name"],
            event["time:timestamp"],
            event["lifecycle:transition"],
            event["org:resource"],
            event["org:group"],
        )
        for trace in log
        for event in trace
    ]
    assert got == EXPECTED
    first_case = log[2]
    assert first_case.attributes["service"] == "企业开办"
    assert first_case[0]["trips"] == 1
    assert first_case[0]["channel"] == "窗口"
    assert first_case[2]["overdue"] is False
    assert log[1][0]["fee"] == 12.5


def test_xes_structure_with_lxml(tmp_path: Path) -> None:
    path = tmp_path / "log.xes"
    write_xes(ROWS, path)
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{XES}log"
    assert root.get("xes.version") == "1849-2016"
    assert {e.get("prefix") for e in root.findall(f"{XES}extension")} == {
        "concept",
        "time",
        "lifecycle",
        "org",
    }
    globals_ = {g.get("scope"): g for g in root.findall(f"{XES}global")}
    event_globals = {(a.tag, a.get("key")) for a in globals_["event"]}
    assert event_globals == {
        (f"{XES}string", "concept:name"),
        (f"{XES}date", "time:timestamp"),
        (f"{XES}string", "lifecycle:transition"),
        (f"{XES}string", "org:resource"),
        (f"{XES}string", "org:group"),
    }
    trace_globals = {(a.tag, a.get("key")) for a in globals_["trace"]}
    assert trace_globals == {(f"{XES}string", "concept:name"), (f"{XES}string", "service")}

    got = []
    for trace in root.findall(f"{XES}trace"):
        case = trace.find(f"{XES}string[@key='concept:name']")
        assert case is not None
        for event in trace.findall(f"{XES}event"):
            attrs = {a.get("key"): a.get("value") for a in event}
            got.append(
                (
                    case.get("value"),
                    attrs["concept:name"],
                    datetime.fromisoformat(attrs["time:timestamp"] or ""),
                    attrs["lifecycle:transition"],
                    attrs["org:resource"],
                    attrs["org:group"],
                )
            )
    assert got == EXPECTED

    def typed(key: str) -> tuple[str, str | None]:
        found = root.find(f".//{XES}event/*[@key='{key}']")
        assert found is not None
        return found.tag.removeprefix(XES), found.get("value")

    assert typed("trips") == ("int", "1")
    assert typed("fee") == ("float", "12.5")
    assert typed("overdue") == ("boolean", "true")  # 办件-002 办结, the first one in the file
    assert typed("note") == ("string", "缺\\u0001身份证\\u000b复印件")
    assert typed("time:timestamp") == ("date", "2026-03-02T08:00:00.000+08:00")
    # the event keeps the offset it was recorded with
    assert 'value="2026-03-02T01:30:00.000+00:00"' in path.read_text(encoding="utf-8")
    # case attributes are on the trace, never repeated on events
    assert root.find(f".//{XES}event/*[@key='case:service']") is None


def test_xes_gz(tmp_path: Path, pm4py: ModuleType) -> None:
    path = tmp_path / "log.xes.gz"
    write_xes(ROWS, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    frame = pm4py.read_xes(str(path))
    assert list(frame["concept:name"]) == [e[1] for e in EXPECTED]
    assert etree.fromstring(gzip.decompress(path.read_bytes())).tag == f"{XES}log"


def test_xes_from_polars_frame_equals_xes_from_dicts(tmp_path: Path) -> None:
    rows = [
        {k: v for k, v in r.items() if k not in {"note", "fee", "trips", "overdue"}}
        for r in ROWS
        if r["time:timestamp"].tzinfo is SH
    ]
    frame = pl.DataFrame(
        rows, schema_overrides={"time:timestamp": pl.Datetime("us", "Asia/Shanghai")}
    )
    write_xes(rows, tmp_path / "dicts.xes")
    write_xes(frame, tmp_path / "frame.xes")
    assert (tmp_path / "frame.xes").read_bytes() == (tmp_path / "dicts.xes").read_bytes()


# --- empty input, dispatch and errors ---------------------------------------------


def test_empty_input_writes_valid_empty_files(tmp_path: Path) -> None:
    assert write_xes([], tmp_path / "e.xes") == 0
    root = etree.parse(str(tmp_path / "e.xes")).getroot()
    assert root.tag == f"{XES}log"
    assert root.findall(f"{XES}trace") == []

    write_csv([], tmp_path / "e.csv")
    assert pl.read_csv(tmp_path / "e.csv").columns == COLUMNS

    write_parquet(iter([]), tmp_path / "e.parquet")
    frame = pl.read_parquet(tmp_path / "e.parquet")
    assert frame.columns == COLUMNS
    assert frame.height == 0


def test_empty_xes_is_readable_by_pm4py(tmp_path: Path, pm4py: ModuleType) -> None:
    from pm4py.objects.log.importer.xes import importer as xes_importer

    write_xes([], tmp_path / "e.xes")
    log = xes_importer.apply(str(tmp_path / "e.xes"), variant=xes_importer.Variants.ITERPARSE)
    assert len(log) == 0


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("csv", "csv"), ("PARQUET", "parquet"), ("xes", "xes")]
)
def test_write_events_dispatches(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"log.{suffix}"
    assert write_events(ROWS, path, fmt) == len(ROWS)
    assert path.stat().st_size > 0


def test_write_events_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="unsupported event-log format 'ocel'") as caught:
        write_events(ROWS, tmp_path / "log.ocel", "ocel")
    assert caught.value.code == "eventlog.unsupported_format"
    assert "csv, parquet, xes" in caught.value.message
    assert not (tmp_path / "log.ocel").exists()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"time:timestamp": datetime(2026, 3, 2, 9, 0)}, "no time zone"),
        ({"time:timestamp": "2026-03-02T09:00:00+08:00"}, "timezone-aware datetime"),
        ({"concept:name": None}, "concept:name is missing"),
        ({"deadline": datetime(2026, 3, 9, 23, 59)}, "deadline"),
    ],
)
@pytest.mark.parametrize("writer", [write_csv, write_parquet, write_xes])
def test_bad_rows_are_rejected_and_leave_no_file(
    tmp_path: Path, writer: Any, change: dict[str, Any], match: str
) -> None:
    rows = [dict(ROWS[0]), {**ROWS[1], **change}]
    path = tmp_path / "bad.out"
    with pytest.raises(ValidationFailed, match=match):
        writer(rows, path)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "log.xes"
    path.write_text("old", encoding="utf-8")
    write_xes(ROWS, path)
    assert etree.parse(str(path)).getroot().tag == f"{XES}log"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.xes"]


def test_pm4py_is_never_imported_under_src() -> None:
    offenders = [
        str(p)
        for p in SRC.rglob("*.py")
        if "import pm4py" in p.read_text(encoding="utf-8")
        or "from pm4py" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
