"""`onewindow mining …`: import a log, print its map and variants, write the HTML report.

Works on any log file (CSV, Parquet, XES, OCEL 2.0) or, with ``--own``, on this
installation's event log with the catalogue's trips, time limits and BPMN. Every command
reading a file takes the same import options (column mapping, encoding, separator,
timestamp format, how many dropped rows are tolerated). polars and the analyses are
imported inside the commands, so ``onewindow --help`` does not load them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onewindow.kit.errors import OneWindowError

mining_app = typer.Typer(
    help="Process mining (流程挖掘): maps, variants, trips, SLA, conformance, reports.",
    no_args_is_help=True,
)

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")

FileArg = Annotated[
    Path, typer.Argument(help="event log: .csv .parquet .xes(.gz) .jsonocel .xmlocel")
]
CaseOpt = Annotated[str, typer.Option("--case", help="column holding the case id")]
ActivityOpt = Annotated[str, typer.Option("--activity", help="column holding the activity")]
TimeOpt = Annotated[str, typer.Option("--timestamp", help="column holding the timestamp")]
TzOpt = Annotated[str, typer.Option("--assume-tz", help="zone for timestamps without one")]
ObjectOpt = Annotated[
    str | None, typer.Option("--object-type", help="OCEL: object type used as the case")
]
LifecycleOpt = Annotated[
    str,
    typer.Option(
        "--lifecycle",
        help="events the map and variants keep: complete (default), start, or all "
        "(every event, as pm4py's DFG counts them)",
    ),
]
MappingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mapping",
        help="column mapping key=column, comma-separated or repeated, or a JSON file; keys: "
        "case activity timestamp start lifecycle resource department channel service",
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="CSV encoding (default: detected — utf-8, utf-8-sig, utf-16, gb18030)"
    ),
]
SeparatorOpt = Annotated[
    str | None,
    typer.Option("--separator", help="CSV separator: , ; | or tab (default: detected)"),
]
TimestampFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--timestamp-format",
        help="iso, ymd-slash, dmy, chinese, epoch-s, epoch-ms, excel, or a strftime pattern "
        "(default: detected per column)",
    ),
]
AllowDropsOpt = Annotated[
    bool,
    typer.Option("--allow-drops", help="go on when more rows than --max-drop-share cannot be used"),
]
MaxDropShareOpt = Annotated[
    float,
    typer.Option(
        "--max-drop-share",
        min=0.0,
        max=1.0,
        help="share of rows that may be dropped (no case, activity or readable timestamp) "
        "before the command stops with exit status 2",
    ),
]
MAX_DROP_SHARE = 0.05


@dataclass(frozen=True)
class _Import:
    """How to read a log file: the import options every command takes."""

    mapping: list[str] | None
    case: str
    activity: str
    timestamp: str
    assume_tz: str
    object_type: str | None
    encoding: str | None
    separator: str | None
    timestamp_format: str | None
    allow_drops: bool
    max_drop_share: float


def _errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OneWindowError as exc:
            console.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.message_zh}')}")
            if exc.message != exc.message_zh:
                console.print(f"      {escape(exc.message)}")
            raise typer.Exit(2) from None
        except (OSError, ValueError) as exc:
            _unforeseen(exc)
        except Exception as exc:
            import polars as pl  # loaded by the command already: this costs nothing

            if not isinstance(exc, pl.exceptions.PolarsError):
                raise
            _unforeseen(exc)

    return wrapper


def _unforeseen(exc: Exception) -> NoReturn:
    """Input the readers did not foresee: say what and where, never a traceback."""
    console.print(f"[bold red]error[/] cannot analyse this log: {escape(str(exc))}")
    raise typer.Exit(2) from None


def _lifecycle(value: str) -> str | None:
    return None if value == "all" else value


@mining_app.command("import")
@_errors
def import_log(
    file: FileArg,
    out_file: Annotated[
        Path,
        typer.Option("--out", help="output file; .parquet, .csv, .xes or .xes.gz by its name"),
    ],
    mapping: MappingOpt = None,
    case: CaseOpt = "case:concept:name",
    activity: ActivityOpt = "concept:name",
    timestamp: TimeOpt = "time:timestamp",
    assume_tz: TzOpt = "UTC",
    object_type: ObjectOpt = None,
    encoding: EncodingOpt = None,
    separator: SeparatorOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    allow_drops: AllowDropsOpt = False,
    max_drop_share: MaxDropShareOpt = MAX_DROP_SHARE,
    report_json: Annotated[
        Path | None, typer.Option("--report", help="write the import report as JSON")
    ] = None,
) -> None:
    """Read a log with a column mapping; write it with XES column names (Parquet, CSV or XES)."""
    from onewindow.eventlog.export import write_events

    how = _Import(
        mapping, case, activity, timestamp, assume_tz, object_type, encoding, separator,
        timestamp_format, allow_drops, max_drop_share,
    )  # fmt: skip
    frame, report = _read_mapped(file, how)
    name = out_file.name.lower()
    if name.endswith(".parquet"):
        frame.write_parquet(out_file)
    else:
        fmt = "xes" if name.endswith((".xes", ".xes.gz")) else "csv"
        write_events(frame, out_file, fmt)
    if report_json is not None:
        report_json.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    console.print(f"wrote {frame.height} events to {out_file}")


@mining_app.command("map")
@_errors
def show_map(
    file: FileArg,
    mapping: MappingOpt = None,
    case: CaseOpt = "case:concept:name",
    activity: ActivityOpt = "concept:name",
    timestamp: TimeOpt = "time:timestamp",
    assume_tz: TzOpt = "UTC",
    object_type: ObjectOpt = None,
    encoding: EncodingOpt = None,
    separator: SeparatorOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    allow_drops: AllowDropsOpt = False,
    max_drop_share: MaxDropShareOpt = MAX_DROP_SHARE,
    lifecycle: LifecycleOpt = "complete",
    top: Annotated[int, typer.Option(help="edges to print")] = 30,
) -> None:
    """Print the process map's most frequent edges with their mean durations."""
    from onewindow.mining.layout import human_duration
    from onewindow.mining.maps import process_map

    how = _Import(
        mapping, case, activity, timestamp, assume_tz, object_type, encoding, separator,
        timestamp_format, allow_drops, max_drop_share,
    )  # fmt: skip
    frame, _ = _read_mapped(file, how)
    pm = process_map(frame, lifecycle=_lifecycle(lifecycle))
    table = Table(
        "from", "to", "count", "mean", "median", title=f"{pm.cases} cases, lifecycle {lifecycle}"
    )
    for row in pm.edges.head(top).iter_rows(named=True):
        table.add_row(
            escape(row["source"]),
            escape(row["target"]),
            str(row["count"]),
            human_duration(row["mean"]),
            human_duration(row["median"]),
        )
    out.print(table)


