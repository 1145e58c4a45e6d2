"""`onewindow simulate` and its fit / validate / propose subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml
from typer.testing import CliRunner

from onewindow.cli.simulate import simulate_app
from onewindow.mining.importers import read_log

SRC = Path(__file__).resolve().parents[2] / "src" / "onewindow"
EXAMPLES = SRC / "simulation" / "examples"
CITY = SRC / "demo" / "city" / "services"
runner = CliRunner()


def test_simulate_fit_validate_propose(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    model = EXAMPLES / "business_licence_legacy.bpmn"
    result = runner.invoke(
        simulate_app,
        [
            "--model",
            str(model),
            "--params",
            str(EXAMPLES / "business_licence_legacy.yaml"),
            "--cases",
            "600",
            "--seed",
            "3",
            "--out",
            str(log),
            "--replications",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cycle_median_h"]["ci_low"] <= summary["cycle_median_h"]["mean"]
    frame, report = read_log(log)
    assert report.rows_kept == frame.height > 600 * 8
    assert frame.schema["time:timestamp"] == pl.Datetime("us", "UTC")

    params = tmp_path / "fitted.yaml"
    result = runner.invoke(
        simulate_app,
        [
            "fit",
            "--log",
            str(log),
            "--model",
            str(model),
            "--out",
            str(params),
            "--service",
            str(CITY / "business_licence.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    fitted = yaml.safe_load(params.read_text("utf-8"))
    assert fitted["in_person"] == ["Task_window_accept", "Task_window_issue"]

    result = runner.invoke(
        simulate_app,
        [
            "validate",
            "--log",
            str(log),
            "--model",
            str(model),
            "--params",
            str(params),
            "--replications",
            "3",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    assert "cycle_median_h" in result.stdout
    assert "trust" in result.stdout

    out = tmp_path / "proposals"
    result = runner.invoke(
        simulate_app,
        [
            "propose",
            "--model",
            str(model),
            "--params",
            str(params),
            "--out",
            str(out),
            "--cases",
            "300",
            "--replications",
            "2",
            "--service",
            str(CITY / "business_licence.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    ranking = json.loads((out / "ranking.json").read_text("utf-8"))
    keys = {p["key"] for p in ranking["proposals"]}
    assert {"parallel", "merge", "precheck", "combined"} <= keys
    assert (out / "combined.bpmn").exists()
    assert (out / "combined.yaml").exists()


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("arrivals: {distribution: exponential, mean_minutes: 5}\nresources: {}\n")
    result = runner.invoke(
        simulate_app,
        ["--model", str(CITY / "business_licence.bpmn"), "--params", str(bad), "--cases", "5"],
    )
    assert result.exit_code == 2
    assert "no resources" in result.output
    assert "Traceback" not in result.output
