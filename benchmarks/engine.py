"""End-to-end cases per second through the service layer with persistence, vs SpiffWorkflow.

    .venv/bin/python benchmarks/engine.py [--cases 300] [--postgres URL] [--statements]
                                          [--subscriptions 2]

Each persisted case is the demo city's business-licence bundle (SAMR-001): one application with
its materials (taken at the window), then the window acceptance, the SAMR review, the three
parallel department registrations and the issue, each completed by staff of its department,
every step its own transaction with its events and, for each of the ``--subscriptions`` webhook
subscriptions (all topics; the issue's aim is measured with two), its outbox rows. The in-memory
baseline runs the same BPMN file with plain SpiffWorkflow (its own parser and script engine, no
persistence) to completion. Runs in one process on one core.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform as pyplatform
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from onewindow.catalog import service as catalog
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.integration import service as integration
from onewindow.kit.db import make_engine
from onewindow.kit.migrate import upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

CITY = Path(__file__).resolve().parents[1] / "src" / "onewindow" / "demo" / "city"
BPMN = CITY / "services" / "business_licence.bpmn"
COMPANY = "91350100M000100Y43"
APPROVE = {"decision": "approve", "materials_complete": True}
STAFF = {
    "Task_window_accept": "center_qian",
    "Task_samr_review": "samr_wang",
    "Task_tax_register": "tax_xu",
    "Task_hrss_register": "hrss_hu",
    "Task_psb_seal": "psb_luo",
    "Task_window_issue": "center_sun",
}


def inmemory(cases: int) -> float:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser
    from SpiffWorkflow.util.task import TaskState

    parser = CamundaParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("business_licence")
    started = time.perf_counter()
    for _ in range(cases):
        wf = BpmnWorkflow(spec)
        wf.data.update({"materials_complete": True, "applicant_kind": "business"})
        wf.do_engine_steps()
        while not wf.is_completed():
            for task in wf.get_tasks(state=TaskState.READY, manual=True):
                task.data.update({"decision": "approve", "materials_complete": True})
                task.run()
            wf.do_engine_steps()
    return cases / (time.perf_counter() - started)


STATEMENTS: collections.Counter[tuple[str, str]] = collections.Counter()


def persisted(
    url: str, cases: int, data_dir: Path, *, count: bool = False, subscriptions: int = 2
) -> tuple[float, int]:
    settings = Settings(env="test", data_dir=data_dir, database_url=url)
    p = Platform.create(settings)
    counting = {"on": False}

    @event.listens_for(p.engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if counting["on"]:
            table = re.search(r"(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.I)
            STATEMENTS[(statement.split()[0].upper(), table.group(1) if table else "")] += 1

    upgrade(p.engine)
    with p.unit_of_work() as ctx:
        catalog.load_catalog(ctx, CITY, actor="bench")
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [
            Upload(m.code, f"{m.code}.pdf", b"%PDF-1.4\n" + m.code.encode())
            for m in service.materials
            if m.required
        ]
        form = {
            f["name"]: (f.get("options") or ["x"])[0]
            for f in service.form_fields
            if f.get("required")
        }
        form["registered_capital"] = 100
        staff = {k: catalog.get_staff(ctx, v).id for k, v in STAFF.items()}
        for n in range(subscriptions):
            integration.create_subscription(
                ctx, f"bench {n}", f"http://127.0.0.1:9/{n}", integration.TOPICS, actor="bench"
            )
    del staff

    def one_case() -> int:
        sub = p.run(
            lambda ctx: flows.submit_application(
                ctx,
                "SAMR-001",
                ApplicantIn("business", COMPANY, "闽江贸易有限公司"),
                channel="window",
                form=form,
                uploads=uploads,
                actor="center_qian",
            )
        )
        steps = 1
        pending = [t for t in sub.outcome.created]
        while pending:
            task = pending.pop(0)
            username = STAFF[task.element_id]
            out = p.run(
                lambda ctx, tid=task.id, u=username: workflow.complete_task(
                    ctx, tid, APPROVE, actor=catalog.get_staff(ctx, u)
                )
            )
            steps += 1
            pending.extend(out.created)
        return steps

    one_case()  # warm caches (compiled process, statement cache)
    counting["on"] = count
    started = time.perf_counter()
    steps = sum(one_case() for _ in range(cases))
    elapsed = time.perf_counter() - started
    counting["on"] = False
    p.dispose()
    return cases / elapsed, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ONEWINDOW_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL ('' to skip)",
    )
    parser.add_argument(
        "--subscriptions",
        type=int,
        default=2,
        help="active webhook subscriptions to every topic (outbox rows per event)",
    )
    parser.add_argument(
        "--statements", action="store_true", help="count the SQL statements of a case (SQLite)"
    )
    args = parser.parse_args()
    py = pyplatform.python_version()
    print(f"machine: {pyplatform.machine()}, {os.cpu_count()} cores, Python {py}")
    print(f"webhook subscriptions: {args.subscriptions}")
    mem = inmemory(args.cases)
    print(f"in-memory SpiffWorkflow:      {mem:8.1f} cases/s")
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-"))
    try:
        rate, steps = persisted(
            f"sqlite:///{tmp / 'bench.db'}",
            args.cases,
            tmp / "data",
            count=args.statements,
            subscriptions=args.subscriptions,
        )
        print(
            f"onewindow, SQLite:            {rate:8.1f} cases/s "
            f"({steps / args.cases:.0f} transactions a case), {rate / mem:.2f}x in-memory"
        )
        if args.statements:
            total = sum(STATEMENTS.values()) / args.cases
            print(f"  SQL statements a case: {total:.0f}")
            for (verb, table), n in STATEMENTS.most_common(12):
                print(f"    {n / args.cases:5.1f}  {verb} {table}")
        if args.postgres:
            schema = f"ow_bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.postgres)
            try:
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            except Exception as exc:  # no server: say so, keep the SQLite figure
                print(f"PostgreSQL skipped: {exc.__class__.__name__}")
            else:
                try:
                    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
                    rate, _ = persisted(
                        url, args.cases, tmp / "data-pg", subscriptions=args.subscriptions
                    )
                    print(
                        f"onewindow, PostgreSQL:        {rate:8.1f} cases/s, "
                        f"{rate / mem:.2f}x in-memory"
                    )
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
