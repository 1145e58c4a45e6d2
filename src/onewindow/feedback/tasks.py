"""Background jobs of the feedback domain; each is its own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from onewindow.feedback import service as feedback
from onewindow.kit.platform import Platform


@dataclass(frozen=True)
class FeedbackPass:
    invitations: int
    timers_fired: int
    tasks_escalated: int


def run_feedback_pass(platform: Platform) -> FeedbackPass:
    """Invite ratings of newly closed cases, fire deadline/appeal/reopen timers, escalate."""
    invited = platform.run(lambda ctx: feedback.invite_closed_cases(ctx))
    fired = platform.run(lambda ctx: feedback.fire_due_timers(ctx))
    escalated = platform.run(lambda ctx: feedback.escalate_overdue_tasks(ctx))
    return FeedbackPass(invited, fired, escalated)


def retrain_classifier(platform: Platform, *, actor: str = "system") -> None:
    """Retrain the ticket classifier on the city's own labelled tickets (e.g. nightly)."""
    platform.run(lambda ctx: feedback.retrain_classifier(ctx, actor=actor))
