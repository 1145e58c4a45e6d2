"""The background worker: engine timers, SLA escalations (督办), webhooks, housekeeping.

Run by `onewindow worker` and, in the single-process default, by `onewindow serve`. Each job
is its own transaction; several workers may run at once (rows are claimed with SKIP LOCKED).
``run_forever`` never exits on an error: a database or network outage is waited out with
capped exponential backoff and logged once when it starts and once when it ends; any other
failed pass is logged (once per streak of the same error) and the next pass runs as usual.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# Importing the feedback domain also installs its case hooks (complaints, rectifications).
from onewindow.feedback.tasks import FeedbackPass, run_feedback_pass
from onewindow.intake import staging
from onewindow.integration.tasks import deliver_due
from onewindow.kit import heartbeat, idempotency
from onewindow.kit.platform import Ctx, Platform
from onewindow.security import ledger
from onewindow.simulation.tasks import measure_due_predictions
from onewindow.workflow.tasks import lapse_promises, render_documents, run_worker_pass

log = logging.getLogger("onewindow.worker")
_jitter = random.SystemRandom()
KEEP_IDEMPOTENCY = timedelta(days=1)
FORGET_WORKERS = timedelta(days=1)
MAX_BACKOFF = 10.0  # seconds between attempts while the database is down
# Errors of the world outside the process: wait them out. Anything else is a bug in a pass.
TRANSIENT: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeout,
    OSError,
    httpx.TransportError,
)


WEBHOOK_BATCH = 200


@dataclass(frozen=True)
class WorkerReport:
    timers_fired: int
    tasks_escalated: int
    webhooks_delivered: int
    webhooks_failed: int
    feedback: FeedbackPass
    documents_rendered: int = 0
    webhooks_claimed: int = 0

    @property
    def more_due(self) -> bool:
        """A full batch of webhooks went out: more are probably waiting (a backlog after a
        receiver or the database was down), so the next pass should not wait."""
        return self.webhooks_claimed >= WEBHOOK_BATCH

    @property
    def busy(self) -> bool:
        fb = self.feedback
        return bool(
            self.timers_fired
            or self.tasks_escalated
            or self.webhooks_delivered
            or self.webhooks_failed
            or self.documents_rendered
            or fb.invitations
        )


def run_once(platform: Platform) -> WorkerReport:
    fired, escalated = run_worker_pass(platform)
    feedback = run_feedback_pass(platform)
    rendered = render_documents(platform)
    delivery = deliver_due(platform, limit=WEBHOOK_BATCH)
    platform.run(ledger.sign_tree_head_if_due)  # publish a signed tree head when due
    measure_due_predictions(platform)  # prove or refute published redesigns
    lapse_promises(platform)  # 容缺受理: promises past their day lapse, with their event
    platform.run(_housekeeping)
    return WorkerReport(
        fired,
        escalated,
        delivery.delivered,
        delivery.failed,
        feedback,
        documents_rendered=rendered,
        webhooks_claimed=delivery.claimed,
    )


def _housekeeping(ctx: Ctx) -> None:
    now = ctx.clock.now()
    idempotency.purge(ctx.session, now - KEEP_IDEMPOTENCY)
    heartbeat.purge(ctx.session, now - FORGET_WORKERS)
    staging.purge_abandoned(ctx)  # desk uploads staged on a failed submission, never resumed


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def wait_until_migrated(platform: Platform, *, stop: threading.Event) -> bool:
    """Wait (capped backoff, one log line) until the database answers; False if stopped
    first. An unmigrated database is a mistake, not an outage: it raises."""
    from onewindow.kit.migrate import require_migrated

    failures = 0
    while not stop.is_set():
        try:
            require_migrated(platform.engine)
            return True
        except TRANSIENT as exc:
            failures += 1
            if failures == 1:
                log.warning("worker: database unavailable at start-up (%s); waiting", _short(exc))
            stop.wait(min(MAX_BACKOFF, 2.0 ** (failures - 1)) * _jitter.uniform(0.5, 1.0))
    return False


def run_forever(
    platform: Platform,
    *,
    stop: threading.Event,
    interval: float,
    kind: str = "standalone",
    on_report: Callable[[WorkerReport], None] | None = None,
    at_once: bool = False,
) -> None:
    """Run passes every ``interval`` seconds until ``stop`` is set; survive every error."""
    name = worker_name()
    started_at: datetime = platform.clock.now()
    outage_since: datetime | None = None
    failures = 0
    last_error = ""
    wait = 0.0 if at_once else interval
    while not stop.wait(wait):
        try:
            report = run_once(platform)
            platform.run(
                lambda ctx: heartbeat.beat(
                    ctx.session, name=name, kind=kind, started_at=started_at, now=ctx.clock.now()
                )
            )
        except TRANSIENT as exc:
            failures += 1
            if outage_since is None:
                outage_since = platform.clock.now()
                log.warning(
                    "worker %s: database or network unavailable (%s); retrying with "
                    "backoff up to %.0f s",
                    name,
                    _short(exc),
                    MAX_BACKOFF,
                )
            ceiling = min(MAX_BACKOFF, 2.0 ** (failures - 1))
            wait = ceiling * _jitter.uniform(0.5, 1.0)
            continue
        except Exception as exc:  # a bug in one pass must not stop timers and webhooks
            if _short(exc) != last_error:
                log.exception("worker %s: pass failed", name)
                last_error = _short(exc)
            wait = interval
            continue
        if outage_since is not None:
            gone = (platform.clock.now() - outage_since).total_seconds()
            log.warning("worker %s: back after %.1f s (%d failed attempts)", name, gone, failures)
        outage_since, failures, last_error = None, 0, ""
        if on_report is not None:
            on_report(report)
        wait = 0.0 if report.more_due else interval
