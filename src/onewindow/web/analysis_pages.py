"""Process analysis pages (流程分析) for analysts and directors: the process map of the
platform's own event log or of an uploaded log, filtered by service, department, channel,
period and variant; Disco-style activity and path sliders; frequency and performance
views; click an activity or an edge for its cases; variants with the happy path;
bottlenecks in sentences; the map as SVG or PNG and the filtered log as CSV or XES.
Uploads: CSV, XES, Parquet and OCEL 2.0 (JSON or XML, flattened on one object type).

Every filter is a GET parameter, so a map can be linked and bookmarked. Analyses come from
``onewindow.mining`` (maps, variants, measures, filters, importers); the layout from
Graphviz ``dot`` (``onewindow.mining.dotmap``). An uploaded log is kept, bounded in size,
under the data directory in a folder of its uploader's own, for that user only.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, cast
from urllib.parse import quote, urlencode

import polars as pl
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from onewindow.catalog import service as catalog
from onewindow.eventlog.export import write_events
from onewindow.kit.errors import NotFound, OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.mining import dotmap, explore, maps
from onewindow.mining import service as mining
from onewindow.mining.bpmn import bpmn_to_petri, parse_bpmn
from onewindow.mining.compare import split_by_start
from onewindow.mining.filters import LogFilter, apply_filter, parse_attribute_filters
from onewindow.mining.frame import CHANNEL, GROUP, SERVICE_KEY
from onewindow.mining.importers import ColumnMap, ImportReport, LogFormat, read_log
from onewindow.mining.layout import human_duration
from onewindow.mining.prepared import prepare
from onewindow.mining.report import ReportOptions, compare_logs, happy_path
from onewindow.security.authz import require_page
from onewindow.security.schemas import Principal
from onewindow.web.i18n import Lang, error_text, lang_of, translate
from onewindow.web.pages import page
from onewindow.web.routes import FormDep, PageCtx, PageRoute, _file, _text, _zone

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Analyst = Annotated[Principal, require_page("mining.analyse")]

PAGE_SIZE: Final = 50
MEASURES: Final = ("cases", "events", "median", "mean", "p90", "total")
UPLOAD_SUFFIXES: Final[dict[str, LogFormat]] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".xes": "xes",
    ".xes.gz": "xes",
    ".parquet": "parquet",
    ".json": "ocel-json",
    ".jsonocel": "ocel-json",
    ".xml": "ocel-xml",
    ".xmlocel": "ocel-xml",
}
OCEL: Final = ("ocel-json", "ocel-xml")
# An OCEL .json/.xml is kept as .jsonocel/.xmlocel: {token}.json is the upload's metadata.
KEPT_AS: Final = {".json": ".jsonocel", ".xml": ".xmlocel"}
TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
MAX_DROPPED_SHARE: Final = 0.05
# Each user keeps this many uploaded logs; older ones are deleted on the next upload.
KEPT_UPLOADS: Final = 5


# --- the query every view shares ---------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The filters, sliders and measure of one map, as they travel in the URL."""

    log: str = ""  # "" = the platform's own event log; else an upload token
    service: str = ""
    department: str = ""
    channel: str = ""
    start: date | None = None
    end: date | None = None  # inclusive
    variant: str = ""
    acts: int = 100
    paths: int = 100
    measure: dotmap.Measure = "cases"
    split: date | None = None  # before/after: cases started before this day vs. from it
    attr: str = ""  # key=value: cases with that event or case attribute value

    def params(self, **changes: Any) -> dict[str, str]:
        view = replace(self, **changes)
        out = {
            "log": view.log,
            "service": view.service,
            "department": view.department,
            "channel": view.channel,
            "from": view.start.isoformat() if view.start else "",
            "to": view.end.isoformat() if view.end else "",
            "variant": view.variant,
            "acts": "" if view.acts == 100 else str(view.acts),
            "paths": "" if view.paths == 100 else str(view.paths),
            "measure": "" if view.measure == "cases" else view.measure,
            "split": view.split.isoformat() if view.split else "",
            "attr": view.attr,
        }
        return {k: v for k, v in out.items() if v}

    def query(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))

    @property
    def performance(self) -> bool:
        return self.measure in dotmap.PERFORMANCE

    def log_filter(self, zone: tzinfo) -> LogFilter:
        """Cases that started from the first day's midnight to the last day's end, in the
        city's time zone."""
        return LogFilter(
            services=[self.service] if self.service and self.log else [],
            departments=[self.department] if self.department else [],
            channels=[self.channel] if self.channel else [],
            since=_day_start(self.start, zone),
            until=_day_start(self.end + timedelta(days=1), zone) if self.end else None,
            variants=[self.variant] if self.variant else [],
            attributes=parse_attribute_filters([self.attr]) if self.attr else {},
        )


