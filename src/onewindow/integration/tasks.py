"""Background job of the integration domain: deliver due webhooks from the outbox."""

from __future__ import annotations

import httpx

from onewindow.integration import delivery
from onewindow.integration import service as integration
from onewindow.integration.delivery import DeliveryPolicy, DeliveryReport
from onewindow.kit.platform import Platform


def deliver_due(
    platform: Platform,
    *,
    client: httpx.Client | None = None,
    limit: int = 100,
    policy: DeliveryPolicy | None = None,
) -> DeliveryReport:
    """One delivery pass: claim due messages (one transaction), POST them with no
    transaction open, record the outcomes (another transaction).

    A crash between the two transactions loses nothing: the claimed messages fall due again
    when their lease runs out and are sent again (at-least-once; receivers dedupe by id).
    """
    policy = policy or DeliveryPolicy()
    batch = platform.run(lambda ctx: integration.claim_due(ctx, limit=limit, policy=policy))
    if not batch:
        return DeliveryReport()
    own_client = client is None
    http = client or httpx.Client(timeout=policy.timeout, follow_redirects=False)
    try:
        attempts = delivery.dispatch(http, batch, clock=platform.clock, timeout=policy.timeout)
    finally:
        if own_client:
            http.close()
    return platform.run(lambda ctx: integration.record_attempts(ctx, attempts, policy=policy))
