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


# scope="function": the transaction commits when the endpoint returns, *before* the response
# is sent, so a client that follows up at once reads what it just wrote, and a failed commit
# (a concurrent update) reaches the client as an error instead of vanishing.
CtxDep = Annotated[Ctx, Depends(get_ctx, scope="function")]
PlatformDep = Annotated[Platform, Depends(get_platform)]
