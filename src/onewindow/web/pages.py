"""Page rendering. Templates are autoescaped; nothing is fetched from the network."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from onewindow.catalog import service as catalog
from onewindow.intake import service as intake
from onewindow.kit.platform import Ctx
from onewindow.workflow import service as workflow


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("onewindow.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def render_index(ctx: Ctx) -> str:
    return (
        _env()
        .get_template("index.html")
        .render(
            services=catalog.list_services(ctx),
            status_counts=intake.status_counts(ctx),
            overdue_cases=len(intake.list_applications(ctx, overdue=True, limit=500)),
            overdue_tasks=len(workflow.overdue_tasks(ctx)),
            departments=catalog.list_departments(ctx),
        )
    )
