"""The background worker outlives database outages, and a worker's webhook claims are held
by a heartbeat while it sends and come back within one lease when it dies."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from onewindow.integration import service as integration
from onewindow.integration.delivery import DeliveryPolicy
from onewindow.integration.models import DELIVERED, OutboxMessage
from onewindow.integration.tasks import deliver_due
from onewindow.kit.db import make_engine, make_sessionmaker
from onewindow.kit.heartbeat import WorkerHeartbeat
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.worker import run_forever


def _passes(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        return sum(b.passes for b in ctx.session.scalars(select(WorkerHeartbeat)))


def _until(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_worker_waits_out_a_database_outage_and_logs_it_once(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    worker = threading.Thread(
        target=run_forever, args=(platform,), kwargs={"stop": stop, "interval": 0.05}
    )
    caplog.set_level(logging.WARNING, logger="onewindow.worker")
    worker.start()
    try:
        assert _until(lambda: _passes(platform) >= 2, 60)
        engine, sessions = platform.engine, platform.sessions
        dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
        platform.engine, platform.sessions = dead, make_sessionmaker(dead)
        time.sleep(2.5)  # several failed passes, with backoff
        assert worker.is_alive()
        platform.engine, platform.sessions = engine, sessions
        before = _passes(platform)
        assert _until(lambda: _passes(platform) > before + 1, 30), "worker did not come back"
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    lines = [r.getMessage() for r in caplog.records if r.name == "onewindow.worker"]
    down = [m for m in lines if "unavailable" in m]
    back = [m for m in lines if "back after" in m]
    assert len(down) == 1, lines
    assert len(back) == 1, lines
    assert "OperationalError" in down[0]


# --- webhook leases ------------------------------------------------------------------------


class _SlowReceiver(BaseHTTPRequestHandler):
    seen: Counter[str] = Counter()
    delay = 0.0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        time.sleep(self.delay)
        self.seen[self.headers["X-OneWindow-Id"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_SlowReceiver]]]:
    handler = type("Receiver", (_SlowReceiver,), {"seen": Counter(), "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    """A platform on the real clock: leases are timed in seconds here."""
    p = Platform.create(Settings(env="test", data_dir=tmp_path / "live", database_url=database_url))
    yield p
    p.dispose()


LEASE = DeliveryPolicy(lease=timedelta(seconds=1), timeout=10.0)


def _publish(platform: Platform, url: str, n: int) -> None:
    with platform.unit_of_work() as ctx:
        integration.create_subscription(ctx, "dept", url, ["case.started"], actor="test")
    with platform.unit_of_work() as ctx:
        for i in range(n):
            integration.publish(ctx, "case.started", {"n": i})


def _delivered(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        rows = ctx.session.scalars(select(OutboxMessage)).all()
        return sum(m.status == DELIVERED for m in rows)


def test_a_live_worker_keeps_its_claims_however_slow_the_receiver(
    live: Platform, receiver: tuple[str, type[_SlowReceiver]]
) -> None:
    url, handler = receiver
    handler.delay = 0.8  # 3 messages: 2.4 s of sending on a 1 s lease
    _publish(live, url, 3)
    result: list[int] = []
    sender = threading.Thread(
        target=lambda: result.append(deliver_due(live, policy=LEASE).delivered)
    )
    sender.start()
    assert _until(lambda: handler.seen, 30)  # the sender has claimed and is sending
    stolen = 0
    while sender.is_alive():  # another worker keeps looking for due messages
        stolen += deliver_due(live, policy=LEASE).claimed
        time.sleep(0.3)
    sender.join()
    assert stolen == 0
    assert result == [3]
    assert sorted(handler.seen.values()) == [1, 1, 1]


def test_a_dead_workers_claims_come_back_within_a_lease(
    live: Platform, receiver: tuple[str, type[_SlowReceiver]]
) -> None:
    url, handler = receiver
    _publish(live, url, 4)
    # A worker claims the batch and dies before sending: nobody renews the lease.
    claimed = live.run(lambda ctx: integration.claim_due(ctx, limit=100, policy=LEASE))
    assert len(claimed) == 4
    assert deliver_due(live, policy=LEASE).claimed == 0  # held
    started = time.monotonic()
    assert _until(lambda: deliver_due(live, policy=LEASE).delivered > 0, 10)
    assert time.monotonic() - started < LEASE.lease.total_seconds() + 1.0
    while deliver_due(live, policy=LEASE).claimed:
        pass
    assert _delivered(live) == 4
    assert sorted(handler.seen.values()) == [1, 1, 1, 1]
