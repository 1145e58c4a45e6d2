"""`onewindow` command line: serve, worker, demo, db, catalog, process, eventlog.

Each command is one entrypoint and owns its transaction; errors print their code and message
instead of a stack trace.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from onewindow.cli.lazy import LazyConsole, LazyGroups, escape
from onewindow.kit.errors import OneWindowError


class _Groups(LazyGroups):
    # Each group's module is imported only when the group runs (the heavy libraries with it);
    # the help here is the group's own (a test keeps the two the same).
    groups = {
        "datahub": (
            "onewindow.cli.datahub:datahub_app",
            "数据中台: sources, identity resolution, sharing.",
        ),
        "mining": (
            "onewindow.cli.mining:mining_app",
            "Process mining (流程挖掘): maps, variants, trips, SLA, conformance, reports.",
        ),
        "simulate": (
            "onewindow.cli.simulate:simulate_app",
            "What-if simulation of BPMN processes (流程仿真): run, fit, validate, propose.",
        ),
        "feedback": (
            "onewindow.cli.feedback:feedback_app",
            "诉求分析: classify complaint texts, find district hotspots.",
        ),
        "training": (
            "onewindow.cli.training:training_app",
            "培训: training needs from the event log.",
        ),
        "ledger": (
            "onewindow.cli.ledger:ledger_app",
            "账本: the tamper-evident ledger of decisions and data access (RFC 9162).",
        ),
        "privacy": (
            "onewindow.cli.privacy:privacy_app",
            "个人信息保护: keys, re-encryption, de-identified exports.",
        ),
    }


app = typer.Typer(
    help="onewindow — 一窗受理 government services on BPMN, improved from their own event log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_Groups,
    # Plain help: rendering it with rich would import more than the rest of --help together.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)
db_app = typer.Typer(help="Database schema (数据库).", no_args_is_help=True)
catalog_app = typer.Typer(help="Service catalogue (事项目录).", no_args_is_help=True)
process_app = typer.Typer(help="BPMN process files (流程).", no_args_is_help=True)
eventlog_app = typer.Typer(help="The process event log (事件日志).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(process_app, name="process")
app.add_typer(eventlog_app, name="eventlog")

console = LazyConsole(stderr=True, soft_wrap=True)
out = LazyConsole(soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OneWindowError as exc:
            # Messages carry user text and "[code]": print them literally, not as markup.
            console.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.message_zh}')}")
            if exc.message != exc.message_zh:
                console.print(f"      {escape(exc.message)}")
            for problem in exc.details.get("problems", []):
                console.print(f"  - {escape(_problem_text(problem))}")
            for item in exc.details.get("missing", []):
                console.print(f"  - missing: {escape(str(item))}")
            raise typer.Exit(2) from None

    return wrapper


def _problem_text(problem: Any) -> str:
    if isinstance(problem, dict):
        where = " ".join(str(problem[k]) for k in ("file", "element_id") if problem.get(k))
        return f"{where}: {problem.get('message')}" if where else str(problem.get("message"))
    return str(problem)


def _platform(*, migrated: bool = True) -> Any:
    from onewindow.kit.migrate import require_migrated
    from onewindow.kit.platform import Platform

    platform = Platform.create()
    if migrated:
        require_migrated(platform.engine)
    return platform


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or upgrade the schema to the code's version (Alembic)."""
    from onewindow.kit.migrate import current_revision, upgrade

    platform = _platform(migrated=False)
    upgrade(platform.engine)
    console.print(f"database at revision {current_revision(platform.engine)}")


@catalog_app.command("load")
@friendly_errors
def catalog_load(
    folder: Annotated[Path, typer.Argument(help="Folder with departments.yaml and services/")],
) -> None:
    """Load departments, staff and services with their BPMN processes; all or nothing."""
    from onewindow.catalog import service as catalog

    if not folder.is_dir():
        raise OneWindowError(
            f"{folder} is not a folder", message_zh=f"{folder} 不是目录", code="catalog.not_found"
        )
    platform = _platform()
    with platform.unit_of_work() as ctx:
        report = catalog.load_catalog(ctx, folder, actor="cli")
    console.print(
        f"loaded {report.departments} departments, {report.staff} staff, {report.services} services"
    )
    for version in report.new_process_versions:
        console.print(f"  new process version: {version}")


@process_app.command("validate")
@friendly_errors
def process_validate(
    file: Annotated[Path, typer.Argument(help="BPMN 2.0 file")],
    dmn: Annotated[list[Path] | None, typer.Option(help="DMN files it uses")] = None,
    calls: Annotated[
        list[Path] | None,
        typer.Option(help="BPMN files of the processes its call activities call"),
    ] = None,
) -> None:
    """Check a BPMN file as `catalog load` and starting a case would (compile, store, start);
    prints every problem on one line with its element id, exit 1 if any."""
    from onewindow.catalog.service import bpmn_keys
    from onewindow.workflow.engine import validate_bpmn

    try:
        xml = file.read_bytes()
        tables = [d.read_bytes() for d in dmn or []]
        called_files = {path: path.read_bytes() for path in calls or []}
    except OSError as exc:
        console.print(f"[bold red]error[/] cannot read {escape(str(exc.filename))}: {exc.strerror}")
        raise typer.Exit(2) from None
    called = {bpmn_keys(data)[0] or path.stem: data for path, data in called_files.items()}
    problems = validate_bpmn(xml, tables, called)
    for p in problems:
        out.print(escape(f"{file}:{p.element_id or '-'}: {p.message}"), soft_wrap=True)
    if problems:
        console.print(f"[red]{len(problems)} problem(s)[/]")
        raise typer.Exit(1)
    console.print(f"[green]{file}: OK[/]")


