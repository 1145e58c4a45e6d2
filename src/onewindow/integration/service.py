"""Integration events for department systems: subscriptions, the transactional outbox, and
the state changes of delivery (claim, record, dead letters, replay).

``publish`` writes outbox rows in the caller's transaction, so an event exists exactly when
the change that caused it was committed; the worker delivers them later (see ``tasks``).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from onewindow.catalog import service as catalog
from onewindow.integration import repository as repo
from onewindow.integration.delivery import (
    Attempt,
    DeliveryPolicy,
    DeliveryReport,
    Outgoing,
    backoff,
)
from onewindow.integration.models import DEAD, DELIVERED, PENDING, OutboxMessage, Subscription
from onewindow.kit.errors import Conflict, NotFound, ValidationFailed
from onewindow.kit.platform import Ctx

TOPICS = (
    "case.started",
    "task.created",
    "task.completed",
    "case.returned",
    "case.decided",
    "case.message",  # a message a case's process sends to another department's system
)


class SubscriptionInvalid(ValidationFailed):
    code = "integration.subscription_invalid"


# --- publishing ----------------------------------------------------------------------------


def publish(
    ctx: Ctx, topic: str, payload: dict[str, Any], *, department: str | None = None
) -> None:
    """Queue one event for every subscriber of ``topic`` in the caller's transaction.

    ``department`` is the code of the department the event concerns (copied into the payload
    as ``department`` unless it has one); subscriptions filtered to another department do not
    receive it. Nothing is sent here: rolled back with the caller, the messages never existed.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic}")
    # One step publishes several events; read the active subscriptions once per transaction.
    active: list[Subscription] | None = ctx.memo.get("integration.subscriptions")
    if active is None:
        active = ctx.memo["integration.subscriptions"] = list(
            repo.active_subscriptions(ctx.session)
        )
    subscribers = [
        s
        for s in active
        if topic in s.topics and (s.department is None or s.department == department)
    ]
    if not subscribers:
        return
    # One JSON round trip: the payload is frozen as it is now, and a value JSON cannot carry
    # fails here, at the publisher, instead of in the worker.
    frozen = json.loads(json.dumps(payload, ensure_ascii=False))
    if department is not None:
        frozen.setdefault("department", department)
    now = ctx.clock.now()
    ctx.session.add_all(
        OutboxMessage(
            id=uuid.uuid4().hex,
            subscription_id=s.id,
            topic=topic,
            payload=frozen,
            created_at=now,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for s in subscribers
    )
    ctx.session.flush()


# --- subscriptions -------------------------------------------------------------------------


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionInvalid(
            f"The webhook URL must be an absolute http(s) URL, not {url!r}",
            message_zh="回调地址必须是完整的 http(s) 地址",
            details={"field": "url"},
        )
    return parts.geturl()


def _check_topics(topics: Sequence[str]) -> list[str]:
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise SubscriptionInvalid(
            f"Topics must be a non-empty list of {', '.join(TOPICS)}",
            message_zh=f"订阅主题必须为以下之一：{'、'.join(TOPICS)}",
            details={"field": "topics", "unknown": unknown},
        )
    return list(dict.fromkeys(topics))


def create_subscription(
    ctx: Ctx,
    name: str,
    url: str,
    topics: Sequence[str],
    department: str | None = None,
    *,
    actor: str,
) -> tuple[Subscription, str]:
    """Register a department system's webhook. Returns the subscription and its signing
    secret, which is shown this once.

    Raises:
        SubscriptionInvalid: empty name, a URL that is not http(s), an unknown topic.
        NotFound: ``department`` is not a department code of the catalogue.
    """
    ctx.memo.pop("integration.subscriptions", None)
    name = name.strip()
    if not name or len(name) > 200:
        raise SubscriptionInvalid(
            "A subscription needs a name of at most 200 characters",
            message_zh="订阅名称不能为空且不超过 200 字",
            details={"field": "name"},
        )
    clean_url = _check_url(url)
    clean_topics = _check_topics(topics)
    if department is not None:
        department = catalog.get_department(ctx, department).code
    secret = secrets.token_urlsafe(32)
    sub = Subscription(
        name=name,
        department=department,
        topics=clean_topics,
        url=clean_url,
        secret=secret,
        active=True,
        created_at=ctx.clock.now(),
        created_by=actor,
    )
    ctx.session.add(sub)
    ctx.session.flush()
    return sub, secret


def get_subscription(ctx: Ctx, subscription_id: int) -> Subscription:
    sub = repo.subscription(ctx.session, subscription_id)
    if sub is None:
        raise NotFound(
            f"No subscription {subscription_id}",
            message_zh="订阅不存在",
            code="integration.subscription_unknown",
        )
    return sub


def list_subscriptions(ctx: Ctx, *, include_inactive: bool = True) -> Sequence[Subscription]:
    return repo.subscriptions(ctx.session, include_inactive=include_inactive)


def deactivate_subscription(ctx: Ctx, subscription_id: int, *, actor: str) -> Subscription:
    """Stop delivering to a subscription. Its undelivered messages become dead letters, so
    what it missed stays visible. Deactivating twice changes nothing."""
    ctx.memo.pop("integration.subscriptions", None)
    sub = get_subscription(ctx, subscription_id)
    if not sub.active:
        return sub
    sub.active = False
    sub.deactivated_at = ctx.clock.now()
    sub.deactivated_by = actor
    repo.kill_pending(ctx.session, sub.id, f"subscription deactivated by {actor}")
    ctx.session.flush()
    return sub


# --- dead letters and replay ---------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: Sequence[OutboxMessage]
    total: int
    limit: int
    offset: int


def dead_letters(
    ctx: Ctx, limit: int = 50, offset: int = 0, *, subscription_id: int | None = None
) -> Page:
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    items = repo.dead_letters(
        ctx.session, limit=limit, offset=offset, subscription_id=subscription_id
    )
    total = repo.count_dead_letters(ctx.session, subscription_id=subscription_id)
    return Page(items, total, limit, offset)


def get_message(ctx: Ctx, message_id: str) -> OutboxMessage:
    msg = repo.message(ctx.session, message_id)
    if msg is None:
        raise NotFound(
            f"No outbox message {message_id}",
            message_zh="消息不存在",
            code="integration.message_unknown",
        )
    return msg


def messages(
    ctx: Ctx, *, status: str | None = None, subscription_id: int | None = None
) -> Sequence[OutboxMessage]:
    return repo.messages(ctx.session, status=status, subscription_id=subscription_id)


def replay(ctx: Ctx, message_id: str, *, actor: str) -> OutboxMessage:
    """Send a dead letter again: back to pending, due now, with a fresh set of attempts.

    Raises:
        NotFound: no such message.
        Conflict: the message is not dead, or its subscription was deactivated.
    """
    msg = get_message(ctx, message_id)
    if msg.status != DEAD:
        raise Conflict(
            f"Message {message_id} is {msg.status}; only dead letters are replayed",
            message_zh="只有投递失败的消息可以重发",
            code="integration.not_dead",
        )
    if not msg.subscription.active:
        raise Conflict(
            "The message's subscription is deactivated",
            message_zh="该订阅已停用，不能重发",
            code="integration.subscription_inactive",
        )
    msg.status, msg.attempts, msg.next_attempt_at = PENDING, 0, ctx.clock.now()
    ctx.session.flush()
    return msg


def replay_all_dead(ctx: Ctx, *, actor: str, subscription_id: int | None = None) -> int:
    """Replay every dead letter of active subscriptions (or of one). Returns how many."""
    if subscription_id is not None:
        get_subscription(ctx, subscription_id)
    return repo.replay_dead(ctx.session, ctx.clock.now(), subscription_id=subscription_id)


def pending_count(ctx: Ctx) -> int:
    return repo.count_pending(ctx.session)


@dataclass(frozen=True)
class Backlog:
    pending: int
    due: int
    oldest_due_seconds: float | None  # how long the most overdue message has waited


def backlog(ctx: Ctx) -> Backlog:
    now = ctx.clock.now()
    pending, due, oldest = repo.backlog(ctx.session, now)
    late = (now - oldest).total_seconds() if oldest is not None and oldest <= now else None
    return Backlog(pending, due, late)


# --- delivery bookkeeping (called by tasks.deliver_due) ------------------------------------


def claim_due(ctx: Ctx, *, limit: int, policy: DeliveryPolicy) -> list[Outgoing]:
    """Take up to ``limit`` due messages for sending: their due time moves a lease ahead, so
    once this transaction commits no other worker picks them until the lease runs out."""
    now = ctx.clock.now()
    leased_until = now + policy.lease
    batch: list[Outgoing] = []
    for msg, sub in repo.claim_due(ctx.session, now, limit):
        msg.next_attempt_at = leased_until
        batch.append(
            Outgoing(
                id=msg.id,
                subscription_id=sub.id,
                url=sub.url,
                secret=sub.secret,
                topic=msg.topic,
                created_at=msg.created_at,
                payload=msg.payload,
                attempts=msg.attempts,
                leased_until=leased_until,
            )
        )
    ctx.session.flush()
    return batch


def renew_lease(ctx: Ctx, batch: Sequence[Outgoing], *, policy: DeliveryPolicy) -> list[Outgoing]:
    """Extend the lease of a claimed batch still being sent; a message another worker
    claimed after this lease ran out is left to that worker. Returns the batch with its
    new lease (pass it to the next renewal)."""
    until = ctx.clock.now() + policy.lease
    by_lease: dict[datetime | None, list[str]] = {}
    for m in batch:
        by_lease.setdefault(m.leased_until, []).append(m.id)
    for held, ids in by_lease.items():
        if held is not None:
            repo.renew_lease(ctx.session, ids, held, until)
    return [replace(m, leased_until=until) for m in batch]


def record_attempts(
    ctx: Ctx, attempts: Sequence[Attempt], *, policy: DeliveryPolicy
) -> DeliveryReport:
    """Write what the dispatcher saw. A message no longer pending (delivered by a worker
    whose lease ran out first, or already dead) is left as it is: a success never regresses."""
    now = ctx.clock.now()
    report = DeliveryReport(claimed=len(attempts))
    retry_at: dict[int, datetime] = {}
    # Failures first, so a skipped message waits as long as its subscription's failure.
    batch = repo.messages_by_id(ctx.session, [a.message_id for a in attempts])
    for attempt in sorted(attempts, key=lambda a: a.outcome == "skipped"):
        msg = batch.get(attempt.message_id)
        if msg is None or msg.status != PENDING:
            continue
        if attempt.outcome == "delivered":
            msg.attempts += 1
            msg.status, msg.delivered_at, msg.last_error = DELIVERED, now, None
            report.delivered += 1
        elif attempt.outcome == "failed":
            msg.attempts += 1
            msg.last_error = attempt.error
            report.failed += 1
            report.errors.append(f"{msg.id}: {attempt.error}")
            if msg.attempts >= policy.max_attempts:
                msg.status = DEAD
                report.dead += 1
            else:
                msg.next_attempt_at = now + backoff(msg.attempts, policy)
                if attempt.subscription_id not in retry_at:
                    retry_at[attempt.subscription_id] = msg.next_attempt_at
                    # The receiver is failing: everything else owed to it waits as long,
                    # instead of each later pass spending an attempt (and a timeout) on it.
                    repo.defer_pending(ctx.session, attempt.subscription_id, msg.next_attempt_at)
        else:
            msg.next_attempt_at = retry_at.get(attempt.subscription_id, now)
            report.skipped += 1
    ctx.session.flush()
    return report