@mining_app.command("variants")
@_errors
def show_variants(
    file: FileArg,
    mapping: MappingOpt = None,
    case: CaseOpt = "case:concept:name",
    activity: ActivityOpt = "concept:name",
    timestamp: TimeOpt = "time:timestamp",
    assume_tz: TzOpt = "UTC",
    object_type: ObjectOpt = None,
    encoding: EncodingOpt = None,
    separator: SeparatorOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    allow_drops: AllowDropsOpt = False,
    max_drop_share: MaxDropShareOpt = MAX_DROP_SHARE,
    lifecycle: LifecycleOpt = "complete",
    top: Annotated[int, typer.Option(help="variants to print")] = 10,
) -> None:
    """Print the most frequent trace variants."""
    from onewindow.mining.maps import variants

    how = _Import(
        mapping, case, activity, timestamp, assume_tz, object_type, encoding, separator,
        timestamp_format, allow_drops, max_drop_share,
    )  # fmt: skip
    frame, _ = _read_mapped(file, how)
    found = variants(frame, lifecycle=_lifecycle(lifecycle))
    table = Table("cases", "share", "path", title=f"{len(found)} variants, lifecycle {lifecycle}")
    for v in found[:top]:
        table.add_row(str(v.cases), f"{100 * v.share:.1f}%", escape(v.label))
    out.print(table)


# --------------------------------------------------------------------------- report options

