"""The `onewindow` command on a real database: each command, and its clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from onewindow.cli.main import app
from tests.conftest import DEMO_CITY


@pytest.fixture
def cli_env(
    settings: object, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONEWINDOW_ENV", "test")
    return tmp_path


runner = CliRunner()


def test_help_on_every_command() -> None:
    for args in (
        [],
        ["db", "upgrade"],
        ["catalog", "load"],
        ["process", "validate"],
        ["eventlog", "export"],
        ["demo"],
        ["serve"],
        ["worker"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_catalog_load_export_and_worker(cli_env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["catalog", "load", str(DEMO_CITY)])
    assert result.exit_code == 0, result.output
    assert "7 departments" in result.output
    result = runner.invoke(app, ["demo", "--no-serve", "--weeks", "1", "--cases-per-day", "3"])
    assert result.exit_code == 0, result.output
    assert "center_qian" in result.output
    out = cli_env / "log.csv"
    result = runner.invoke(app, ["eventlog", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("case:concept:name")
    result = runner.invoke(app, ["eventlog", "export", "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 2
    assert "eventlog.unsupported_format" in result.output
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output


def test_process_validate_names_elements(tmp_path: Path) -> None:
    good = DEMO_CITY / "services" / "social_security_card.bpmn"
    assert runner.invoke(app, ["process", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "bad.bpmn"
    bad.write_text(
        good.read_text(encoding="utf-8").replace(
            'decision == "send_back"', "open('/etc/passwd').read()"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["process", "validate", str(bad)])
    assert result.exit_code == 1
    assert ":Flow" in result.output
    missing = runner.invoke(app, ["process", "validate", str(tmp_path / "nope.bpmn")])
    assert missing.exit_code == 2


def test_unmigrated_database_is_a_clear_error(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", f"sqlite:///{cli_env / 'fresh.db'}")
    result = runner.invoke(app, ["catalog", "load", str(DEMO_CITY)])
    assert result.exit_code == 2
    assert "db.not_migrated" in result.output
    assert "onewindow db upgrade" in result.output


def test_bad_catalogue_lists_problems(cli_env: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    folder = tmp_path / "broken"
    (folder / "services").mkdir(parents=True)
    (folder / "services" / "x.yaml").write_text("code: X-1\nname_zh: 甲\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "load", str(folder)])
    assert result.exit_code == 2
    assert "catalog.invalid" in result.output
    assert "time_limit_days" in result.output
