"""The demo city is generated through the real engine, and the same seed gives the same data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from rich.console import Console

from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.eventlog import service as eventlog
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings

OPTS = DemoOptions(weeks=1, seed=7, cases_per_day=6, start=date(2026, 3, 2))


def _generate(settings: Settings, out: Path) -> pl.DataFrame:
    platform = Platform.create(settings)
    summary = seed_demo(platform, OPTS, console=Console(quiet=True))
    assert summary.cases > 10
    assert summary.events > summary.cases * 3
    with platform.unit_of_work() as ctx:
        eventlog.export(ctx, out, "csv")
    platform.dispose()
    return pl.read_csv(out)


def test_same_seed_same_data(settings: Settings, tmp_path: Path, database_template: str) -> None:
    first = _generate(settings, tmp_path / "a.csv")
    # A second, fresh database from the same template.
    if "search_path" in settings.resolved_database_url:
        from tests.conftest import _truncate_all

        _truncate_all(settings.resolved_database_url)
        other = settings
    else:
        import shutil

        shutil.copyfile(database_template, tmp_path / "b.db")
        other = Settings(
            env="test", data_dir=tmp_path / "b", database_url=f"sqlite:///{tmp_path / 'b.db'}"
        )
    second = _generate(other, tmp_path / "b.csv")
    assert first.equals(second)
    activities = set(first["concept:name"])
    assert {"提交申请", "窗口受理", "办结"} <= activities
    # Realistic history: some cases came back for 补正, several services ran.
    assert "补正通知" in activities
    assert first["case:service"].n_unique() >= 4