LogOpt = Annotated[
    Path | None,
    typer.Option("--log", help="event log: .csv .parquet .xes(.gz) .jsonocel .xmlocel"),
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="json or html (default: from --out's suffix)")
]
ServiceFilter = Annotated[
    list[str] | None, typer.Option("--service", help="filter: service item code (repeatable)")
]
DepartmentFilter = Annotated[
    list[str] | None,
    typer.Option("--department", help="filter: cases handled by this department (repeatable)"),
]
ChannelFilter = Annotated[
    list[str] | None, typer.Option("--channel", help="filter: case channel (repeatable)")
]
SinceFilter = Annotated[
    datetime | None, typer.Option("--since", help="filter: cases started at or after")
]
UntilFilter = Annotated[
    datetime | None, typer.Option("--until", help="filter: cases started before")
]
VariantFilter = Annotated[
    list[str] | None,
    typer.Option("--variant", help="filter: variant rank (1 = most frequent) or 'a → b → c'"),
]
AttrFilter = Annotated[
    list[str] | None, typer.Option("--attr", help="filter: key=value on an event or case attribute")
]


def _mapping(values: list[str] | None, case: str, activity: str, timestamp: str) -> Any:
    from onewindow.mining.importers import ColumnMap

    pairs: dict[str, str] = {"case": case, "activity": activity, "timestamp": timestamp}
    for value in values or []:
        path = Path(value)
        if "=" not in value and path.suffix.lower() == ".json":
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise OneWindowError(
                    f"cannot read the mapping file {value}: {exc}",
                    message_zh=f"无法读取列映射文件 {value}：{exc}",
                    code="mining.mapping_invalid",
                ) from exc
            if not isinstance(loaded, dict):
                raise OneWindowError(
                    f"{value}: a mapping file holds one JSON object {{key: column}}",
                    message_zh=f"{value}：列映射文件应为一个 JSON 对象",
                    code="mining.mapping_invalid",
                )
            pairs.update({str(k): str(v) for k, v in loaded.items()})
            continue
        for pair in value.split(","):
            key, sep, column = pair.partition("=")
            if not sep or not key.strip() or not column.strip():
                raise OneWindowError(
                    f"mapping {pair!r} is not key=column",
                    message_zh=f"列映射 {pair!r} 应写作 键=列名",
                    code="mining.mapping_invalid",
                )
            pairs[key.strip()] = column.strip()
    return ColumnMap.from_pairs(pairs)


def _read_mapped(file: Path, how: _Import) -> tuple[Any, Any]:
    """The log as an event frame and its import report, printed.

    Raises:
        OneWindowError: no such file, an unreadable one, no usable events, or more rows
            dropped than ``how.max_drop_share`` without ``how.allow_drops``.
    """
    from onewindow.mining.importers import read_log, timestamp_format

    if not file.exists():
        raise OneWindowError(
            f"no such file: {file}", message_zh=f"文件不存在：{file}", code="mining.no_log"
        )
    frame, report = read_log(
        file,
        columns=_mapping(how.mapping, how.case, how.activity, how.timestamp),
        assume_tz=how.assume_tz,
        object_type=how.object_type,
        encoding=how.encoding,
        separator=how.separator,
        timestamps=timestamp_format(how.timestamp_format),
    )
    console.print(escape(report.summary()))
    if frame.is_empty():
        raise OneWindowError(
            f"{file.name}: no usable events. {report.summary()}",
            message_zh=f"{file.name}：没有可用的事件（详见导入报告）",
            code="mining.empty_log",
        )
    share = report.dropped_share
    if share > how.max_drop_share and not how.allow_drops:
        raise OneWindowError(
            f"{file.name}: {report.rows_dropped} of {report.rows_read} rows ({share:.1%}) cannot "
            f"be used, more than {how.max_drop_share:.0%}; fix them (the rows, values and the "
            "expected format are listed above), name the format (--timestamp-format), or go "
            "on without them (--allow-drops)",
            message_zh=f"{file.name}：{report.rows_read} 行中有 {report.rows_dropped} 行"
            f"（{share:.1%}）无法使用，超过 {how.max_drop_share:.0%}；"
            "请修正（行号、取值和应有格式见上）、用 --timestamp-format 指定格式，"
            "或用 --allow-drops 忽略这些行",
            code="mining.too_many_dropped",
        )
    return frame, report


def _filter(
    service: list[str] | None,
    department: list[str] | None,
    channel: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    variant: list[str] | None,
    attr: list[str] | None,
    lifecycle: str | None,
) -> Any:
    from onewindow.mining.filters import LogFilter, parse_attribute_filters

    return LogFilter(
        services=list(service or []),
        departments=list(department or []),
        channels=list(channel or []),
        since=since,
        until=until,
        variants=list(variant or []),
        attributes=parse_attribute_filters(attr or []),
        lifecycle=lifecycle,
    )


