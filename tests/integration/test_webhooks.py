"""Signed webhooks from the outbox to a real HTTP receiver, through outages, on a real database."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onewindow.catalog import service as catalog
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.integration import delivery
from onewindow.integration import service as integration
from onewindow.integration.delivery import DeliveryPolicy
from onewindow.integration.models import OutboxMessage
from onewindow.integration.tasks import deliver_due
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import Conflict, NotFound, OneWindowError, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

from ..conftest import PG_URL, login
from .helpers import APPROVE, COMPANY, complete, pdf

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "department_system.py"
# Short waits so a test can walk through many retries by moving the manual clock.
FAST = DeliveryPolicy(
    max_attempts=50,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=30),
    lease=timedelta(seconds=60),
    timeout=2.0,
)
STAFF = {
    "CENTER": "center_sun",
    "SAMR": "samr_wang",
    "TAX": "tax_xu",
    "HRSS": "hrss_hu",
    "PSB": "psb_luo",
    "HOUSING": "housing_song",
    "FIRE": "fire_deng",
}


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("department_system", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


department_system = _load_example()


class Department:
    """The example receiver served from a thread; it can be killed and brought back."""

    def __init__(self, secret: str, clock: ManualClock) -> None:
        # The platform signs with its (manual) clock; the receiver shares it to judge freshness.
        self.receiver = department_system.Receiver(
            secret, now=lambda: clock.now().timestamp(), out=lambda _line: None
        )
        self.port = 0
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        self.server = department_system.make_server(self.receiver, "127.0.0.1", self.port)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def kill(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        assert self.thread is not None
        self.thread.join(5)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


@pytest.fixture
def department(clock: ManualClock) -> Iterator[Department]:
    dept = Department("to-be-set", clock)
    dept.start()
    yield dept
    if dept.server is not None:
        dept.kill()


def subscribe(
    platform: Platform,
    url: str,
    topics: tuple[str, ...] = integration.TOPICS,
    department: str | None = None,
    name: str = "department system",
) -> tuple[int, str]:
    def do(ctx: Any) -> tuple[int, str]:
        sub, secret = integration.create_subscription(
            ctx, name, url, list(topics), department, actor="center_zhou"
        )
        return sub.id, secret

    return platform.run(do)


def drive_case(city: Platform, n: int) -> int:
    """One business start-up case from submission to decision, every task approved."""
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [
            Upload(m.code, f"{m.code}.pdf", pdf(f"{m.code}-{n}"))
            for m in service.materials
            if m.required
        ]
        form: dict[str, Any] = {
            f["name"]: f["options"][0] if f.get("options") else f"x{n}"
            for f in service.form_fields
            if f.get("required")
        }
        form["registered_capital"] = 100 + n
        codes = {d.id: d.code for d in catalog.list_departments(ctx)}
    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, f"闽江贸易有限公司{n}"),
            channel="online",
            form=form,
            uploads=uploads,
            actor="portal",
        )
    )
    app_id = submitted.application.id
    for _ in range(30):
        with city.unit_of_work() as ctx:
            todo = [
                (t.id, codes[t.department_id], t.form_fields)
                for t in workflow.open_tasks(ctx, workflow.application_case(ctx, app_id).id)
                if t.department_id is not None
            ]
        if not todo:
            return app_id
        for task_id, dept, fields in todo:
            data = dict(APPROVE)
            for f in fields:
                if f.get("required") and f["id"] not in data:
                    data[f["id"]] = f["options"][0] if f.get("options") else "ok"
            complete(city, task_id, STAFF[dept], data)
    raise AssertionError("case did not finish")


def outbox(platform: Platform) -> list[OutboxMessage]:
    with platform.unit_of_work() as ctx:
        return list(integration.messages(ctx))


def pending(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        return integration.pending_count(ctx)


# --- publishing --------------------------------------------------------------------------


def test_publish_writes_one_message_per_matching_subscription(city: Platform) -> None:
    everything, _ = subscribe(city, "https://all.example/hooks")
    fire_tasks, _ = subscribe(city, "https://fire.example/hooks", ("task.created",), "FIRE")
    decisions, _ = subscribe(city, "http://archive.example/in", ("case.decided",))
    gone, _ = subscribe(city, "https://gone.example/hooks")
    city.run(lambda ctx: integration.deactivate_subscription(ctx, gone, actor="center_zhou"))

    with city.unit_of_work() as ctx:
        integration.publish(ctx, "task.created", {"task_id": 1}, department="FIRE")
        integration.publish(ctx, "task.created", {"task_id": 2}, department="SAMR")
        integration.publish(ctx, "task.completed", {"task_id": 1}, department="FIRE")
        integration.publish(ctx, "case.decided", {"outcome": "approved"})

    got = {(m.subscription_id, m.topic, str(m.payload)) for m in outbox(city)}
    assert got == {
        (everything, "task.created", "{'task_id': 1, 'department': 'FIRE'}"),
        (fire_tasks, "task.created", "{'task_id': 1, 'department': 'FIRE'}"),
        (everything, "task.created", "{'task_id': 2, 'department': 'SAMR'}"),
        (everything, "task.completed", "{'task_id': 1, 'department': 'FIRE'}"),
        (everything, "case.decided", "{'outcome': 'approved'}"),
        (decisions, "case.decided", "{'outcome': 'approved'}"),
    }
    messages = outbox(city)
    assert len({m.id for m in messages}) == len(messages) == 6
    assert all(m.status == "pending" and m.attempts == 0 for m in messages)


def test_messages_roll_back_with_the_transaction_that_published_them(city: Platform) -> None:
    subscribe(city, "https://all.example/hooks")

    class Boom(Exception):
        pass

    def step() -> None:
        with city.unit_of_work() as ctx:
            integration.publish(ctx, "case.started", {"case_number": "X"})
            assert ctx.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
            raise Boom

    with pytest.raises(Boom):
        step()
    assert outbox(city) == []


def test_a_failing_workflow_step_publishes_nothing(city: Platform) -> None:
    subscribe(city, "https://all.example/hooks")
    with pytest.raises(OneWindowError):
        city.run(
            lambda ctx: flows.submit_application(
                ctx,
                "SAMR-001",
                ApplicantIn("business", COMPANY, "缺材料公司"),
                channel="online",
                form={},
                uploads=[],
                actor="portal",
            )
        )
    assert outbox(city) == []


def test_publish_without_subscribers_writes_nothing_and_rejects_unknown_topics(
    city: Platform,
) -> None:
    with city.unit_of_work() as ctx:
        integration.publish(ctx, "case.started", {"case_number": "X"})
        with pytest.raises(ValueError, match="unknown topic"):
            integration.publish(ctx, "case.exploded", {})
    assert outbox(city) == []


def test_subscriptions_are_validated(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        with pytest.raises(ValidationFailed):
            integration.create_subscription(
                ctx, "x", "ftp://x.example/", ["case.started"], actor="a"
            )
        with pytest.raises(ValidationFailed):
            integration.create_subscription(ctx, "x", "/relative", ["case.started"], actor="a")
        with pytest.raises(ValidationFailed):
            integration.create_subscription(
                ctx, "x", "https://x.example/", ["case.lost"], actor="a"
            )
        with pytest.raises(ValidationFailed):
            integration.create_subscription(ctx, "x", "https://x.example/", [], actor="a")
        with pytest.raises(NotFound):
            integration.create_subscription(
                ctx, "x", "https://x.example/", ["case.started"], "NOPE", actor="a"
            )
        sub, secret = integration.create_subscription(
            ctx, " 消防 ", "https://x.example/", ["task.created"] * 2, "FIRE", actor="a"
        )
        assert (sub.name, sub.topics, sub.department, sub.active) == (
            "消防",
            ["task.created"],
            "FIRE",
            True,
        )
        assert len(secret) >= 32


# --- delivery ----------------------------------------------------------------------------


def test_every_event_reaches_the_department_exactly_once_through_outages(
    city: Platform, clock: ManualClock, department: Department, http: httpx.Client
) -> None:
    """The issue's "done when": kill the receiver mid-run, make it fail, bring it back; every
    published event is processed once, and every outbox row ends delivered."""
    _, secret = subscribe(city, department.url)
    department.receiver.secret = secret
    recv = department.receiver

    def deliver() -> delivery.DeliveryReport:
        return deliver_due(city, client=http, policy=FAST, limit=7)

    # Up: cases flow and are delivered as they happen, a few passes per case.
    for n in range(2):
        drive_case(city, n)
        while deliver().claimed:
            pass
    assert pending(city) == 0
    delivered_while_up = len(recv.processed)
    assert delivered_while_up == len(outbox(city)) > 10

    # A worker sends and crashes before recording: the lease runs out, the batch goes again.
    drive_case(city, 2)
    batch = city.run(lambda ctx: integration.claim_due(ctx, limit=5, policy=FAST))
    assert batch
    sent = delivery.dispatch(http, batch, clock=clock, timeout=FAST.timeout)
    assert {a.outcome for a in sent} == {"delivered"}
    while deliver().claimed:  # the rest of case 2, not the leased five
        pass
    assert pending(city) == len(batch)

    # Down: connections refused while cases keep coming; failures back off.
    department.kill()
    clock.advance(FAST.lease)
    for n in range(3, 5):
        drive_case(city, n)
        report = deliver()
        assert report.failed == 1
        assert report.delivered == 0
        assert report.skipped == report.claimed - 1
        assert deliver().claimed == 0  # nothing due until the backoff passes
        clock.advance(FAST.max_delay)

    # Up but answering 500 for a while.
    recv.fail_status = 500
    department.start()
    for _ in range(3):
        report = deliver()
        assert report.failed == 1
        assert "HTTP 500" in report.errors[0]
        clock.advance(FAST.max_delay)
    drive_case(city, 5)

    # Healthy again: everything drains.
    recv.fail_status = None
    for _ in range(40):
        if pending(city) == 0:
            break
        deliver()
        clock.advance(FAST.max_delay)
    assert pending(city) == 0

    rows = outbox(city)
    assert {m.status for m in rows} == {"delivered"}
    assert all(m.delivered_at is not None and m.attempts >= 1 for m in rows)
    assert any(m.attempts > 1 for m in rows)
    ids = {m.id for m in rows}
    assert set(recv.processed) == ids
    assert len(recv.processed) == len(ids)  # each processed once
    assert len(recv.requests) > len(ids)  # though some arrived twice
    assert recv.rejected == 0
    topics = {recv.events[i]["topic"] for i in ids}
    assert topics >= {"case.started", "task.created", "task.completed", "case.decided"}
    one = recv.events[rows[0].id]
    assert set(one) == {"id", "topic", "created_at", "payload"}
    assert one["payload"] == rows[0].payload


def test_max_attempts_make_a_dead_letter_and_replay_delivers_it(
    city: Platform, clock: ManualClock, department: Department, http: httpx.Client
) -> None:
    policy = DeliveryPolicy(
        max_attempts=3, base_delay=timedelta(seconds=1), max_delay=timedelta(seconds=5)
    )
    _, secret = subscribe(city, department.url, ("case.started",))
    department.receiver.secret = "an old secret"  # misconfigured: every request refused (401)
    with city.unit_of_work() as ctx:
        integration.publish(ctx, "case.started", {"case_number": "A"})
        integration.publish(ctx, "case.started", {"case_number": "B"})

    for _ in range(3):
        report = deliver_due(city, client=http, policy=policy)
        assert report.failed == 1
        assert "HTTP 401" in report.errors[0]
        clock.advance(timedelta(seconds=10))
    with city.unit_of_work() as ctx:
        page = integration.dead_letters(ctx, limit=10, offset=0)
        assert page.total == 1
        (dead,) = page.items
        assert (dead.attempts, dead.status) == (3, "dead")
        assert dead.last_error is not None
        assert "401" in dead.last_error
    assert pending(city) == 1  # the other waited behind it, attempts unspent
    with city.unit_of_work() as ctx:
        (b,) = integration.messages(ctx, status="pending")
        assert b.attempts == 0
    for _ in range(3):
        assert deliver_due(city, client=http, policy=policy).failed == 1
        clock.advance(timedelta(seconds=10))
    assert pending(city) == 0
    assert department.receiver.processed == []

    department.receiver.secret = secret
    with city.unit_of_work() as ctx:
        replayed = integration.replay(ctx, dead.id, actor="center_zhou")
        assert (replayed.status, replayed.attempts) == ("pending", 0)
        with pytest.raises(Conflict):
            integration.replay(ctx, dead.id, actor="center_zhou")
        assert integration.replay_all_dead(ctx, actor="center_zhou") == 1
    report = deliver_due(city, client=http, policy=policy)
    assert report.delivered == 2
    assert {m.status for m in outbox(city)} == {"delivered"}
    assert sorted(
        department.receiver.events[i]["payload"]["case_number"]
        for i in department.receiver.processed
    ) == ["A", "B"]
    with city.unit_of_work() as ctx:
        assert integration.dead_letters(ctx).total == 0
        with pytest.raises(NotFound):
            integration.replay(ctx, "0" * 32, actor="center_zhou")


def test_deactivating_a_subscription_stops_delivery_and_keeps_what_it_missed(
    city: Platform, department: Department, http: httpx.Client
) -> None:
    sub_id, secret = subscribe(city, department.url)
    department.receiver.secret = secret
    with city.unit_of_work() as ctx:
        integration.publish(ctx, "case.started", {"case_number": "A"})
    city.run(lambda ctx: integration.deactivate_subscription(ctx, sub_id, actor="center_zhou"))
    with city.unit_of_work() as ctx:
        integration.publish(ctx, "case.started", {"case_number": "B"})
        page = integration.dead_letters(ctx)
        assert page.total == 1
        assert page.items[0].last_error is not None
        with pytest.raises(Conflict):
            integration.replay(ctx, page.items[0].id, actor="center_zhou")
        assert integration.replay_all_dead(ctx, actor="center_zhou") == 0
    assert deliver_due(city, client=http, policy=FAST).claimed == 0
    assert department.receiver.requests == []


@pytest.mark.skipif(not PG_URL, reason="SKIP LOCKED needs PostgreSQL")
def test_two_workers_never_claim_the_same_message(city: Platform) -> None:
    subscribe(city, "https://all.example/hooks")
    with city.unit_of_work() as ctx:
        for n in range(10):
            integration.publish(ctx, "case.started", {"n": n})
    with city.unit_of_work() as first:
        mine = integration.claim_due(first, limit=4, policy=FAST)
        # The first worker's transaction is still open and holds its rows locked.
        with city.unit_of_work() as second:
            theirs = integration.claim_due(second, limit=100, policy=FAST)
    assert len(mine) == 4
    assert len(theirs) == 6
    assert not {m.id for m in mine} & {m.id for m in theirs}


# --- HTTP API ----------------------------------------------------------------------------


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The real app, signed in as the administrator (CSRF header sent on every request)."""
    client.headers.update(login(client, "center_zhou"))
    return client


