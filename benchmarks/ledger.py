"""The ledger: appends per second, proof time and verification time at 1,000,000 entries.

    .venv/bin/python benchmarks/ledger.py [--entries 1000000] [--batch 1000] [--postgres URL]
        [--keep DIR] [--workers N]

Entries are appended through ``ledger.append_many`` into a migrated database (SQLite file by
default), ``--batch`` entries per transaction, each entry a realistic decision record. Then:
inclusion and consistency proofs read back from the stored subtree hashes (mean of 200 each,
checked with the verifier); ``verify_stored`` (every entry re-hashed and its canonical JSON and
kind checked, the tree rebuilt, every stored subtree hash and the signed head compared), in one
process and in worker processes; ``export``; and the offline verification of that export
against the signed head, in one process and in workers. The in-memory compact range (hashing
only) is reported for comparison. ``--keep DIR`` keeps the database there and, run again,
reuses it when it already holds the entries (the appends are then not measured).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from onewindow.kit.migrate import upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.security import ledger, ledger_verify, merkle
from onewindow.security.ledger import EntryKind


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--postgres", default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the database here")
    ap.add_argument("--workers", type=int, default=None, help="default: one a CPU")
    args = ap.parse_args()
    n, batch = args.entries, args.batch

    t = time.perf_counter()
    cr = merkle.CompactRange()
    for i in range(n):
        cr.append(merkle.leaf_hash(b'{"i":%d}' % i))
    mem = time.perf_counter() - t
    print(f"in memory (compact range, hashing only): {n / mem:,.0f} appends/s")

    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        url = args.postgres or f"sqlite:///{tmp / 'bench.db'}"
        settings = Settings(env="test", data_dir=tmp, database_url=url)
        platform = Platform.create(settings)
        upgrade(platform.engine)
        with platform.unit_of_work() as ctx:
            have = ledger.size(ctx)
        if have < n:
            _append(platform, have, n, batch)
        else:
            print(f"reusing the {have:,} entries in {url}")
        with platform.unit_of_work() as ctx:
            one = time.perf_counter()
            ledger.append(ctx, EntryKind.FIELD_UNMASKED, {"x": 1}, actor="b")
            print(f"one append in its own transaction: {(time.perf_counter() - one) * 1e3:.2f} ms")
            head = ledger.sign_tree_head(ctx)
        _proofs(platform, head)
        out = tmp / "ledger.jsonl"
        with platform.unit_of_work() as ctx:
            for workers in (1, args.workers):
                t = time.perf_counter()
                verdict = ledger.verify_stored(ctx, workers=workers)
                print(
                    f"verify {head['size']:,} stored entries against the signed head "
                    f"({_processes(workers, head['size'])}): {time.perf_counter() - t:.1f}s, "
                    f"ok={verdict.ok}"
                )
            t = time.perf_counter()
            ledger.export(ctx, out)
            print(f"export: {time.perf_counter() - t:.1f}s ({out.stat().st_size / 2**20:.0f} MiB)")
        key = ledger.signing_key(settings).public_key()
        for workers in (1, args.workers):
            t = time.perf_counter()
            verdict = ledger.verify_export(out, head, key, workers=workers)
            print(
                f"offline verify of the export ({_processes(workers, head['size'])}): "
                f"{time.perf_counter() - t:.1f}s, ok={verdict.ok}"
            )
        platform.dispose()


def _processes(workers: int | None, size: int) -> str:
    width = 1 << ledger_verify.DEFAULT_BITS
    count = ledger_verify.worker_count(workers, size, width)
    return "one process" if count == 1 else f"{count} worker processes"


def _append(platform: Platform, have: int, n: int, batch: int) -> None:
    t = time.perf_counter()
    for start in range(have, n, batch):
        items = [
            (
                EntryKind.TASK_DECIDED,
                {
                    "case": f"OW2026030200{i:06d}",
                    "service": "SAMR-001",
                    "task": "Task_samr_review",
                    "department": "SAMR",
                    "decision": "approve",
                },
                "samr_wang",
            )
            for i in range(start, min(n, start + batch))
        ]
        with platform.unit_of_work() as ctx:
            ledger.append_many(ctx, items)
    append = time.perf_counter() - t
    print(
        f"appended {n - have:,} entries to {platform.engine.dialect.name} in {append:.1f}s: "
        f"{(n - have) / append:,.0f} appends/s ({batch} per transaction)"
    )


def _proofs(platform: Platform, head: dict[str, Any]) -> None:
    size = head["size"]
    root = bytes.fromhex(head["root_hash"])
    rng = random.Random(1)
    with platform.unit_of_work() as ctx:
        t = time.perf_counter()
        for _ in range(200):
            i = rng.randrange(size)
            p = ledger.prove_inclusion(ctx, i)
            merkle.verify_inclusion(
                i,
                size,
                bytes.fromhex(p["leaf_hash"]),
                [bytes.fromhex(h) for h in p["audit_path"]],
                root,
            )
        inc = (time.perf_counter() - t) / 200
        t = time.perf_counter()
        for _ in range(200):
            old = rng.randrange(1, size)
            p = ledger.prove_consistency(ctx, old, size)
            old_root = bytes.fromhex(ledger.root(ctx, old)["root_hash"])
            merkle.verify_consistency(
                old, size, old_root, root, [bytes.fromhex(h) for h in p["proof"]]
            )
        cons = (time.perf_counter() - t) / 200
    print(
        f"inclusion proof + check: {inc * 1e3:.2f} ms ({len(p['proof'])}-ish hashes); "
        f"consistency proof + old root + check: {cons * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