def _format(fmt: str | None, out_file: Path) -> str:
    chosen = (fmt or ("json" if out_file.suffix.lower() == ".json" else "html")).lower()
    if chosen not in {"json", "html"}:
        raise OneWindowError(
            f"--format must be json or html, not {fmt!r}",
            message_zh="--format 只能是 json 或 html",
            code="mining.format_invalid",
        )
    return chosen


def _write(out_file: Path, text: str) -> None:
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OneWindowError(
            f"cannot write {out_file}: {exc}",
            message_zh=f"无法写入 {out_file}：{exc}",
            code="mining.output_unwritable",
        ) from exc


@mining_app.command("report")
@_errors
def write_report(
    out_file: Annotated[Path, typer.Option("--out", help="file to write (.json or .html)")],
    file: Annotated[Path | None, typer.Argument(help="event log file (same as --log)")] = None,
    log: LogOpt = None,
    mapping: MappingOpt = None,
    fmt: FormatOpt = None,
    own: Annotated[bool, typer.Option("--own", help="this installation's event log")] = False,
    case: CaseOpt = "case:concept:name",
    activity: ActivityOpt = "concept:name",
    timestamp: TimeOpt = "time:timestamp",
    assume_tz: TzOpt = "UTC",
    object_type: ObjectOpt = None,
    encoding: EncodingOpt = None,
    separator: SeparatorOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    allow_drops: AllowDropsOpt = False,
    max_drop_share: MaxDropShareOpt = MAX_DROP_SHARE,
    lifecycle: LifecycleOpt = "complete",
    trip_activity: Annotated[
        list[str] | None,
        typer.Option("--trip-activity", help="in-person activity (repeatable)"),
    ] = None,
    return_activity: Annotated[
        list[str] | None,
        typer.Option("--return-activity", help="activity that marks a return/补正 (repeatable)"),
    ] = None,
    time_limit: Annotated[int | None, typer.Option(help="legal time limit in working days")] = None,
    deadline_column: Annotated[
        str | None, typer.Option(help="case deadline column, e.g. case:deadline")
    ] = None,
    end_activity: Annotated[
        list[str] | None, typer.Option("--end-activity", help="activity that ends a case (SLA)")
    ] = None,
    group_by: Annotated[str | None, typer.Option(help="case column to break down by")] = None,
    data_field: Annotated[
        list[str] | None,
        typer.Option("--field", help="data field checked for duplicate entry (default: all)"),
    ] = None,
    bpmn: Annotated[Path | None, typer.Option(help="designed BPMN for conformance")] = None,
    split: Annotated[
        datetime | None, typer.Option(help="before/after split (cases started before/after)")
    ] = None,
    after: Annotated[Path | None, typer.Option(help="a second log: the 'after' period")] = None,
    title: Annotated[str | None, typer.Option(help="report title")] = None,
    service: ServiceFilter = None,
    department: DepartmentFilter = None,
    channel: ChannelFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    variant: VariantFilter = None,
    attr: AttrFilter = None,
) -> None:
    """Run every analysis and write the JSON (documented schema) or one HTML report."""
    from datetime import UTC

    from onewindow.mining.report import ReportOptions, build_report, render_html

    chosen = _format(fmt, out_file)
    when = None if split is None else (split if split.tzinfo else split.replace(tzinfo=UTC))
    spec = _filter(service, department, channel, since, until, variant, attr, _lifecycle(lifecycle))
    if own:
        from onewindow.cli.main import _platform
        from onewindow.mining import service as mining

        platform = _platform()
        with platform.unit_of_work() as ctx:
            built = mining.own_report(
                ctx,
                in_person=trip_activity,
                split_at=when,
                lifecycle=_lifecycle(lifecycle),
                log_filter=spec,
            )
    else:
        source = log or file
        if source is None:
            raise OneWindowError(
                "give a log file (--log FILE) or --own",
                message_zh="请用 --log 指定日志文件或使用 --own",
                code="mining.no_log",
            )
        how = _Import(
            mapping, case, activity, timestamp, assume_tz, object_type, encoding, separator,
            timestamp_format, allow_drops, max_drop_share,
        )  # fmt: skip
        frame, imported = _read_mapped(source, how)
        after_frame = None
        if after is not None:
            after_frame, _ = _read_mapped(after, how)
        opts = ReportOptions(
            lifecycle=_lifecycle(lifecycle),
            in_person=list(trip_activity or []),
            return_activity=return_activity[0] if return_activity else None,
            return_activities=list(return_activity) if return_activity else None,
            time_limit_days=time_limit,
            deadline_column=deadline_column,
            end_activities=list(end_activity) if end_activity else None,
            group_by=group_by,
            bpmn=bpmn.read_bytes() if bpmn else None,
            split_at=when,
            after=after_frame,
            source=source.name,
            filter=spec,
            fields=list(data_field) if data_field else None,
        )
        if title:
            opts.title = title
        built = build_report(frame, opts, imported)
    if chosen == "json":
        _write(out_file, json.dumps(built.as_dict(), ensure_ascii=False, indent=1))
    else:
        _write(out_file, render_html(built))
    console.print(f"wrote {out_file} ({built.cases} cases, {built.events} events)")


