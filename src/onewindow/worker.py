"""One pass of the background worker: engine timers, SLA escalations (督办), webhooks.

Run by `onewindow worker` and, in the single-process default, by `onewindow serve`. Each job
is its own transaction; several workers may run at once (rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

from dataclasses import dataclass

# Importing the feedback domain also installs its case hooks (complaints, rectifications).
from onewindow.feedback.tasks import FeedbackPass, run_feedback_pass
from onewindow.integration.tasks import deliver_due
from onewindow.kit.platform import Platform
from onewindow.security import ledger
from onewindow.simulation.tasks import measure_due_predictions
from onewindow.workflow.tasks import render_documents, run_worker_pass


@dataclass(frozen=True)
class WorkerReport:
    timers_fired: int
    tasks_escalated: int
    webhooks_delivered: int
    webhooks_failed: int
    feedback: FeedbackPass
    documents_rendered: int = 0


def run_once(platform: Platform) -> WorkerReport:
    fired, escalated = run_worker_pass(platform)
    feedback = run_feedback_pass(platform)
    rendered = render_documents(platform)
    delivery = deliver_due(platform)
    platform.run(ledger.sign_tree_head_if_due)  # publish a signed tree head when due
    measure_due_predictions(platform)  # prove or refute published redesigns
    return WorkerReport(fired, escalated, delivery.delivered, delivery.failed, feedback, rendered)
