"""Background jobs of the feedback domain; each is its own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from onewindow.feedback import service as feedback
from onewindow.kit.platform import Platform


@dataclass(frozen=True)
class FeedbackPass:
    invitations: int


def run_feedback_pass(platform: Platform) -> FeedbackPass:
    """Invite ratings of newly closed cases. (Complaint and rectification cases run on the
    one case engine: their timers and escalations are the workflow pass's.)"""
    invited = platform.run(lambda ctx: feedback.invite_closed_cases(ctx))
    return FeedbackPass(invited)


def retrain_classifier(platform: Platform, *, actor: str = "system") -> None:
    """Retrain the ticket classifier on the city's own labelled tickets (e.g. nightly)."""
    platform.run(lambda ctx: feedback.retrain_classifier(ctx, actor=actor))
