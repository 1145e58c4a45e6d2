"""What stands between the network and the endpoints, installed on the app in one place.

Outermost first: security headers (``app.py``), request limits (``limits``), the unit of
work with idempotency and retries (``units``), then FastAPI's exception handling, where
``errors`` answers what is not a ``OneWindowError``; every route also runs the text
hygiene dependency (``hygiene``). The health probes live here too (``health``).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from onewindow.api import errors, health
from onewindow.api.hygiene import refuse_control_characters
from onewindow.api.limits import RequestLimits
from onewindow.api.units import UnitOfWork
from onewindow.kit.platform import Platform


def install(app: FastAPI, platform: Platform) -> None:
    """Call before the routers are included (their routes copy the app's dependencies)
    and before the security headers middleware is added (it must stay outermost)."""
    app.router.dependencies.append(Depends(refuse_control_characters))
    app.add_middleware(UnitOfWork, platform=platform)
    app.add_middleware(RequestLimits, settings=platform.settings)
    errors.install(app)
    app.include_router(health.router, prefix="/api/v1")
