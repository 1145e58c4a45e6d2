"""The cases behind a dashboard number (下钻): ``/dashboard/cases?metric=…``, paged.

Every number on ``/dashboard`` and ``/dashboard/decisions`` links here with its metric and
filters, and the list is built by the same rules as the number: the dashboard's counts are
the intake/workflow counts (all cases, by status, overdue, per case with an overdue or
nearly due task, returned at least once), the decisions page's are ``datahub.decision_cases``
over its period. Each row opens the case page. A bad metric, date, filter or page is answered
with a 4xx page saying what was wrong, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from onewindow.catalog import service as catalog
from onewindow.datahub import service as datahub
from onewindow.datahub.rules import districts
from onewindow.intake import service as intake
from onewindow.kit.errors import NotFound, OneWindowError
from onewindow.kit.platform import Ctx
from onewindow.security.authz import PERMISSIONS, require_page
from onewindow.security.schemas import Principal
from onewindow.web.pages import page
from onewindow.web.routes import NEARING, PageCtx, PageRoute
from onewindow.workflow import service as workflow

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Viewer = Annotated[Principal, require_page("cases.search")]

# /dashboard: counts over every case, now.
DASHBOARD_METRICS = ("cases", "status", "overdue", "overdue_task", "nearing_task", "returned")
# /dashboard/decisions: counts over the applications submitted in a period.
PERIOD_METRICS = {
    "period": "applications",
    "period_overdue": "overdue",
    "period_closed_late": "closed_late",
    "period_linked": "linked",
}
METRICS = (*DASHBOARD_METRICS, *PERIOD_METRICS)
STATUSES = ("submitted", "in_progress", "returned", "approved", "rejected", "not_accepted")
PAGE_SIZES = (20, 50, 100)
DEFAULT_SIZE = 50
PERIOD_ONLY = ("from", "to", "week", "district", "source")


class BadDrilldown(OneWindowError):
    """A drill-down link that cannot be answered: the message names the parameter."""

    code = "drilldown.invalid"
    status = 400


@dataclass(frozen=True)
class Row:
    number: str
    service: str
    service_name: str
    status: str
    submitted_at: datetime
    deadline: date
    overdue: bool
    district: str | None = None


@dataclass(frozen=True)
class Query:
    """The drill-down's query string, checked."""

    metric: str
    status: str | None = None
    service: str | None = None
    start: date | None = None
    end: date | None = None
    week: date | None = None
    district: str | None = None
    source: str | None = None
    page: int = 1
    size: int = DEFAULT_SIZE

    def params(self, **change: Any) -> str:
        """The query string of this list (another page or size with ``change``)."""
        values: dict[str, Any] = {
            "metric": self.metric,
            "status": self.status,
            "service": self.service,
            "from": self.start,
            "to": self.end,
            "week": self.week,
            "district": self.district,
            "source": self.source,
            "size": self.size if self.size != DEFAULT_SIZE else None,
            "page": self.page if self.page != 1 else None,
        }
        values.update(change)
        return urlencode({k: str(v) for k, v in values.items() if v is not None})


def _date(params: QueryParams, name: str) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadDrilldown(
            f"{name}: {raw[:20]!r} is not a date (YYYY-MM-DD)",
            message_zh=f"{name}：{raw[:20]!r} 不是日期，格式应为 YYYY-MM-DD",
        ) from exc


