"""The dispatcher: turns claimed outbox messages into signed HTTP POSTs, no database inside.

The worker claims messages in one transaction, calls :func:`dispatch` with no transaction
open (a slow receiver must not hold row locks), and records the attempts in another.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from onewindow.integration.signing import sign
from onewindow.kit.clock import Clock
from onewindow.kit.settings import Settings

USER_AGENT = "onewindow-webhooks/1"
_rng = secrets.SystemRandom()


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard we try. A claimed batch is leased for ``lease``; the worker renews the lease
    every third of it while it sends (``tasks.deliver_due``), so a live worker keeps its
    claims however slow the receivers, and a dead worker's claims are sent again by another
    worker within one lease."""

    max_attempts: int = 12
    base_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(seconds=15)
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.lease <= timedelta(0):
            raise ValueError("lease must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            base_delay=timedelta(seconds=settings.webhook_retry_base_seconds),
            max_delay=timedelta(seconds=settings.webhook_retry_max_seconds),
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        )


def backoff(attempts: int, policy: DeliveryPolicy, *, jitter: float | None = None) -> timedelta:
    """Wait after the ``attempts``-th failure: base * 2^(attempts-1), capped, then jittered
    into [50 %, 100 %] so receivers coming back up are not hit by every worker at once."""
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(policy.base_delay * (1 << exponent), policy.max_delay)
    factor = _rng.uniform(0.5, 1.0) if jitter is None else jitter
    return delay * factor


@dataclass(frozen=True)
class Outgoing:
    """A claimed message with what is needed to send it."""

    id: str
    subscription_id: int
    url: str
    secret: str
    topic: str
    created_at: datetime
    payload: dict[str, Any]
    attempts: int
    leased_until: datetime | None = None  # this worker's lease on it (see renew_lease)


Outcome = Literal["delivered", "failed", "skipped"]


@dataclass(frozen=True)
class Attempt:
    """What happened to one claimed message. ``skipped``: not tried in this pass because an
    earlier message to the same subscription failed; it keeps its attempt count."""

    message_id: str
    subscription_id: int
    outcome: Outcome
    error: str | None = None
    status_code: int | None = None


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def encode_body(message: Outgoing) -> bytes:
    """The exact bytes signed and sent; receivers verify the signature on these bytes."""
    return json.dumps(
        {
            "id": message.id,
            "topic": message.topic,
            "created_at": message.created_at.isoformat(),
            "payload": message.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")


def headers(message: Outgoing, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-OneWindow-Id": message.id,
        "X-OneWindow-Topic": message.topic,
        "X-OneWindow-Timestamp": str(timestamp),
        "X-OneWindow-Signature": sign(message.secret, timestamp, body),
    }


def send(client: httpx.Client, message: Outgoing, *, clock: Clock, timeout: float) -> Attempt:
    """POST one message; any 2xx is an acknowledgement, everything else a failure."""
    body = encode_body(message)
    timestamp = int(clock.now().timestamp())
    try:
        response = client.post(
            message.url,
            content=body,
            headers=headers(message, body, timestamp),
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        return Attempt(message.id, message.subscription_id, "failed", error)
    if 200 <= response.status_code < 300:
        return Attempt(message.id, message.subscription_id, "delivered", None, response.status_code)
    error = f"HTTP {response.status_code}: {response.text[:500]}"
    return Attempt(message.id, message.subscription_id, "failed", error, response.status_code)


def dispatch(
    client: httpx.Client,
    batch: Sequence[Outgoing],
    *,
    clock: Clock,
    timeout: float,
) -> list[Attempt]:
    """Send a claimed batch in order. After a subscription's first failure the rest of its
    messages are skipped this pass: a receiver that is down costs one timeout, not many."""
    failed: set[int] = set()
    attempts: list[Attempt] = []
    for message in batch:
        if message.subscription_id in failed:
            attempts.append(Attempt(message.id, message.subscription_id, "skipped"))
            continue
        attempt = send(client, message, clock=clock, timeout=timeout)
        if attempt.outcome == "failed":
            failed.add(message.subscription_id)
        attempts.append(attempt)
    return attempts
