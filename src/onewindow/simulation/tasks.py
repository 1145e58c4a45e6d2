"""Background job of the simulation domain: prove (or refute) published predictions."""

from __future__ import annotations

import functools
import logging

from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Ctx, Platform
from onewindow.simulation import publish

log = logging.getLogger("onewindow.simulation")


def _due_ids(ctx: Ctx) -> list[int]:
    return [p.id for p in publish.due_for_measurement(ctx)]


def _measure(ctx: Ctx, *, prediction_id: int) -> None:
    publish.measure(ctx, prediction_id)


def measure_due_predictions(platform: Platform) -> int:
    """Measure every published redesign whose evaluation weeks are over; each in its own
    transaction, so one that cannot be measured yet does not hold up the others."""
    due = platform.run(_due_ids)
    measured = 0
    for prediction_id in due:
        try:
            platform.run(functools.partial(_measure, prediction_id=prediction_id))
            measured += 1
        except OneWindowError as exc:  # e.g. nothing to measure yet: try again next pass
            log.info("prediction %s not measured: %s", prediction_id, exc.code)
    return measured
