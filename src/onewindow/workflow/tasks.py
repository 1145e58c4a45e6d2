"""Background jobs of the workflow domain; each pass is its own transaction."""

from __future__ import annotations

from onewindow.kit.platform import Platform
from onewindow.workflow import documents
from onewindow.workflow import service as workflow


def run_worker_pass(platform: Platform) -> tuple[int, int]:
    """Fire due timers, then escalate tasks past their SLA. Returns (fired, escalated)."""
    fired = platform.run(lambda ctx: workflow.fire_due_timers(ctx))
    escalated = platform.run(lambda ctx: len(workflow.escalate_overdue_tasks(ctx)))
    return fired, escalated


def render_documents(platform: Platform, *, limit: int = 20) -> int:
    """Draw documents issued since the last pass, store them and record them in the ledger."""
    return platform.run(lambda ctx: documents.render_pending(ctx, limit=limit))


def lapse_promises(platform: Platform) -> int:
    """容缺受理: promises past their last day lapse (the case keeps waiting; it is visible)."""
    return platform.run(lambda ctx: workflow.lapse_due_promises(ctx))
