"""Background job of the integration domain: deliver due webhooks from the outbox."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

import httpx

from onewindow.integration import delivery
from onewindow.integration import service as integration
from onewindow.integration.delivery import DeliveryPolicy, DeliveryReport, Outgoing
from onewindow.kit.platform import Platform

log = logging.getLogger("onewindow.worker")


class _LeaseKeeper:
    """Renews a claimed batch's lease every third of a lease while it is being sent, from a
    thread of its own (the sending holds no transaction). If this worker dies, renewals
    stop and the batch falls due again within one lease."""

    def __init__(self, platform: Platform, batch: list[Outgoing], policy: DeliveryPolicy) -> None:
        self.platform = platform
        self.batch = batch
        self.policy = policy
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="webhook-lease", daemon=True)

    def _run(self) -> None:
        every = self.policy.lease.total_seconds() / 3
        while not self.stop.wait(every):
            try:
                self.batch = self.platform.run(
                    lambda ctx: integration.renew_lease(ctx, self.batch, policy=self.policy)
                )
            except Exception as exc:  # the lease lapses: at worst a message is sent twice
                log.warning("webhook lease not renewed: %s", type(exc).__name__)

    def __enter__(self) -> _LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join()


def deliver_due(
    platform: Platform,
    *,
    client: httpx.Client | None = None,
    limit: int = 100,
    policy: DeliveryPolicy | None = None,
) -> DeliveryReport:
    """One delivery pass: claim due messages (one transaction), POST them with no
    transaction open while a heartbeat renews their lease, record the outcomes (another
    transaction).

    A crash between the two transactions loses nothing: the claimed messages fall due again
    when their lease runs out and are sent again (at-least-once; receivers dedupe by id).
    """
    policy = policy or DeliveryPolicy.from_settings(platform.settings)
    batch = platform.run(lambda ctx: integration.claim_due(ctx, limit=limit, policy=policy))
    if not batch:
        return DeliveryReport()
    own_client = client is None
    http = client or httpx.Client(timeout=policy.timeout, follow_redirects=False)
    try:
        with _LeaseKeeper(platform, batch, policy):
            attempts = delivery.dispatch(http, batch, clock=platform.clock, timeout=policy.timeout)
    finally:
        if own_client:
            http.close()
    return platform.run(lambda ctx: integration.record_attempts(ctx, attempts, policy=policy))
