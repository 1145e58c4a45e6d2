"""Start-up pays only for what it uses: `onewindow --help` loads no command group and no heavy
library, each group loads its own module when run, and the web server starts without
scikit-learn, Splink, DuckDB or SimPy. Each probe runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from onewindow.cli import main
from onewindow.kit.settings import Settings
from tests.conftest import DEMO_CITY

# Heavy to import, and needed by no `--help`.
HEAVY = {"sklearn", "splink", "duckdb", "simpy", "polars", "SpiffWorkflow", "scipy", "jieba"}
# The web server needs polars (exports) and SpiffWorkflow (cases), not these.
HEAVY_FOR_SERVER = {"sklearn", "splink", "duckdb", "simpy", "scipy", "jieba"}
GROUP_MODULES = {target.partition(":")[0] for target, _ in main._Groups.groups.values()}

PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
{body}
"""


def _imported(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module a fresh interpreter has loaded after running ``body``."""
    out = tmp_path / "modules.json"
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own probe
        [sys.executable, "-c", PROBE.format(body=body), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert out.exists(), result.stderr
    modules: list[str] = json.loads(out.read_text())
    return set(modules)


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _run_cli(*args: str) -> str:
    return f"from onewindow.cli.main import app\napp({list(args)!r})"


def test_help_loads_no_group_and_no_heavy_library(tmp_path: Path) -> None:
    modules = _imported(tmp_path, _run_cli("--help"))
    assert not _top(modules) & HEAVY, sorted(_top(modules) & HEAVY)
    assert not modules & GROUP_MODULES, sorted(modules & GROUP_MODULES)
    assert "onewindow.cli.main" in modules  # the probe did run the CLI


def test_help_lists_every_command_with_its_help() -> None:
    result = CliRunner().invoke(main.app, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    root = typer.main.get_command(main.app)
    assert isinstance(root, main._Groups)
    names = set(root.commands)
    assert {"demo", "serve", "worker", "db", "process", *main._Groups.groups} <= names
    for name in names:
        line = next((x for x in result.output.splitlines() if x.strip().startswith(name)), "")
        short = root.commands[name].get_short_help_str(200)
        assert short, name
        assert short in line, (name, line)


@pytest.mark.parametrize("name", sorted(main._Groups.groups))
def test_a_group_loads_when_run_with_the_help_it_is_listed_with(name: str) -> None:
    root = typer.main.get_command(main.app)
    assert isinstance(root, main._Groups)
    placeholder = root.commands[name]
    group = root.load(name)
    assert group is not placeholder
    assert group.help == placeholder.help  # the root help says what the group says
    assert group.list_commands(typer.Context(group))  # real subcommands behind it
    result = CliRunner().invoke(main.app, [name, "--help"])
    assert result.exit_code == 0, result.output
    for sub in group.list_commands(typer.Context(group)):
        assert sub in result.output


@pytest.mark.parametrize("name", sorted(main._Groups.groups))
def test_a_groups_help_loads_no_model_or_linkage_library(tmp_path: Path, name: str) -> None:
    modules = _top(_imported(tmp_path, _run_cli(name, "--help")))
    assert not modules & (HEAVY_FOR_SERVER - {"scipy"}), sorted(modules & HEAVY_FOR_SERVER)


def test_process_validate_loads_the_engine_only(tmp_path: Path) -> None:
    bpmn = DEMO_CITY / "services" / "business_licence.bpmn"
    modules = _top(_imported(tmp_path, _run_cli("process", "validate", str(bpmn))))
    assert "SpiffWorkflow" in modules
    assert not modules & (HEAVY - {"SpiffWorkflow"}), sorted(modules & HEAVY)


def test_the_web_server_starts_without_the_heavy_libraries(
    tmp_path: Path, settings: Settings
) -> None:
    body = (
        "from onewindow.api.app import create_app\n"
        "from onewindow.kit.platform import Platform\n"
        "app = create_app()\n"
        "assert any(r.path == '/api/v1/health' for r in app.routes)\n"
    )
    env = {
        "ONEWINDOW_DATABASE_URL": settings.resolved_database_url,
        "ONEWINDOW_DATA_DIR": str(settings.data_dir),
        "ONEWINDOW_ENV": "test",
    }
    modules = _top(_imported(tmp_path, body, env))
    assert "fastapi" in modules
    assert not modules & HEAVY_FOR_SERVER, sorted(modules & HEAVY_FOR_SERVER)
