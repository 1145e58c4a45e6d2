"""Request-scoped dependencies: one transaction per request, owned by the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from onewindow.kit.platform import Ctx, Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_ctx(platform: Annotated[Platform, Depends(get_platform)]) -> Iterator[Ctx]:
    with platform.unit_of_work() as ctx:
        yield ctx


CtxDep = Annotated[Ctx, Depends(get_ctx)]
