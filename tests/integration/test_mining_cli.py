"""`onewindow mining report|compare|schema` on files: outputs as documented, bad input
as a clear message (exit 2), never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import jsonschema_rs
import pytest
from typer.testing import CliRunner, Result

from onewindow.cli.mining import mining_app
from onewindow.mining.schema import COMPARE_SCHEMA, REPORT_SCHEMA
from tests.conftest import TEST_DATA

LOGS = TEST_DATA / "eventlogs"
HEADER = "Case,Step,When,Dept,Channel,Service,Form_ID"
LEGACY = [
    "k1,收件,2026-03-02 09:00,窗口,online,S1,44",
    "k1,审核,2026-03-02 15:00,审批科,online,S1,44",
    "k1,办结,2026-03-03 10:00,审批科,online,S1,",
    "k2,收件,2026-03-02 10:00,窗口,window,S2,45",
    "k2,审核,2026-03-04 10:00,审批科,window,S2,",
    "k2,补正通知,2026-03-04 11:00,审批科,window,S2,",
    "k2,审核,2026-03-05 10:00,审批科,window,S2,45",
    "k2,办结,2026-03-06 10:00,审批科,window,S2,",
    "k3,收件,2026-03-09 10:00,窗口,online,S1,",
]
MAPPING = "case=Case,activity=Step,timestamp=When,department=Dept,channel=Channel,service=Service"


def _run(*args: str) -> Result:
    result = CliRunner().invoke(mining_app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _csv(tmp_path: Path, lines: list[str], name: str = "legacy.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _valid(schema: dict[str, object], document: object) -> None:
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(document)]
    assert not errors, errors[:5]


def test_report_json_with_mapping_and_filters(tmp_path: Path) -> None:
    log = _csv(tmp_path, LEGACY)
    out = tmp_path / "r.json"
    result = _run(
        "report", "--log", str(log), "--mapping", MAPPING, "--format", "json", "--out", str(out),
        "--time-limit", "2", "--end-activity", "办结", "--trip-activity", "收件",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    _valid(REPORT_SCHEMA, document)
    assert document["cases"] == 3
    assert document["returns"]["cases_with_returns"] == 1
    assert document["rework"]["rework_cases"] == 1
    assert document["handoffs"][0]["from_department"] == "窗口"
    assert document["duplicate_entry"]["fields"][0]["field"] == "Form_ID"
    assert document["duplicate_entry"]["fields"][0]["duplicate_cases"] == 2
    assert document["sla"]["cases"] == 2
    # the same with filters: channel, department, service, period, variant, attribute
    for flags, cases in (
        (["--channel", "window"], 1),
        (["--service", "S1"], 2),
        (["--department", "审批科"], 2),
        (["--since", "2026-03-05T00:00:00+00:00"], 1),
        (["--variant", "收件 → 审核 → 办结"], 1),
        (["--attr", "Form_ID=45"], 1),
    ):
        result = _run("report", "--log", str(log), "--mapping", MAPPING, "--out", str(out), *flags)
        assert result.exit_code == 0, (flags, result.output)
        assert json.loads(out.read_text(encoding="utf-8"))["cases"] == cases, flags


def test_report_html_and_mapping_file(tmp_path: Path) -> None:
    log = _csv(tmp_path, LEGACY)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"case": "Case", "activity": "Step", "timestamp": "When"}))
    out = tmp_path / "r.html"
    result = _run("report", "--log", str(log), "--mapping", str(mapping), "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "<svg" in html
    assert "<script" not in html


def test_compare_json_and_html(tmp_path: Path) -> None:
    before = _csv(tmp_path, LEGACY[:8], "before.csv")
    after = _csv(tmp_path, [line.replace("k1", "k9") for line in LEGACY[:3]], "after.csv")
    out = tmp_path / "c.json"
    args = ["compare", "--before", str(before), "--after", str(after), "--mapping", MAPPING]
    result = _run(*args, "--out", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    _valid(COMPARE_SCHEMA, document)
    names = [m["name"] for m in document["comparison"]["metrics"]]
    assert names[0].startswith("case duration")
    assert document["after"]["cases"] == 1
    html_out = tmp_path / "c.html"
    result = _run(*args, "--out", str(html_out), "--format", "html")
    assert result.exit_code == 0, result.output
    assert "Mann–Whitney" in html_out.read_text(encoding="utf-8")


def test_schema_command_prints_the_schema() -> None:
    result = _run("schema")
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == REPORT_SCHEMA["title"]


def test_wabo_report_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "wabo.json"
    result = _run(
        "report", "--log", str(LOGS / "wabo_receipt.csv"), "--out", str(out),
        "--deadline-column", "case:deadline", "--group-by", "case:channel",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    _valid(REPORT_SCHEMA, document)
    assert document["cases"] == 1434
    assert document["handoffs"]
    assert document["bottlenecks"][0]["sentence"].endswith("% of cycle time")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("log.xes", HEADER.encode() + b"\n" + LEGACY[0].encode(), "not well-formed XES"),
        ("log.xes.gz", gzip.compress(b"<log><trace>"), "not well-formed XES"),
        ("log.parquet", b"Case,Step\n1,2\n", "as Parquet"),
        ("log.jsonocel", b"not json at all", "as OCEL 2.0"),
        ("log.xmlocel", b"{}", "OCEL 2.0"),
        ("log.csv", gzip.compress(b"\x00\x01\x02" * 50), "no column"),
        ("log.txt", b"whatever", "cannot tell the format"),
    ],
)
def test_a_file_that_is_not_what_it_claims(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    extra = ["--object-type", "Invoice"] if "ocel" in name else []
    result = _run("report", "--log", str(path), "--out", str(tmp_path / "o.json"), *extra)
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_missing_mapped_columns_are_named(tmp_path: Path) -> None:
    log = _csv(tmp_path, LEGACY)
    result = _run(
        "report", "--log", str(log), "--mapping", "case=Case,activity=Task,timestamp=When",
        "--out", str(tmp_path / "o.json"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Task" in result.output


def test_unparsable_timestamps_are_reported_by_row(tmp_path: Path) -> None:
    lines = list(LEGACY)
    lines[1] = lines[1].replace("2026-03-02 15:00", "yesterday")
    lines[4] = lines[4].replace("2026-03-04 10:00", "2026-13-45 99:00")
    log = _csv(tmp_path, lines)
    out = tmp_path / "o.json"
    args = ["report", "--log", str(log), "--mapping", MAPPING, "--out", str(out)]
    result = _run(*args)
    assert result.exit_code == 2, result.output  # 2 of 9 rows: more than 5 % dropped
    assert "--allow-drops" in result.output
    assert not out.exists()
    result = _run(*args, "--allow-drops")
    assert result.exit_code == 0, result.output
    assert "timestamp unparsable" in result.output
    assert "rows 3 'yesterday', 6 '2026-13-45 99:00'" in result.output  # the header is row 1
    dropped = json.loads(out.read_text(encoding="utf-8"))["import"]["dropped"]
    assert dropped == [
        {
            "reason": "timestamp unparsable",
            "count": 2,
            "rows": [3, 6],
            "values": ["yesterday", "2026-13-45 99:00"],
            "expected": "iso (e.g. 2024-03-05 09:30:00+08:00)",
            "out_of_scope": False,
        }
    ]


def test_no_usable_rows_is_a_clear_error(tmp_path: Path) -> None:
    bad = _csv(tmp_path, [line.replace("2026-03-0", "x") for line in LEGACY[:2]])
    result = _run("report", "--log", str(bad), "--mapping", MAPPING, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "no usable events" in result.output
    assert "rows 2 'x2 09:00', 3 'x2 15:00'" in result.output
    empty = _csv(tmp_path, [], "empty.csv")
    result = _run("report", "--log", str(empty), "--mapping", MAPPING, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "no usable events" in result.output


def test_filters_that_match_nothing_and_other_mistakes(tmp_path: Path) -> None:
    log = _csv(tmp_path, LEGACY)
    out = str(tmp_path / "o.json")
    base = ["report", "--log", str(log), "--mapping", MAPPING, "--out", out]
    for flags, expected in (
        (["--service", "NOPE"], "no events match the filters"),
        (["--attr", "Form_ID"], "key=value"),
        (["--attr", "Colour=red"], "no column Colour"),
        (["--format", "pdf"], "json or html"),
        (["--mapping", "colour=Case"], "unknown mapping key"),
    ):
        result = _run(*base, *flags)
        assert result.exit_code == 2, (flags, result.output)
        assert expected in result.output, (flags, result.output)
    result = _run("report", "--log", str(tmp_path / "missing.csv"), "--out", out)
    assert result.exit_code == 2
    assert "no such file" in result.output
    result = _run(*base[:-1], str(tmp_path / "no" / "dir" / "o.json"))
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_a_case_with_one_event(tmp_path: Path) -> None:
    log = _csv(tmp_path, LEGACY[-1:])
    out = tmp_path / "o.json"
    result = _run(
        "report", "--log", str(log), "--mapping", MAPPING, "--out", str(out), "--time-limit", "1"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    _valid(REPORT_SCHEMA, document)
    assert document["cases"] == 1
    assert document["process_map"]["edges"] == []
    assert document["process_map"]["start_activities"] == [{"activity": "收件", "cases": 1}]
    assert document["sla"]["on_time"] == 1
