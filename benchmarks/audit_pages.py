"""The audit pages' reads on a large ledger: browsing by kind, case, person and period (one page
of 50), the proof bundle a download builds, and the verification the page runs (with its
progress chunks) against the one-pass default.

    .venv/bin/python benchmarks/audit_pages.py [--entries 200000] [--keep DIR]

Entries are realistic decision records from 20 people over about 100 days, appended in
batches of 1,000 into a migrated SQLite file. ``--keep DIR`` keeps and reuses the database.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onewindow.kit.clock import ManualClock
from onewindow.kit.migrate import upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.security import ledger
from onewindow.security.ledger import EntryKind
from onewindow.web.audit_pages import _chunk_bits

START = datetime(2026, 3, 1, tzinfo=UTC)


def _fill(platform: Platform, clock: ManualClock, have: int, n: int) -> None:
    t = time.perf_counter()
    for start in range(have, n, 1000):
        clock.set(START + timedelta(minutes=start // 10))
        items = [
            (
                EntryKind.TASK_DECIDED,
                {"case": f"OW2026{i:010d}", "service": "SAMR-001", "decision": "approve"},
                f"staff_{i % 20:02d}",
            )
            for i in range(start, min(n, start + 1000))
        ]
        with platform.unit_of_work() as ctx:
            ledger.append_many(ctx, items)
    print(f"appended {n - have:,} entries in {time.perf_counter() - t:.1f}s")


def _timed(label: str, fn: object, repeat: int = 3) -> None:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    extra = f" ({result})" if result is not None else ""
    print(f"{label}: {best * 1000:,.1f} ms{extra}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    n = args.entries
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        settings = Settings(env="test", data_dir=tmp, database_url=f"sqlite:///{tmp / 'a.db'}")
        clock = ManualClock(START)
        platform = Platform.create(settings, clock=clock)
        upgrade(platform.engine)
        with platform.unit_of_work() as ctx:
            have = ledger.size(ctx)
        if have < n:
            _fill(platform, clock, have, n)
            with platform.unit_of_work() as ctx:
                ledger.sign_tree_head(ctx)
        with platform.unit_of_work() as ctx:
            print(f"{ledger.size(ctx):,} entries")
            _timed("browse, newest page", lambda: ledger.browse(ctx)[1])
            _timed("browse by kind", lambda: ledger.browse(ctx, kind="task_decided")[1])
            _timed("browse by person", lambda: ledger.browse(ctx, actor="staff_07")[1])
            _timed("browse by case", lambda: ledger.browse(ctx, case="OW20260000012345")[1])
            day = START + timedelta(days=3)
            _timed(
                "browse by one day",
                lambda: ledger.browse(ctx, since=day, until=day + timedelta(days=1))[1],
            )
            _timed("proof bundle (download)", lambda: len(ledger.inclusion_bundle(ctx, n // 2)))
            _timed("verify, one pass (bits 14)", lambda: ledger.verify_stored(ctx, workers=1).ok, 1)
            bits = _chunk_bits(n)
            steps: list[int] = []
            _timed(
                f"verify as the page runs it (bits {bits}, with progress)",
                lambda: ledger.verify_stored(ctx, workers=1, bits=bits, progress=steps.append).ok,
                1,
            )
            print(f"progress steps: {len(steps)}")
        platform.dispose()


if __name__ == "__main__":
    main()
