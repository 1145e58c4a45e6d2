"""The demo city's feedback (the planted hotspot is what the analyst sees first) and the
``onewindow feedback`` commands on plain files."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from onewindow.cli.feedback import feedback_app
from onewindow.demo.feedback_demo import HOTSPOT, seed_feedback
from onewindow.feedback import corpus
from onewindow.feedback import service as feedback
from onewindow.kit.platform import Platform


def test_demo_feedback_puts_the_planted_hotspot_first(city: Platform) -> None:
    summary = seed_feedback(city, seed=7, console=Console(quiet=True))
    assert summary.historic_tickets > 1000
    assert summary.live_tickets >= 25
    assert summary.survey_responses >= 50
    assert summary.board_items == 3
    with city.unit_of_work() as ctx:
        report = feedback.hotspot_report(ctx)
        overview = feedback.overview(ctx)
        board = feedback.public_board(ctx)
    top = report["flags"][0]
    assert (top["district"], top["category"]) == HOTSPOT
    assert len(overview["by_category"]) >= 10
    assert board[0]["title"]
    # a second run finds the data and adds nothing
    assert seed_feedback(city, seed=7, console=Console(quiet=True)).historic_tickets == 0


def test_cli_classify_with_and_without_training(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text\n1,公司拖欠工资三个月\n2,\n3,這條馬路的紅綠燈壞了😡\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(feedback_app, ["classify", "--in", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["category"] for r in rows] == ["wages", "", "traffic"]
    assert rows[1]["error"]
    assert 0 < float(rows[0]["confidence"]) <= 1
    labelled = tmp_path / "train.csv"
    with labelled.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category"])
        for _ in range(20):
            writer.writerow(["井盖丢失，夜里很危险", "manhole"])
            writer.writerow(["路灯不亮，晚上看不见", "streetlight"])
    src.write_text("text\n小区门口井盖丢失了\n", encoding="utf-8")
    result = CliRunner().invoke(
        feedback_app, ["classify", "--train", str(labelled), "--in", str(src), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert next(csv.DictReader(out.open(encoding="utf-8")))["category"] == "manhole"


def test_cli_hotspots_flags_the_planted_cell(tmp_path: Path) -> None:
    rng = random.Random(3)
    start = datetime(2026, 1, 5, 10)
    path = tmp_path / "tickets.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["district", "category", "created_at"])
        for week in range(10):
            for district in corpus.DISTRICTS:
                for category in ("traffic", "environment", "housing"):
                    n = rng.randint(1, 4) + (
                        20 if (week, district, category) == (9, "台江区", "traffic") else 0
                    )
                    for _ in range(n):
                        at = start + timedelta(weeks=week, days=rng.randint(0, 6))
                        writer.writerow([district, category, at.isoformat()])
        writer.writerow(["", "traffic", "not a date"])
    result = CliRunner().invoke(feedback_app, ["hotspots", "--in", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    flags = json.loads(result.stdout)
    assert [(f["district"], f["category"]) for f in flags] == [("台江区", "traffic")]
    assert flags[0]["count"] > flags[0]["baseline"]
    assert flags[0]["p_value"] < 1e-6
