"""The fault suite's moving parts: a department's webhook receiver, the real `onewindow
serve` and `onewindow worker` processes, a bounded load with idempotency keys, and the
checks run after each fault."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.integration.helpers import COMPANY
from tests.integration.test_api_support import FORM
from tests.integration.test_api_support import REQUIRED_MATERIALS as MATERIALS

BIN = Path(sys.executable).parent
RETRYABLE = {502, 503, 504}
RETRYABLE_CODES = {"concurrency.conflict", "idempotency.in_progress", "request.conflict"}


# --- the department's system ------------------------------------------------------------------


class Receiver:
    """Receives webhooks on a fixed port and processes each message id once (it dedupes, as
    the README asks receivers to); ``stop``/``start`` take it down and up again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.processed: Counter[str] = Counter()  # id -> times processed (must stay 1)
        self.deliveries = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a department's web server does

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                message = self.headers["X-OneWindow-Id"]
                with receiver.lock:
                    receiver.deliveries += 1
                    if message not in receiver.processed:
                        receiver.processed[message] += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# --- processes ------------------------------------------------------------------------------


@dataclass
class Processes:
    env: dict[str, str]
    port: int
    logs: Path
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    _n: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        self._n += 1
        log = (self.logs / f"{args[0]}-{self._n}.log").open("wb")
        return subprocess.Popen(
            [str(BIN / "onewindow"), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: cleanup kills exactly what we started
        )

    def start_server(self) -> None:
        self.server = self._spawn(
            "serve", "--port", str(self.port), "--workers", "2", "--no-worker"
        )

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", "--interval", "1")

    def server_children(self) -> list[int]:
        assert self.server is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.server.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split() if alive(int(p))]

    def stop_all(self) -> None:
        for proc in (self.server, self.worker):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(30)

    def tails(self) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            out.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(out)


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> float:
    """Seconds until ``condition()`` held; raises after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(step)
    return time.monotonic() - started


# --- load ------------------------------------------------------------------------------------


@dataclass
class Answers:
    """What the clients were told: every 2xx by idempotency key, and every 5xx."""

    submissions: dict[str, set[str]] = field(default_factory=dict)  # key -> case numbers
    completions: dict[str, set[int]] = field(default_factory=dict)  # key -> task ids
    server_errors: list[tuple[int, str, str]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a step answered what it must not
    requests: int = 0
    conflicts: int = 0  # 409 concurrency.conflict answered (after the server's own retries)
    conflict_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    """``clients`` threads, each taking a business licence through all six steps (three of
    them completed in parallel), every call with its own idempotency key and retried with
    that key until it is answered."""

    def __init__(self, base: str, tokens: dict[str, str], clients: int = 4) -> None:
        self.base = base
        self.tokens = tokens
        self.clients = clients
        self.answers = Answers()
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.idle = threading.Semaphore(0)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for _ in range(self.clients):
            t = threading.Thread(target=self._client, daemon=True)
            t.start()
            self.threads.append(t)

    def pause(self) -> None:
        """Let every client finish its case, then hold: the database is quiet to check."""
        self.paused.set()
        for _ in self.threads:
            assert self.idle.acquire(timeout=180), "a client did not finish its case"

    def resume(self) -> None:
        self.paused.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.paused.clear()
        for t in self.threads:
            t.join(180)

    def call(self, who: str, path: str, key: str, **kw: Any) -> httpx.Response | None:
        """POST with ``key`` until a final answer (not a transport error, 503 or clash)."""
        deadline = time.monotonic() + 120
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Idempotency-Key": key}
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while time.monotonic() < deadline:
                try:
                    r = http.post(path, headers=headers, **kw)
                except httpx.TransportError:
                    time.sleep(0.3)
                    continue
                with self.answers.lock:
                    self.answers.requests += 1
                    if r.status_code >= 500:
                        self.answers.server_errors.append(
                            (r.status_code, r.headers.get("content-type", ""), path)
                        )
                code = _code(r)
                if code == "concurrency.conflict":
                    with self.answers.lock:
                        self.answers.conflicts += 1
                        if len(self.answers.conflict_samples) < 5:
                            self.answers.conflict_samples.append(f"{path} {r.text[:300]}")
                if r.status_code in RETRYABLE or code in RETRYABLE_CODES:
                    time.sleep(0.3)
                    continue
                return r
        with self.answers.lock:
            self.answers.gave_up.append(f"{path} {key}")
        return None

    def complete(self, who: str, task: int, data: dict[str, Any]) -> list[dict[str, Any]]:
        key = f"complete-{uuid.uuid4().hex}"
        r = self.call(who, f"/api/v1/tasks/{task}/complete", key, json={"data": data})
        if r is None or r.status_code != 200:
            raise AssertionError(f"{who} completing {task}: {r and r.status_code} {r and r.text}")
        with self.answers.lock:
            self.answers.completions.setdefault(key, set()).add(int(r.json()["task"]["id"]))
        created: list[dict[str, Any]] = r.json()["created"]
        return created

    def submit(self) -> list[dict[str, Any]] | None:
        """Take one application (its own key); the tasks it created, or None."""
        key = f"submit-{uuid.uuid4().hex}"
        r = self.call(
            "CENTER",
            "/api/v1/applications",
            key,
            data={
                "service": "SAMR-001",
                "applicant_kind": "business",
                "applicant_id_number": COMPANY,
                "applicant_name": "闽江贸易有限公司",
                "channel": "window",
                "form": json.dumps(FORM, ensure_ascii=False),
            },
            files=[
                (f"material:{m}", (f"{m}.pdf", b"%PDF-1.4\n" + m.encode(), "application/pdf"))
                for m in MATERIALS
            ],
        )
        if r is None or r.status_code != 201:
            return None
        with self.answers.lock:
            self.answers.submissions.setdefault(key, set()).add(str(r.json()["number"]))
        tasks: list[dict[str, Any]] = r.json()["tasks"]
        return tasks

    def one_case(self) -> None:
        tasks = self.submit()
        if tasks is None:
            return
        (accept,) = tasks
        approve = {"decision": "approve", "materials_complete": True}
        (review,) = self.complete("CENTER", accept["id"], approve)
        parallel = self.complete("SAMR", review["id"], {"decision": "approve"})
        owners = {"Task_tax_register": "TAX", "Task_hrss_register": "HRSS", "Task_psb_seal": "PSB"}
        created: list[dict[str, Any]] = []

        def run(task: dict[str, Any]) -> None:
            created.extend(self.complete(owners[task["element_id"]], task["id"], {}))

        threads = [threading.Thread(target=run, args=(t,)) for t in parallel]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (issue,) = created
        self.complete("CENTER", issue["id"], {})

    def _client(self) -> None:
        while not self.stopping.is_set():
            if self.paused.is_set():
                self.idle.release()
                while self.paused.is_set() and not self.stopping.is_set():
                    time.sleep(0.1)
                continue
            try:
                self.one_case()
            except Exception as exc:  # recorded for the test to report, the client goes on
                with self.answers.lock:
                    self.answers.failures.append(f"{type(exc).__name__}: {exc}"[:500])


def _code(r: httpx.Response) -> str | None:
    if not r.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        return str(r.json().get("code"))
    except ValueError:
        return None


# --- checks ----------------------------------------------------------------------------------


def check_database(engine: Engine, answers: Answers) -> dict[str, int]:
    """Every 2xx is in the database exactly once with its materials, tasks, events and ledger
    entries, and no case is half-written. Run with the load paused."""
    numbers: set[str] = set()
    for key, answered in answers.submissions.items():
        assert len(answered) == 1, f"key {key} was answered with {answered}"
        numbers |= answered
    assert len(numbers) == len(answers.submissions), "two keys answered with one case"
    with engine.connect() as db:
        cases = dict(db.execute(text("SELECT number, id FROM applications")).all())
        assert set(cases) == numbers, (
            f"{len(set(cases) - numbers)} cases no client was told of, "
            f"{len(numbers - set(cases))} answered cases missing"
        )
        materials = Counter(
            row[0] for row in db.execute(text("SELECT application_id FROM application_materials"))
        )
        states = {
            row[0]
            for row in db.execute(
                text("SELECT application_id FROM cases WHERE application_id IS NOT NULL")
            )
        }
        tasks = db.execute(
            text(
                "SELECT t.id, c.application_id, t.element_id, t.status, t.data "
                "FROM tasks t JOIN cases c ON c.id = t.case_id"
            )
        ).all()
        submitted = Counter(
            row[0]
            for row in db.execute(
                text("SELECT application_id FROM events WHERE event_type = 'application_submitted'")
            )
        )
        completed_events = Counter(
            (row[0], row[1])
            for row in db.execute(
                text(
                    "SELECT application_id, activity_id FROM events "
                    "WHERE event_type = 'task_completed'"
                )
            )
        )
        decided = Counter(
            json.loads(row[0]).get("task_id")
            for row in db.execute(
                text("SELECT entry FROM ledger_entries WHERE kind = 'task_decided'")
            )
        )
    for number, case_id in cases.items():
        assert materials[case_id] == len(MATERIALS), f"{number}: {materials[case_id]} materials"
        assert case_id in states, f"{number}: no engine state"
        assert submitted[case_id] == 1, f"{number}: {submitted[case_id]} submitted events"
    by_case = Counter(t.application_id for t in tasks)
    assert all(by_case[c] >= 1 for c in cases.values()), "a case without tasks"
    completed = {t.id: t for t in tasks if t.status == "completed"}
    for key, answered in answers.completions.items():
        (task,) = answered
        assert task in completed, f"completion {key} answered 200, task {task} not completed"
    per_step = Counter((t.application_id, t.element_id) for t in completed.values())
    for step, n in per_step.items():
        assert completed_events[step] == n, f"{step}: {completed_events[step]} events for {n}"
    for task in completed.values():
        data = task.data if isinstance(task.data, dict) else json.loads(task.data or "{}")
        expected = 1 if "decision" in data else 0
        assert decided[task.id] == expected, f"task {task.id}: {decided[task.id]} ledger entries"
    assert not [c for c, content_type, _ in answers.server_errors if "problem" not in content_type]
    return {"cases": len(cases), "completed_tasks": len(completed)}


def check_webhooks(engine: Engine, receiver: Receiver) -> dict[str, int]:
    """Every message in the outbox was delivered and processed exactly once."""
    with engine.connect() as db:
        rows = db.execute(text("SELECT id, status FROM integration_outbox")).all()
    undelivered = [r for r in rows if r.status != "delivered"]
    assert not undelivered, f"{len(undelivered)} webhooks not delivered: {undelivered[:3]}"
    with receiver.lock:
        assert set(receiver.processed) == {r.id for r in rows}
        assert set(receiver.processed.values()) == {1}
        return {"webhooks": len(rows), "deliveries": receiver.deliveries}


def pending_before(engine: Engine, when: datetime) -> int:
    with engine.connect() as db:
        return int(
            db.execute(
                text(
                    "SELECT count(*) FROM integration_outbox "
                    "WHERE status <> 'delivered' AND created_at <= :t"
                ),
                {"t": when},
            ).scalar_one()
        )


def last_heartbeat(engine: Engine) -> tuple[str, float] | None:
    """(worker name, seconds since its last beat) of the freshest worker."""
    with engine.connect() as db:
        row = db.execute(
            text("SELECT name, beat_at FROM worker_heartbeats ORDER BY beat_at DESC LIMIT 1")
        ).first()
    if row is None:
        return None
    return str(row[0]), (datetime.now(UTC) - row[1]).total_seconds()