def _day_start(day: date | None, zone: tzinfo) -> datetime | None:
    # in UTC: the log's instants are UTC and polars compares only equal zones
    return None if day is None else datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _percent(raw: str | None) -> int:
    try:
        return max(0, min(100, int(raw or 100)))
    except ValueError:
        return 100


def _date(raw: str | None, lang: Lang, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        problems.append(translate(lang, "an_bad_date", value=raw[:40]))
        return None


def _view(request: Request, problems: list[str]) -> View:
    q = request.query_params
    lang = lang_of(request)
    token = q.get("log", "")
    measure = q.get("measure", "cases")
    return View(
        log=token if TOKEN.match(token) else "",
        service=q.get("service", "")[:64],
        department=q.get("department", "")[:64],
        channel=q.get("channel", "")[:64],
        start=_date(q.get("from"), lang, problems),
        end=_date(q.get("to"), lang, problems),
        variant=q.get("variant", "")[:2000],
        acts=_percent(q.get("acts")),
        paths=_percent(q.get("paths")),
        measure=cast(dotmap.Measure, measure if measure in MEASURES else "cases"),
        split=_date(q.get("split"), lang, problems),
        attr=q.get("attr", "").strip()[:500],
    )


# --- uploaded logs -----------------------------------------------------------------------------


def _uploads(ctx: Ctx, who: Principal) -> Path:
    """This user's own folder of uploaded logs (no one else's page reads it)."""
    owner = hashlib.sha256(f"{who.kind}:{who.name}".encode()).hexdigest()[:16]
    return Path(ctx.settings.data_dir) / "analysis-uploads" / owner


def _stored(ctx: Ctx, who: Principal, token: str) -> tuple[Path, dict[str, Any]]:
    folder = _uploads(ctx, who)
    meta_path = folder / f"{token}.json"
    if not TOKEN.match(token) or not meta_path.exists():
        raise NotFound(
            "No such uploaded log (uploads are kept for the user who sent them)",
            message_zh="没有这个上传的日志（上传的日志仅上传者本人可见）",
            code="analysis.upload_unknown",
        )
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    return folder / meta["file"], meta


@lru_cache(maxsize=4)
def _read_upload(path: str, stamp: float, meta_json: str) -> tuple[pl.DataFrame, ImportReport]:
    meta = json.loads(meta_json)
    return read_log(
        path,
        fmt=meta["format"],
        columns=ColumnMap.from_pairs(meta.get("mapping") or {}),
        object_type=meta.get("object_type"),
    )


def _forget_old_uploads(folder: Path) -> None:
    metas = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for meta_path in metas[KEPT_UPLOADS:]:
        try:
            stored = json.loads(meta_path.read_text(encoding="utf-8"))
            (folder / str(stored["file"])).unlink(missing_ok=True)
        except (OSError, ValueError, KeyError):
            pass
        meta_path.unlink(missing_ok=True)


# --- the log, filtered -------------------------------------------------------------------------


@dataclass
class Loaded:
    full: pl.DataFrame
    filtered: pl.DataFrame
    source: str
    report: ImportReport | None
    own: bool
    object_type: str = ""  # an OCEL log: the object type whose objects are the cases


def _load(ctx: Ctx, who: Principal, view: View) -> Loaded:
    if view.log:
        path, meta = _stored(ctx, who, view.log)
        frame, report = _read_upload(str(path), path.stat().st_mtime, json.dumps(meta))
        source = str(meta.get("name") or path.name)
        object_type = str(meta.get("object_type") or "")
        own = False
    else:
        frame = mining.own_log(ctx)
        report = None
        source = ""
        object_type = ""
        own = True
    narrowed = frame
    if own and view.service:
        narrowed = frame.filter(pl.col(SERVICE_KEY) == view.service)
    spec = view.log_filter(ctx.calendar.zone)
    filtered = apply_filter(narrowed, spec) if spec.active else narrowed
    return Loaded(frame, filtered, source, report, own, object_type)


def _choices(ctx: Ctx, loaded: Loaded, lang: Lang) -> dict[str, list[tuple[str, str]]]:
    """(value, label) of every service, department and channel the log has."""
    frame = loaded.full
    names: dict[str, dict[str, str]] = {"service": {}, "department": {}}
    if loaded.own:
        for s in catalog.list_services(ctx):
            names["service"][s.code] = s.name_en if lang == "en" else s.name_zh
        for d in catalog.list_departments(ctx):
            names["department"][d.code] = d.name_en if lang == "en" else d.name_zh

    def values(column: str, kind: str) -> list[tuple[str, str]]:
        if column not in frame.columns:
            return []
        found = frame.get_column(column).cast(pl.String).drop_nulls().unique().sort().to_list()
        labels = names.get(kind, {})
        return [(v, f"{labels[v]} · {v}" if v in labels else v) for v in found if v]

    channel = CHANNEL if CHANNEL in frame.columns else "channel"
    return {
        "services": values(SERVICE_KEY, "service"),
        "departments": values(GROUP, "department"),
        "channels": values(channel, "channel"),
    }


def _links(view: View) -> tuple[Any, Any]:
    def node(activity: str) -> str:
        return f"/analysis/cases?{view.query()}&{urlencode({'activity': activity})}"

    def edge(source: str, target: str) -> str:
        return f"/analysis/cases?{view.query()}&{urlencode({'source': source, 'target': target})}"

    return node, edge


def _tabs() -> list[tuple[str, str, str]]:
    return [
        ("map", "an_tab_map", "/analysis"),
        ("conformance", "an_tab_conformance", "/analysis/conformance"),
        ("redesign", "an_tab_redesign", "/analysis/redesign"),
    ]


def _render(
    request: Request, ctx: Ctx, who: Principal, template: str, *, status: int = 200, **kw: Any
) -> Response:
    return page(
        request, template, status=status, principal=who, zone=_zone(ctx), tabs=_tabs(), **kw
    )


# --- the map page ------------------------------------------------------------------------------


@router.get("/analysis")
def analysis(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    lang = lang_of(request)
    problems: list[str] = []
    view = _view(request, problems)
    context: dict[str, Any] = {
        "view": view,
        "measures": MEASURES,
        "problems": problems,
        "choices": {"services": [], "departments": [], "channels": []},
        "source": "",
        "report": None,
        "notice": translate(lang, "an_uploaded") if request.query_params.get("uploaded") else None,
    }
    status = 200
    try:
        loaded = _load(ctx, who, view)
    except OneWindowError as exc:
        return _render(
            request,
            ctx,
            who,
            "analysis.html",
            status=exc.status,
            error=error_text(lang, exc),
            **context,
        )
    context.update(
        choices=_choices(ctx, loaded, lang),
        source=loaded.source,
        report=loaded.report,
        own=loaded.own,
        object_type=loaded.object_type,
    )
    if loaded.filtered.is_empty():
        key = "an_nothing_matches" if loaded.full.height else "an_log_empty"
        return _render(request, ctx, who, "analysis.html", empty=translate(lang, key), **context)
    prep = prepare(loaded.filtered)
    pm = maps.process_map(prep)
    found = maps.variants(prep)
    # On our own log the happy path is taken among decided (办结) cases when there are any:
    # cases still running are short variants that would otherwise win.
    decided = [v for v in found if loaded.own and v.activities[-1] == mining.DECIDED_ACTIVITY]
    happy = happy_path(decided or found, [mining.RETURN_ACTIVITY])
    try:
        laid = dotmap.lay_out(pm, activities=view.acts, paths=view.paths, measure=view.measure)
        node_href, edge_href = _links(view)
        svg = dotmap.render_svg(
            laid, node_href=node_href, edge_href=edge_href, title=translate(lang, "an_map")
        )
        dot_error = None
    except dotmap.DotMissing as exc:
        laid, svg, dot_error = None, "", error_text(lang, exc)
        status = 200
    sel = laid.selection if laid is not None else None
    slowest = None
    if laid is not None and view.performance:
        timed = [
            e.edge
            for e in laid.edges
            if e.edge.metric is not None
            and dotmap.START != e.edge.source
            and e.edge.target != dotmap.END
            and not math.isnan(e.edge.metric)
        ]
        if timed:
            slowest = max(timed, key=lambda e: e.metric or 0.0)
    return _render(
        request,
        ctx,
        who,
        "analysis.html",
        status=status,
        svg=svg,
        dot_error=dot_error,
        sel=sel,
        cases=pm.cases,
        events=pm.events,
        variants=[(i + 1, v) for i, v in enumerate(found[:15])],
        variant_total=len(found),
        happy=happy,
        bottlenecks=explore.bottleneck_sentences(prep, top=5),
        comparison=_comparison(ctx, view, loaded, lang),
        slowest=slowest,
        edge_href=_links(view)[1],
        human=human_duration,
        **context,
    )


# Names of the comparison's metrics (compare_logs names them in both languages at once).
COMPARED: Final = {
    "case duration": "an_cmp_duration",
    "trips per case": "an_cmp_trips",
    "returns per case": "an_cmp_returns",
    "repeated steps per case": "an_cmp_rework",
}


def _comparison(ctx: Ctx, view: View, loaded: Loaded, lang: Lang) -> dict[str, Any] | None:
    """Before/after the split day: case metrics with bootstrap CIs and the rank test
    (``mining.compare``), or the reason there is nothing to compare."""
    if view.split is None:
        return None
    when = _day_start(view.split, ctx.calendar.zone)
    assert when is not None
    before, after = split_by_start(loaded.filtered, when)
    if before.is_empty() or after.is_empty():
        return {"error": translate(lang, "an_cmp_one_side", day=view.split.isoformat())}
    opts = (
        mining.own_options(ctx, service_code=view.service or None, conformance=False)
        if loaded.own
        else ReportOptions()
    )
    found = compare_logs(before, after, opts)
    rows = []
    for m in found.metrics:
        key = next((k for prefix, k in COMPARED.items() if m.name.startswith(prefix)), None)
        rows.append({"name": translate(lang, key) if key else m.name, "m": m})
    return {"rows": rows, "before": found.cases_before, "after": found.cases_after}


# --- the cases behind an activity or an edge ---------------------------------------------------


@router.get("/analysis/cases")
def analysis_cases(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    problems: list[str] = []
    view = _view(request, problems)
    q = request.query_params
    activity = q.get("activity", "")[:500] or None
    source, target = q.get("source", "")[:500], q.get("target", "")[:500]
    edge = (source, target) if source and target else None
    try:
        number = max(1, int(q.get("page", "1")))
    except ValueError:
        number = 1
    if activity is None and edge is None:
        raise ValidationFailed(
            "Name an activity or an edge (source and target)",
            message_zh="请指定一个活动或一条路径（起点和终点）",
            code="analysis.no_selection",
        )
    loaded = _load(ctx, who, view)
    rows = (
        explore.cases_of(prepare(loaded.filtered), activity=activity, edge=edge)
        if loaded.filtered.height
        else []
    )
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    number = min(number, pages)
    base = view.query()
    here = {"activity": activity} if activity else {"source": source, "target": target}
    return _render(
        request,
        ctx,
        who,
        "analysis_cases.html",
        view=view,
        own=loaded.own,
        activity=activity,
        edge=edge,
        rows=rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        total=len(rows),
        page_no=number,
        pages=pages,
        back=f"/analysis?{base}",
        page_link=lambda n: f"/analysis/cases?{base}&{urlencode({**here, 'page': n})}",
        case_link=lambda c: f"/workbench/cases/{quote(c, safe='')}",
        human=human_duration,
        problems=problems,
    )


# --- conformance against the deployed BPMN -----------------------------------------------------


def _deviations(ctx: Ctx, who: Principal, view: View) -> tuple[bytes, explore.Deviations]:
    """The service's current BPMN and its cases replayed on it.

    Raises:
        ValidationFailed: no service chosen, an uploaded log, or no case to replay.
    """
    if view.log or not view.service:
        raise ValidationFailed(
            "Choose one service of the platform's log to check its cases against its BPMN",
            message_zh="请选择平台日志中的一个事项，才能将其案件与流程模型比对",
            code="analysis.conformance_service",
        )
    loaded = _load(ctx, who, view)
    if loaded.filtered.is_empty():
        raise ValidationFailed(
            "No case matches these filters",
            message_zh="没有符合筛选条件的案件",
            code="analysis.nothing_matches",
        )
    bpmn = mining.own_bpmn(ctx, view.service)
    called = mining.own_called(ctx, bpmn)
    net = bpmn_to_petri(bpmn, called=called)
    names = parse_bpmn(bpmn, called=called).task_names
    return bpmn, explore.deviations(prepare(loaded.filtered), net, names)


@router.get("/analysis/conformance")
def analysis_conformance(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    lang = lang_of(request)
    problems: list[str] = []
    view = _view(request, problems)
    try:
        _, found = _deviations(ctx, who, view)
    except OneWindowError as exc:
        ctx.session.rollback()
        return _render(
            request,
            ctx,
            who,
            "analysis_conformance.html",
            status=exc.status,
            view=view,
            error=error_text(lang, exc),
            problems=problems,
            tab="conformance",
        )
    return _render(
        request,
        ctx,
        who,
        "analysis_conformance.html",
        view=view,
        found=found,
        unfit=found.unfit[:PAGE_SIZE],
        problems=problems,
        case_link=lambda c: f"/workbench/cases/{quote(c, safe='')}",
        tab="conformance",
    )


@router.get("/analysis/conformance.json")
def analysis_conformance_json(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    """The BPMN and, per task id, the cases that reached it out of order (the heat)."""
    bpmn, found = _deviations(ctx, who, _view(request, []))
    top = max(found.per_task.values(), default=0)
    heat = {
        task: {"cases": n, "level": max(1, min(5, math.ceil(5 * n / top)))}
        for task, n in found.per_task.items()
        if top
    }
    return JSONResponse(
        {"xml": bpmn.decode("utf-8"), "heat": heat}, headers={"Cache-Control": "no-store"}
    )


# --- exports -----------------------------------------------------------------------------------


def _download(body: bytes | str, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _export_map(request: Request, ctx: Ctx, who: Principal) -> dotmap.LaidOutMap:
    """The map of the page's filters, sliders and measure, laid out as on the page.

    Raises:
        ValidationFailed: no case matches the filters (an error page, not an image).
        DotMissing: Graphviz is not installed (503).
    """
    view = _view(request, [])
    loaded = _load(ctx, who, view)
    if loaded.filtered.is_empty():
        raise ValidationFailed(
            "No case matches these filters",
            message_zh="没有符合筛选条件的案件",
            code="analysis.nothing_matches",
        )
    pm = maps.process_map(prepare(loaded.filtered))
    return dotmap.lay_out(pm, activities=view.acts, paths=view.paths, measure=view.measure)


@router.get("/analysis/map.svg")
def analysis_svg(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    svg = dotmap.render_svg(_export_map(request, ctx, who), title="process map", standalone=True)
    return _download(svg, "image/svg+xml; charset=utf-8", "process-map.svg")


@router.get("/analysis/map.png")
def analysis_png(request: Request, ctx: PageCtx, who: Analyst) -> Response:
    """The same layout as the page and the SVG, drawn by Graphviz itself (cairo)."""
    png = dotmap.render_png(_export_map(request, ctx, who))
    return _download(png, "image/png", "process-map.png")


def _export_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    keep = [c for c in frame.columns if not c.startswith("@@")]
    return frame.select(keep).to_dicts()


@router.get("/analysis/log.{fmt}")
def analysis_log(fmt: str, request: Request, ctx: PageCtx, who: Analyst) -> Response:
    if fmt not in ("csv", "xes"):
        raise NotFound("No such export", message_zh="没有这种导出格式", code="analysis.format")
    view = _view(request, [])
    loaded = _load(ctx, who, view)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"log.{fmt}"
        write_events(_export_rows(loaded.filtered), out, fmt)
        body = out.read_bytes()
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/xml"
    return _download(body, media, f"event-log.{fmt}")


# --- upload ------------------------------------------------------------------------------------


def _format_of(name: str) -> LogFormat | None:
    lower = name.lower()
    for suffix in sorted(UPLOAD_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return UPLOAD_SUFFIXES[suffix]
    return None


@router.post("/analysis/upload")
def analysis_upload(request: Request, ctx: PageCtx, form: FormDep, who: Analyst) -> Response:
    """Keep the file, read it with the mining importers and show its map (or say why not;
    a file that cannot be read is not kept)."""
    lang = lang_of(request)
    upload = _file(form, "file")

    def refuse(message: str, status: int = 400) -> Response:
        return _render(
            request,
            ctx,
            who,
            "analysis.html",
            status=status,
            view=View(),
            measures=MEASURES,
            problems=[],
            choices={"services": [], "departments": [], "channels": []},
            source="",
            report=None,
            error=message,
            upload_error=True,
            upload_object_type=object_type,
        )

    object_type = _text(form, "object_type", 200)
    if upload is None:
        return refuse(translate(lang, "an_upload_none"))
    name = Path(upload.filename or "log").name[:120]
    fmt = _format_of(name)
    if fmt is None:
        return refuse(translate(lang, "an_upload_format", name=name))
    limit = int(ctx.settings.max_upload_bytes)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        return refuse(translate(lang, "an_upload_too_big", mb=limit // (1024 * 1024)), 413)
    if not data:
        return refuse(translate(lang, "an_upload_empty", name=name))
    mapping = {
        key: value
        for key in ("case", "activity", "timestamp", "start", "resource", "department")
        if (value := _text(form, f"map_{key}", 200))
    }
    object_type = object_type if fmt in OCEL else ""
    token = secrets.token_urlsafe(12)
    folder = _uploads(ctx, who)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = next(
        s for s in sorted(UPLOAD_SUFFIXES, key=len, reverse=True) if name.lower().endswith(s)
    )
    path = folder / f"{token}{KEPT_AS.get(suffix, suffix)}"
    path.write_bytes(data)
    meta = {"name": name, "file": path.name, "format": fmt, "mapping": mapping}
    if fmt in OCEL:
        meta["object_type"] = object_type
    try:
        frame, report = read_log(
            path,
            fmt=fmt,
            columns=ColumnMap.from_pairs(mapping),
            # "" is no object type: the importer then says which types the file has
            object_type=object_type if fmt in OCEL else None,
        )
        if report.dropped_share > MAX_DROPPED_SHARE:
            first = report.dropped[0] if report.dropped else None
            example = ""
            if first is not None and first.rows:
                example = f" (row {first.rows[0]}: {first.values[0]!r}; {first.reason}"
                example += f", expected {first.expected})" if first.expected else ")"
            raise ValidationFailed(
                f"{name}: {report.rows_dropped} of {report.rows_read} rows could not be read"
                f"{example}",
                message_zh=f"{name}：{report.rows_read} 行中有 {report.rows_dropped} 行无法读取"
                f"{example}",
                code="analysis.upload_drops",
            )
        if frame.is_empty():
            raise ValidationFailed(
                f"{name}: no event could be read ({report.rows_read} rows, all dropped)",
                message_zh=f"{name}：没有可读取的事件（共 {report.rows_read} 行，全部丢弃）",
                code="analysis.upload_empty",
            )
    except OneWindowError as exc:
        path.unlink(missing_ok=True)
        # the importers name the kept file; the user knows it by the name they sent
        problem = _ocel_problem(lang, name, object_type, exc) or error_text(lang, exc)
        return refuse(problem.replace(path.name, name))
    (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    _forget_old_uploads(folder)
    return RedirectResponse(
        f"/analysis?{urlencode({'log': token, 'uploaded': '1'})}", status_code=303
    )


def _ocel_problem(lang: Lang, name: str, object_type: str, exc: OneWindowError) -> str | None:
    """The object type is missing or not in the file: say so, with the types it has."""
    if "object_types" not in exc.details:
        return None
    known = [str(t) for t in exc.details["object_types"]]
    if not known:
        return translate(lang, "an_upload_ocel_no_objects", name=name)
    types = "、".join(known) if lang == "zh" else ", ".join(known)
    if not object_type:
        return translate(lang, "an_upload_ocel_type_missing", name=name, types=types)
    return translate(lang, "an_upload_ocel_type_unknown", name=name, type=object_type, types=types)