def test_api_is_for_administrators_only(client: TestClient) -> None:
    assert client.get("/api/v1/integration/subscriptions").status_code == 401
    client.headers.update(login(client, "fire_deng"))
    assert client.get("/api/v1/integration/subscriptions").status_code == 403


def test_api_manages_subscriptions_and_dead_letters(api: TestClient, city: Platform) -> None:
    r = api.post(
        "/api/v1/integration/subscriptions",
        json={
            "name": "消防系统",
            "url": "https://fire.example/hooks",
            "topics": ["task.created"],
            "department": "FIRE",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"]
    assert created["active"]
    assert created["department"] == "FIRE"
    bad = api.post(
        "/api/v1/integration/subscriptions",
        json={"name": "x", "url": "file:///etc/passwd", "topics": ["task.created"]},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "integration.subscription_invalid"

    listed = api.get("/api/v1/integration/subscriptions").json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]

    with city.unit_of_work() as ctx:
        integration.publish(ctx, "task.created", {"task_id": 7}, department="FIRE")
    r = api.delete(f"/api/v1/integration/subscriptions/{created['id']}")
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert api.delete("/api/v1/integration/subscriptions/999").status_code == 404

    page = api.get("/api/v1/integration/dead-letters", params={"limit": 10}).json()
    assert page["total"] == 1
    assert page["limit"] == 10
    assert page["offset"] == 0
    (item,) = page["items"]
    assert item["payload"] == {"task_id": 7, "department": "FIRE"}
    assert api.get("/api/v1/integration/dead-letters", params={"offset": 1}).json()["items"] == []
    r = api.post(f"/api/v1/integration/dead-letters/{item['id']}/replay")
    assert r.status_code == 409  # its subscription is deactivated
    assert api.post("/api/v1/integration/dead-letters/nope/replay").status_code == 404
    assert api.post("/api/v1/integration/dead-letters/replay").json() == {"replayed": 0}
