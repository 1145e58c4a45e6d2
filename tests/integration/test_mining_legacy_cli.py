"""`onewindow mining` on legacy exports: every command takes the import options, too many
dropped rows stop the run, and the report says which lifecycle its map kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_mining_cli import _run

HEADER = ("单号", "步骤", "完成时间", "科室")
MAPPING = "case=单号,activity=步骤,timestamp=完成时间,department=科室"


def _disco_export(tmp_path: Path, cases: int = 10, bad: int = 0) -> Path:
    """A semicolon-separated GBK file with Disco's ``2014/10/22 11:15:41.000`` stamps."""
    lines = [";".join(HEADER)]
    for n in range(cases):
        day = 10 + n % 15
        lines.append(f"K{n:03d};收件;2014/10/{day} 09:15:41.000;窗口")
        lines.append(f"K{n:03d};审核;2014/10/{day} 11:{n:02d}:00.000;审批科")
        lines.append(f"K{n:03d};办结;2014/10/{day + 1} 10:00:00.000;审批科")
    for i in range(bad):  # a row typed by hand, in another format
        case, step, _, dept = lines[1 + 3 * i].split(";")
        lines[1 + 3 * i] = ";".join((case, step, "22-10-2014", dept))
    path = tmp_path / "disco.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def test_map_and_variants_take_the_mapping_and_read_a_gbk_semicolon_export(
    tmp_path: Path,
) -> None:
    log = str(_disco_export(tmp_path))
    result = _run("map", log, "--mapping", MAPPING)
    assert result.exit_code == 0, result.output
    assert "encoding gb18030, separator semicolon, timestamps ymd-slash" in result.output
    assert "30 of 30 rows kept" in result.output
    assert "收件" in result.output
    result = _run("variants", log, "--mapping", MAPPING, "--lifecycle", "all")
    assert result.exit_code == 0, result.output
    assert "收件 → 审核 → 办结" in result.output
    named = _run("map", log, "--mapping", MAPPING, "--encoding", "gbk", "--separator", ";")
    assert named.exit_code == 0, named.output
    out = tmp_path / "log.parquet"
    result = _run("import", log, "--mapping", MAPPING, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_a_mapped_column_the_file_lacks_stops_every_command(tmp_path: Path) -> None:
    log = str(_disco_export(tmp_path))
    mapping = MAPPING + ",resource=经办人"
    for command in (["map", log], ["variants", log], ["report", log, "--out", "o.json"]):
        result = _run(*command, "--mapping", mapping)
        assert result.exit_code == 2, (command, result.output)
        assert "经办人" in result.output


@pytest.mark.parametrize(
    ("bad", "flags", "code"),
    [
        (0, [], 0),
        (1, [], 0),  # 1 of 60 rows: under 5 %
        (4, [], 2),  # 4 of 60: over 5 %
        (4, ["--allow-drops"], 0),
        (4, ["--max-drop-share", "0.1"], 0),
    ],
)
def test_too_many_dropped_rows_stop_the_run(
    tmp_path: Path, bad: int, flags: list[str], code: int
) -> None:
    log = str(_disco_export(tmp_path, cases=20, bad=bad))
    out = tmp_path / "r.json"
    result = _run("report", "--log", log, "--mapping", MAPPING, "--out", str(out), *flags)
    assert result.exit_code == code, result.output
    if bad:
        assert "expected ymd-slash (e.g. 2014/10/22 11:15:41.000)" in result.output
        assert "'22-10-2014'" in result.output
    if code == 2:
        assert "--allow-drops" in result.output
        assert not out.exists()
    else:
        dropped = json.loads(out.read_text(encoding="utf-8"))["import"]["dropped"]
        assert sum(d["count"] for d in dropped) == bad


def test_a_forced_timestamp_format_is_used(tmp_path: Path) -> None:
    log = str(_disco_export(tmp_path))
    result = _run("map", log, "--mapping", MAPPING, "--timestamp-format", "dmy")
    assert result.exit_code == 2  # every value is read as dd-mm-yyyy, and none is
    assert "expected dmy" in result.output
    result = _run("map", log, "--mapping", MAPPING, "--timestamp-format", "%Y/%m/%d %H:%M:%S%.f")
    assert result.exit_code == 0, result.output
    result = _run("map", log, "--mapping", MAPPING, "--timestamp-format", "martian")
    assert result.exit_code == 2
    assert "unknown timestamp format" in result.output


def test_the_report_says_which_lifecycle_its_map_kept(tmp_path: Path) -> None:
    rows = ["case,activity,timestamp,lifecycle"]
    for n in range(6):
        for minute, (act, life) in enumerate(
            [("A", "start"), ("A", "complete"), ("B", "start"), ("B", "complete")]
        ):
            rows.append(f"c{n},{act},2024-03-05 09:{minute:02d}:{n:02d},{life}")
    log = tmp_path / "lc.csv"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = "case=case,activity=activity,timestamp=timestamp,lifecycle=lifecycle"
    edges = {}
    for lifecycle in ("all", "start", "complete"):
        out = tmp_path / f"{lifecycle}.json"
        result = _run(
            "report", str(log), "--mapping", mapping, "--lifecycle", lifecycle, "--out", str(out)
        )
        assert result.exit_code == 0, result.output
        document = json.loads(out.read_text(encoding="utf-8"))
        assert document["process_map"]["lifecycle"] == lifecycle
        edges[lifecycle] = {
            (e["source"], e["target"]): e["count"] for e in document["process_map"]["edges"]
        }
        html = tmp_path / f"{lifecycle}.html"
        _run("report", str(log), "--mapping", mapping, "--lifecycle", lifecycle, "--out", str(html))
        assert f"lifecycle: {lifecycle}" in html.read_text(encoding="utf-8")
    assert edges["all"] == {("A", "A"): 6, ("A", "B"): 6, ("B", "B"): 6}
    assert edges["start"] == edges["complete"] == {("A", "B"): 6}
