"""Event-log routes only."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from onewindow.eventlog import service as eventlog
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require
from onewindow.security.schemas import Principal

router = APIRouter(tags=["event log"])

_MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "xes": "application/xml"}


@router.get("/eventlog/export")
def export(
    ctx: CtxDep,
    _: Annotated[Principal, require("eventlog.export")],
    format: Literal["csv", "parquet", "xes"] = "xes",
    service: str | None = None,
) -> FileResponse:
    """The whole event log (or one service's) with standard XES keys."""
    tmp = Path(tempfile.mkdtemp(prefix="onewindow-export-")) / f"eventlog.{format}"
    eventlog.export(ctx, tmp, format, service_code=service)
    return FileResponse(
        tmp,
        media_type=_MEDIA[format],
        filename=tmp.name,
        background=BackgroundTask(shutil.rmtree, tmp.parent, ignore_errors=True),
    )
