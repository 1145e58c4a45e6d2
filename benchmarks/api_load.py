"""Load on the intake and task-completion endpoints, from a second process over loopback.

    .venv/bin/python benchmarks/api_load.py [--seconds 20] [--concurrency 8] [--workers 2]
                                             [--postgres URL | --postgres ''] [--parallel]
                                             [--no-sqlite]

Starts `onewindow serve` (N server processes, no in-process worker) on a fresh database with
the demo catalogue, signs an administrator in to issue bearer tokens for the front desk
(CENTER, scopes applications.create + tasks.work) and for the departments of the parallel
steps, then for a fixed time runs client threads that each submit a business-licence
application with its materials (multipart) and complete the window acceptance task it
created. Prints requests per second and p50/p95/p99 latency per endpoint, on SQLite and then
on PostgreSQL.

With --parallel each client also takes its case through the market-regulation review and
then completes the three parallel department tasks (tax, social insurance, seal) at the same
moment, one thread each: the clashes on the case's engine state are retried server-side as a
whole unit of work, and the share of those completions still answered 409 is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPANY = "91350100M000100Y43"
FORM = {
    "company_name": "闽江贸易有限公司",
    "company_type": "有限责任公司（自然人独资）",
    "registered_capital": 100,
    "legal_representative": "张三",
    "business_scope": ["日用百货销售"],
    "registered_address": "福州市鼓楼区五一北路 1 号",
}
MATERIALS = (
    "registration_application",
    "articles_of_association",
    "id_card",
    "shareholder_id",
    "officer_appointment",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    subprocess.run(
        [BIN / "onewindow", "demo", "--weeks", "0", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [BIN / "onewindow", "serve", "--port", str(port), "--workers", str(workers), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300  # start-up imports are slow on a busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


PARALLEL = {"Task_tax_register": "TAX", "Task_hrss_register": "HRSS", "Task_psb_seal": "PSB"}


def issue_tokens(base: str) -> dict[str, str]:
    """A bearer token per department system: CENTER takes applications; all work tasks."""
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=base) as c:
        r = c.post("/api/v1/auth/login", json={"username": "center_zhou", "password": "demo"})
        r.raise_for_status()
        csrf = r.json()["csrf_token"]
        for department in ("CENTER", "SAMR", *PARALLEL.values()):
            scopes = ["tasks.work"] + (["applications.create"] if department == "CENTER" else [])
            r = c.post(
                "/api/v1/admin/tokens",
                json={"name": f"load-{department}", "scopes": scopes, "department": department},
                headers={"X-CSRF-Token": csrf},
            )
            r.raise_for_status()
            tokens[department] = str(r.json()["token"])
    return tokens


def run_load(
    base: str, tokens: dict[str, str], seconds: float, concurrency: int, *, parallel: bool
) -> dict[str, list[float]]:
    lat: dict[str, list[float]] = {"submit": [], "complete": [], "parallel": [], "errors": []}
    statuses: list[int] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def http(department: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {tokens[department]}"}
        return httpx.Client(base_url=base, headers=auth, timeout=30)

    def complete(c: httpx.Client, task: dict[str, Any], data: dict[str, Any]) -> httpx.Response:
        return c.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})

    def client() -> None:
        files = [
            (f"material:{m}", (f"{m}.pdf", b"%PDF-1.4\n" + m.encode(), "application/pdf"))
            for m in MATERIALS
        ]
        data = {
            "service": "SAMR-001",
            "applicant_kind": "business",
            "applicant_id_number": COMPANY,
            "applicant_name": "闽江贸易有限公司",
            "channel": "window",
            "form": json.dumps(FORM, ensure_ascii=False),
        }
        clients = {d: http(d) for d in tokens}
        c = clients["CENTER"]
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = c.post("/api/v1/applications", data=data, files=files)
            t1 = time.perf_counter()
            if r.status_code != 201:
                with lock:
                    if not lat["errors"]:  # say why once: a refused form is not a load figure
                        print(f"first error: {r.status_code} {r.text[:300]}", file=sys.stderr)
                    lat["errors"].append(r.status_code)
                continue
            task = next(t for t in r.json()["tasks"] if t["element_id"] == "Task_window_accept")
            r2 = complete(c, task, {"decision": "approve", "materials_complete": True})
            t2 = time.perf_counter()
            with lock:
                lat["submit"].append(t1 - t0)
                if r2.status_code == 200:
                    lat["complete"].append(t2 - t1)
                else:
                    lat["errors"].append(r2.status_code)
            if not parallel or r2.status_code != 200:
                continue
            (review,) = r2.json()["created"]
            r3 = complete(clients["SAMR"], review, {"decision": "approve"})
            if r3.status_code != 200:
                with lock:
                    lat["errors"].append(r3.status_code)
                continue
            barrier = threading.Barrier(len(PARALLEL))

            def one(task: dict[str, Any], barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                t = time.perf_counter()
                r = complete(clients[PARALLEL[task["element_id"]]], task, {})
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        lat["parallel"].append(time.perf_counter() - t)

            threads = [threading.Thread(target=one, args=(t,)) for t in r3.json()["created"]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        for each in clients.values():
            each.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat["parallel_statuses"] = [float(s) for s in statuses]
    return lat


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(label: str, lat: dict[str, list[float]], seconds: float) -> None:
    total = len(lat["submit"]) + len(lat["complete"]) + len(lat["parallel"])
    print(f"{label}: {total / seconds:.1f} requests/s, errors {len(lat['errors'])}")
    statuses = lat["parallel_statuses"]
    if statuses:
        clashes = sum(1 for s in statuses if s == 409)
        print(
            f"  parallel completions {len(statuses)}: answered 409 {clashes} "
            f"({100 * clashes / len(statuses):.2f} %), other errors "
            f"{sum(1 for s in statuses if s not in (200, 409))}"
        )
    for name in ("submit", "complete", "parallel"):
        v = lat[name]
        if v:
            print(
                f"  {name:9s} {len(v) / seconds:7.1f}/s  p50 {pct(v, 0.5):6.1f} ms  "
                f"p95 {pct(v, 0.95):6.1f} ms  p99 {pct(v, 0.99):6.1f} ms  "
                f"mean {statistics.mean(v) * 1000:6.1f} ms"
            )


def bench(label: str, db_url: str | None, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ow-load-"))
    env = {**os.environ, "ONEWINDOW_DATA_DIR": str(tmp), "ONEWINDOW_ENV": "development"}
    if db_url:
        env["ONEWINDOW_DATABASE_URL"] = db_url
    port = free_port()
    proc = start_server(env, port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        tokens = issue_tokens(base)
        run_load(base, tokens, 2, args.concurrency, parallel=args.parallel)  # warm-up
        lat = run_load(base, tokens, args.seconds, args.concurrency, parallel=args.parallel)
        report(
            f"{label} ({args.workers} server workers, {args.concurrency} clients)",
            lat,
            args.seconds,
        )
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument(
        "--parallel",
        action="store_true",
        help="also complete the three parallel department tasks at once; report the 409 rate",
    )
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} cores; client and server on one machine over loopback")
    if not args.no_sqlite:
        bench("SQLite", None, args)
    if args.postgres:
        from sqlalchemy import create_engine, text

        schema = f"ow_load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            bench("PostgreSQL", f"{args.postgres}?options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