@eventlog_app.command("export")
@friendly_errors
def eventlog_export(
    out_path: Annotated[Path, typer.Option("--out", help="File to write (.xes.gz for gzip)")],
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet | xes")] = "xes",
    service: Annotated[str | None, typer.Option(help="Only this service item code")] = None,
    since: Annotated[datetime | None, typer.Option(help="From this time (ISO)")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (ISO)")] = None,
) -> None:
    """Export the event log with standard XES keys (pm4py, ProM, Disco, Celonis)."""
    from onewindow.eventlog import service as eventlog

    platform = _platform()
    started = time.perf_counter()
    with platform.unit_of_work() as ctx:
        eventlog.export(
            ctx,
            out_path,
            fmt,
            since=_aware(since, platform),
            until=_aware(until, platform),
            service_code=service,
        )
    console.print(f"wrote {out_path} in {time.perf_counter() - started:.1f}s")


def _aware(when: datetime | None, platform: Any) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=platform.calendar.zone)


@app.command()
@friendly_errors
def demo(
    weeks: Annotated[int, typer.Option(min=0, max=104, help="Weeks of history to generate")] = 8,
    seed: Annotated[int, typer.Option(help="Same seed, same data")] = 42,
    cases_per_day: Annotated[
        int, typer.Option(min=1, max=2000, help="Arrivals per working day")
    ] = 40,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when seeded")
    ] = True,
    reset: Annotated[bool, typer.Option(help="Delete the data directory first")] = False,
    loop: Annotated[
        bool,
        typer.Option(
            help="Also run the improvement loop: legacy process, analysis, redesign, proof"
        ),
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Seed the demo city (departments, staff, services, months of cases) and serve it."""
    import shutil

    from onewindow.demo.generator import DemoOptions, seed_demo
    from onewindow.kit.migrate import upgrade
    from onewindow.kit.settings import Settings

    settings = Settings()
    if reset and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    platform = _platform(migrated=False)
    upgrade(platform.engine)
    from datetime import timedelta

    # The last weeks come after the training, so its effect shows in the city's own log.
    after = min(3, weeks // 3)
    opts = DemoOptions(weeks=weeks, seed=seed, cases_per_day=cases_per_day)
    if after:
        start = datetime.now(platform.calendar.zone).date() - timedelta(weeks=weeks)
        opts = DemoOptions(weeks=weeks - after, seed=seed, cases_per_day=cases_per_day, start=start)
    summary = seed_demo(platform, opts, console=console.get())
    from onewindow.demo.training_demo import seed_training

    seed_training(platform, seed=seed, console=console.get(), history=summary, after_weeks=after)
    from onewindow.demo.feedback_demo import seed_feedback

    seed_feedback(platform, seed=seed, console=console.get())
    if loop:
        from onewindow.demo.loop_demo import run_improvement_loop

        run_improvement_loop(platform, seed=seed, console=console.get())
    _print_logins(summary.logins)
    console.print(
        f"demo city: {summary.cases} cases ({summary.closed} closed, {summary.returns} returns), "
        f"{summary.events} events"
    )
    if serve_after:
        _serve(host, port, workers=1, with_worker=True)


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    from rich.table import Table

    table = Table(title="Demo logins / 演示账号 (password: demo)")
    for col in ("username", "department", "roles"):
        table.add_column(col)
    for row in logins:
        table.add_row(*row)
    console.print(table)


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes")] = 1,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run timers in-process")
    ] = True,
) -> None:
    """Serve the API and pages (and, by default, the background worker). With --workers N,
    the server processes stop when this one does, even when it is killed."""
    _platform().dispose()  # refuse to start on an unmigrated database; no connection kept
    _serve(host, port, workers=workers, with_worker=worker)


def _serve(host: str, port: int, *, workers: int, with_worker: bool) -> None:
    from onewindow.api.server import serve as run_server

    console.print(f"serving on http://{host}:{port}  (API: /api/v1, docs: /api/v1/docs)")
    run_server(host, port, workers=workers, with_worker=with_worker)


@app.command("worker")
@friendly_errors
def worker_cmd(
    once: Annotated[bool, typer.Option(help="One pass, then exit")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between passes")] = 30.0,
) -> None:
    """Fire due BPMN timers, escalate tasks past their SLA (督办), deliver webhooks. Runs
    until stopped (SIGTERM, Ctrl-C); database and network outages are waited out."""
    import signal
    import threading

    from onewindow.worker import run_forever, run_once, wait_until_migrated

    if once:
        _print_pass(run_once(_platform()), always=True)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    platform = _platform(migrated=False)
    if wait_until_migrated(platform, stop=stop):
        run_forever(platform, stop=stop, interval=interval, on_report=_print_pass, at_once=True)


def _print_pass(r: Any, *, always: bool = False) -> None:
    if not (always or r.busy):
        return
    fb = r.feedback
    console.print(
        f"timers fired: {r.timers_fired}, tasks escalated: {r.tasks_escalated}, "
        f"webhooks delivered: {r.webhooks_delivered}, failed: {r.webhooks_failed}; "
        f"documents rendered: {r.documents_rendered}; feedback: {fb.invitations} invitations"
    )


@app.callback()
def _root() -> None:
    """onewindow: 一窗受理 on BPMN."""