def _int(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise BadDrilldown(
            f"{name}: {raw[:20]!r} is not a positive whole number",
            message_zh=f"{name}：{raw[:20]!r} 不是正整数",
        )
    return int(raw)


def parse(params: QueryParams) -> Query:
    """Check the query string; raises ``BadDrilldown`` naming what is wrong."""
    metric = params.get("metric", "").strip()
    if metric not in METRICS:
        shown = f"{metric[:30]!r}" if metric else "(none)"
        shown_zh = f"{metric[:30]!r}" if metric else "（未给出）"
        raise BadDrilldown(
            f"Unknown metric {shown}; one of: {', '.join(METRICS)}",
            message_zh=f"未知的指标 {shown_zh}，可用：{'、'.join(METRICS)}",
        )
    status = params.get("status", "").strip() or None
    if metric == "status" and status not in STATUSES:
        shown = (status or "")[:20]
        raise BadDrilldown(
            f"status: {shown or '(none)'} is not a case status; one of: {', '.join(STATUSES)}",
            message_zh=f"status：{shown or '（未给出）'} 不是办件状态，可用：{'、'.join(STATUSES)}",
        )
    if metric != "status" and status is not None:
        raise BadDrilldown(
            "status applies only to metric=status",
            message_zh="status 参数只用于 metric=status",
        )
    if metric in DASHBOARD_METRICS:
        extra = [name for name in PERIOD_ONLY if params.get(name, "").strip()]
        if extra:
            raise BadDrilldown(
                f"{', '.join(extra)} apply only to the decisions page's metrics (period…)",
                message_zh=f"{'、'.join(extra)} 只用于决策分析页的指标（period…）",
            )
    district = params.get("district", "").strip() or None
    if (
        district is not None
        and district != districts.UNKNOWN
        and not (len(district) == 6 and district.isdigit())
    ):
        raise BadDrilldown(
            f"district: {district[:20]!r} is not a six-digit GB/T 2260 code or 'unknown'",
            message_zh=f"district：{district[:20]!r} 不是六位 GB/T 2260 代码或 unknown",
        )
    source = params.get("source", "").strip() or None
    if source is not None and source not in districts.SOURCES:
        raise BadDrilldown(
            f"source: {source[:20]!r} is not one of {', '.join(districts.SOURCES)}",
            message_zh=f"source：{source[:20]!r} 不在 {'、'.join(districts.SOURCES)} 之中",
        )
    size = _int(params, "size", DEFAULT_SIZE)
    if size not in PAGE_SIZES:
        raise BadDrilldown(
            f"size: {size} rows a page is not offered; one of {PAGE_SIZES}",
            message_zh=f"size：每页 {size} 条不可选，可选 {PAGE_SIZES}",
        )
    page_no = _int(params, "page", 1)
    if page_no < 1:
        raise BadDrilldown("page: pages start at 1", message_zh="page：页码从 1 开始")
    return Query(
        metric=metric,
        status=status,
        service=params.get("service", "").strip()[:64] or None,
        start=_date(params, "from"),
        end=_date(params, "to"),
        week=_date(params, "week"),
        district=district,
        source=source,
        page=page_no,
        size=size,
    )


def _service_id(ctx: Ctx, code: str | None) -> int | None:
    if code is None:
        return None
    try:
        return catalog.get_service(ctx, code).id
    except NotFound as exc:
        raise BadDrilldown(
            f"service: no service with code {code!r}",
            message_zh=f"service：没有代码为 {code!r} 的事项",
        ) from exc


def _check_page(query: Query, total: int) -> int:
    """The number of pages; a page past the last is refused (page 1 of nothing is fine)."""
    pages = max(1, -(-total // query.size))
    if query.page > pages:
        raise BadDrilldown(
            f"page {query.page} is out of range: {total} cases make {pages} page(s)",
            message_zh=f"第 {query.page} 页超出范围：共 {total} 件，{pages} 页",
        )
    return pages


def cases_behind(ctx: Ctx, query: Query) -> tuple[int, list[Row]]:
    """(how many cases the metric counts, the rows of the requested page)."""
    names = {s.code: s.name_zh for s in catalog.list_services(ctx)}
    codes = {s.id: s.code for s in catalog.list_services(ctx)}
    offset = (query.page - 1) * query.size
    if query.metric in PERIOD_METRICS:
        try:
            found = datahub.decision_cases(
                ctx,
                measure=PERIOD_METRICS[query.metric],
                start=query.start,
                end=query.end,
                service=query.service,
                week=query.week,
                district=query.district,
                source=query.source,
            )
        except NotFound as exc:  # an unknown service code
            raise BadDrilldown(exc.message, message_zh=exc.message_zh) from exc
        _check_page(query, len(found))
        return len(found), [
            Row(
                number=c.number,
                service=c.service,
                service_name=names.get(c.service, c.service),
                status=c.status,
                submitted_at=c.submitted_at,
                deadline=c.deadline,
                overdue=c.overdue,
                district=c.district.label if c.district.code != districts.UNKNOWN else None,
            )
            for c in found[offset : offset + query.size]
        ]
    ids: set[int] | None = None
    if query.metric == "overdue_task":
        ids = workflow.applications_with_overdue_tasks(ctx)
    elif query.metric == "nearing_task":
        ids = workflow.applications_with_tasks_nearing_sla(ctx, NEARING)
    total, applications = intake.find_applications(
        ctx,
        status=query.status,
        service_item_id=_service_id(ctx, query.service),
        overdue=query.metric == "overdue",
        returned=query.metric == "returned",
        ids=ids,
        limit=query.size,
        offset=offset,
    )
    _check_page(query, total)
    return total, [
        Row(
            number=a.number,
            service=codes[a.service_item_id],
            service_name=names[codes[a.service_item_id]],
            status=a.status,
            submitted_at=a.submitted_at,
            deadline=a.deadline,
            overdue=intake.is_overdue(ctx, a),
        )
        for a in applications
    ]


@router.get("/dashboard/cases")
def dashboard_cases(request: Request, ctx: PageCtx, who: Viewer) -> Response:
    """下钻: the cases one dashboard number counts, newest first, each opening its case page."""
    query = parse(request.query_params)
    total, rows = cases_behind(ctx, query)
    pages = max(1, -(-total // query.size))
    return page(
        request,
        "dashboard_cases.html",
        principal=who,
        zone=ctx.calendar.zone,
        q=query,
        total=total,
        rows=rows,
        pages=pages,
        sizes=PAGE_SIZES,
        period=query.metric in PERIOD_METRICS,
        service_names={s.code: s for s in catalog.list_services(ctx)},
        district_label=districts.district_label(query.district)
        if query.district and query.district != districts.UNKNOWN
        else None,
        # the case page is the workbench's: link a row only for those who may open it
        can_open=bool(who.roles & PERMISSIONS["cases.search"]),  # the case page's own rule
    )
