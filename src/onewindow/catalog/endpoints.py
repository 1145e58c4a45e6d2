"""Catalogue routes only; the rules live in the service."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.kit.http import CtxDep
from onewindow.security.authz import public
from onewindow.security.schemas import Principal

router = APIRouter(tags=["catalogue"])


class MaterialOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    required: bool
    certificate: bool


class ServiceOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    applicant_kind: str
    time_limit_days: int
    fee: Decimal
    process_key: str
    process_version: int
    materials: list[MaterialOut]


def _out(item: ServiceItem) -> ServiceOut:
    return ServiceOut(
        code=item.code,
        name_zh=item.name_zh,
        name_en=item.name_en,
        applicant_kind=item.applicant_kind,
        time_limit_days=item.time_limit_days,
        fee=item.fee,
        process_key=item.process_definition.process_key,
        process_version=item.process_definition.version,
        materials=[
            MaterialOut(
                code=m.code,
                name_zh=m.name_zh,
                name_en=m.name_en,
                required=m.required,
                certificate=m.certificate,
            )
            for m in item.materials
        ],
    )


@router.get("/services", response_model=list[ServiceOut])
def list_services(ctx: CtxDep, _: Annotated[Principal | None, public()]) -> list[ServiceOut]:
    """The service catalogue (public: anyone may see what the city offers)."""
    return [_out(s) for s in catalog.list_services(ctx)]


@router.get("/services/{code}", response_model=ServiceOut)
def get_service(code: str, ctx: CtxDep, _: Annotated[Principal | None, public()]) -> ServiceOut:
    return _out(catalog.get_service(ctx, code))