@mining_app.command("compare")
@_errors
def write_compare(
    before: Annotated[Path, typer.Option("--before", help="log of the period before")],
    after: Annotated[Path, typer.Option("--after", help="log of the period after")],
    out_file: Annotated[Path, typer.Option("--out", help="file to write (.json or .html)")],
    mapping: MappingOpt = None,
    fmt: FormatOpt = None,
    case: CaseOpt = "case:concept:name",
    activity: ActivityOpt = "concept:name",
    timestamp: TimeOpt = "time:timestamp",
    assume_tz: TzOpt = "UTC",
    object_type: ObjectOpt = None,
    encoding: EncodingOpt = None,
    separator: SeparatorOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    allow_drops: AllowDropsOpt = False,
    max_drop_share: MaxDropShareOpt = MAX_DROP_SHARE,
    lifecycle: LifecycleOpt = "complete",
    trip_activity: Annotated[
        list[str] | None,
        typer.Option("--trip-activity", help="in-person activity (repeatable)"),
    ] = None,
    return_activity: Annotated[
        list[str] | None,
        typer.Option("--return-activity", help="activity that marks a return/补正 (repeatable)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    service: ServiceFilter = None,
    department: DepartmentFilter = None,
    channel: ChannelFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    variant: VariantFilter = None,
    attr: AttrFilter = None,
) -> None:
    """Before/after: each measure's change with a bootstrap CI and Mann–Whitney test,
    and the process-map diff; JSON (documented schema) or HTML."""
    from onewindow.mining.report import ReportOptions, build_compare, render_compare_html

    chosen = _format(fmt, out_file)
    how = _Import(
        mapping, case, activity, timestamp, assume_tz, object_type, encoding, separator,
        timestamp_format, allow_drops, max_drop_share,
    )  # fmt: skip
    b_frame, _ = _read_mapped(before, how)
    a_frame, _ = _read_mapped(after, how)
    opts = ReportOptions(
        lifecycle=_lifecycle(lifecycle),
        in_person=list(trip_activity or []),
        return_activities=list(return_activity) if return_activity else None,
        seed=seed,
        filter=_filter(
            service, department, channel, since, until, variant, attr, _lifecycle(lifecycle)
        ),
    )
    built = build_compare(
        b_frame, a_frame, opts, before_source=before.name, after_source=after.name
    )
    if chosen == "json":
        _write(out_file, json.dumps(built.as_dict(), ensure_ascii=False, indent=1))
    else:
        _write(out_file, render_compare_html(built))
    console.print(
        f"wrote {out_file} ({built.comparison.cases_before} → {built.comparison.cases_after} cases)"
    )


@mining_app.command("schema")
def show_schema(
    which: Annotated[str, typer.Argument(help="report or compare")] = "report",
) -> None:
    """Print the JSON Schema of the report (or compare) output."""
    from onewindow.mining.schema import COMPARE_SCHEMA, REPORT_SCHEMA

    if which not in {"report", "compare"}:
        console.print("[bold red]error[/] choose report or compare")
        raise typer.Exit(2)
    schema = REPORT_SCHEMA if which == "report" else COMPARE_SCHEMA
    out.print_json(json.dumps(schema, ensure_ascii=False))
