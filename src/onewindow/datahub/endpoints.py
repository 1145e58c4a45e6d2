"""Data hub routes only (mounted at /api/v1): catalogue, sources, quality, linkage, grants,
the shared-data API and its access log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from onewindow.datahub import service as datahub
from onewindow.datahub.schemas import (
    AccessLogOut,
    AggregatesOut,
    CatalogueEntry,
    DatasetSpec,
    GrantIn,
    GrantOut,
    LinkRunOut,
    LoadOut,
    QualityReport,
    ReviewOut,
    SharedRecords,
)
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require
from onewindow.security.schemas import Principal

router = APIRouter(prefix="/datahub", tags=["datahub"])

Manage = Annotated[Principal, require("datahub.manage")]
Read = Annotated[Principal, require("datahub.read")]
Grant = Annotated[Principal, require("datahub.grant")]
Audit = Annotated[Principal, require("datahub.audit")]


def _caller(p: Principal) -> datahub.Caller:
    return datahub.Caller(actor=p.name, roles=p.roles, department_code=p.department_code)


class Decision(BaseModel):
    accept: bool


class LinkIn(BaseModel):
    kind: str = Field(default="person", pattern="^(person|business)$")
    match_threshold: float = Field(default=0.9, gt=0, le=1)
    review_threshold: float = Field(default=0.5, gt=0, le=1)


class AccessLogPage(BaseModel):
    items: list[AccessLogOut]
    total: int


@router.get("/catalogue", response_model=list[CatalogueEntry])
def catalogue(ctx: CtxDep, _: Read, q: str | None = None) -> list[CatalogueEntry]:
    return datahub.catalogue(ctx, q)


@router.post("/datasets", status_code=status.HTTP_201_CREATED, response_model=CatalogueEntry)
def register_dataset(ctx: CtxDep, p: Manage, spec: DatasetSpec) -> CatalogueEntry:
    datahub.register_dataset(ctx, spec, actor=p.name)
    return next(e for e in datahub.catalogue(ctx) if e.code == spec.code)


@router.post("/datasets/{code}/loads", response_model=LoadOut)
async def load(
    ctx: CtxDep,
    p: Manage,
    code: str,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, GBK, BOM) or .xlsx")],
    on_error: Annotated[str | None, Form(pattern="^(reject_all|keep_good)$")] = None,
    full: Annotated[
        bool, Form(description="the whole dataset: records it lacks are marked deleted")
    ] = False,
) -> LoadOut:
    data = await file.read()
    result = datahub.load_file(
        ctx,
        code,
        data,
        filename=file.filename or "upload",
        actor=p.name,
        on_error=on_error,
        full=full,
    )
    return datahub.load_out(ctx, result)


@router.get("/datasets/{code}/quality", response_model=QualityReport)
def quality(ctx: CtxDep, _: Manage, code: str) -> QualityReport:
    return datahub.quality_report(ctx, code)


@router.get("/datasets/{code}/quality/failures.csv")
def failures(ctx: CtxDep, _: Manage, code: str) -> Response:
    body = "\ufeff" + datahub.failing_rows_csv(ctx, code)  # BOM: Excel opens it as UTF-8
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}-failures.csv"'},
    )


@router.get("/datasets/{code}/records/{key}/history")
def history(ctx: CtxDep, _: Manage, code: str, key: str) -> list[dict[str, Any]]:
    return datahub.record_history(ctx, code, key)


@router.post("/linkage", response_model=LinkRunOut)
def run_linkage(ctx: CtxDep, p: Manage, body: LinkIn) -> LinkRunOut:
    from onewindow.datahub.linkage import LinkageConfig

    config = LinkageConfig(
        match_threshold=body.match_threshold, review_threshold=body.review_threshold
    )
    return datahub.run_linkage(ctx, kind=body.kind, actor=p.name, config=config)


@router.get("/reviews", response_model=list[ReviewOut])
def reviews(
    ctx: CtxDep, _: Manage, status_: Annotated[str, Query(alias="status")] = "pending"
) -> list[ReviewOut]:
    return datahub.list_reviews(ctx, status_ or None)


@router.post("/reviews/{review_id}/decision", response_model=ReviewOut)
def decide(ctx: CtxDep, p: Manage, review_id: int, body: Decision) -> ReviewOut:
    datahub.decide_review(ctx, review_id, accept=body.accept, actor=p.name)
    return next(r for r in datahub.list_reviews(ctx, None) if r.id == review_id)


@router.get("/grants", response_model=list[GrantOut])
def grants(ctx: CtxDep, p: Grant) -> list[GrantOut]:
    return datahub.list_grants(ctx, None if "admin" in p.roles else p.department_code)


@router.post("/grants", status_code=status.HTTP_201_CREATED, response_model=GrantOut)
def request_grant(ctx: CtxDep, p: Grant, body: GrantIn) -> GrantOut:
    return datahub.grant_out(ctx, datahub.request_grant(ctx, body, actor=p.name))


@router.post("/grants/{grant_id}/approve", response_model=GrantOut)
def approve_grant(ctx: CtxDep, p: Grant, grant_id: int) -> GrantOut:
    return datahub.grant_out(ctx, datahub.approve_grant(ctx, grant_id, caller=_caller(p)))


@router.post("/grants/{grant_id}/refuse", response_model=GrantOut)
def refuse_grant(ctx: CtxDep, p: Grant, grant_id: int) -> GrantOut:
    return datahub.grant_out(ctx, datahub.refuse_grant(ctx, grant_id, caller=_caller(p)))


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(ctx: CtxDep, p: Grant, grant_id: int) -> GrantOut:
    return datahub.grant_out(ctx, datahub.revoke_grant(ctx, grant_id, caller=_caller(p)))


@router.get("/shared/{code}", response_model=SharedRecords)
def shared(
    ctx: CtxDep,
    p: Read,
    code: str,
    purpose: Annotated[
        str, Query(min_length=1, max_length=200, description="purpose (the grant's purpose)")
    ],
    case_ref: Annotated[str | None, Query(max_length=64, description="case number")] = None,
    fields: Annotated[list[str] | None, Query()] = None,
    key: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SharedRecords:
    try:
        return datahub.read_shared(
            ctx,
            code,
            caller=_caller(p),
            purpose=purpose,
            case_ref=case_ref,
            fields=fields,
            keys=key,
            limit=limit,
        )
    except datahub.GrantMissing:
        # The request owns the transaction: keep the refusal in the access log, then refuse.
        ctx.session.commit()
        raise


@router.get("/access-log", response_model=AccessLogPage)
def access_log(
    ctx: CtxDep,
    p: Audit,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AccessLogPage:
    everyone = bool(p.roles & {"auditor", "admin"})
    items, total = datahub.access_log_for(
        ctx, None if everyone else p.department_code, limit=limit, offset=offset
    )
    return AccessLogPage(items=items, total=total)


@router.get("/aggregates", response_model=AggregatesOut)
def aggregates(
    ctx: CtxDep,
    _: Annotated[Principal, require("cases.search")],
    from_: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    to: Annotated[date | None, Query(description="last day (local), included")] = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
) -> AggregatesOut:
    """Data for decisions: applications and overdue cases by week, district and service,
    with the linked population per district. Counts only; no record leaves."""
    return datahub.aggregates(ctx, start=from_, end=to, service=service or None)
