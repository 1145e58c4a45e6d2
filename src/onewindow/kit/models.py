"""Import every domain's models so the metadata is complete (migrations, test schemas).

The imports are by name at call time so that ``kit`` stays free of domain imports.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "onewindow.kit.idempotency",
    "onewindow.kit.heartbeat",
    "onewindow.kit.calendar_store",
    "onewindow.catalog.models",
    "onewindow.intake.models",
    "onewindow.workflow.models",
    "onewindow.eventlog.models",
    "onewindow.integration.models",
    "onewindow.security.models",
    "onewindow.datahub.models",
    "onewindow.feedback.models",
    "onewindow.simulation.models",
    "onewindow.training.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
