"""Records masked per second under the one policy, and free-text redaction per second.

.venv/bin/python benchmarks/masking.py [--records 200000]
"""

from __future__ import annotations

import argparse
import time

from onewindow.security import masking

RECORD = {
    "name": "张三丰",
    "citizen_id": "11010519491231002X",
    "mobile": "13812345678",
    "landline": "09151234579",
    "bank_card": "6222021234567893254",
    "address": "北京市海淀区马连洼街道梅园小区3号楼",
    "email": "zhang@example.cn",
    "free_text": "申请人电话13812345678，身份证11010519491231002X",
}
CLASSES = {k: k for k in RECORD}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    n = ap.parse_args().records
    for role in ("reviewer", "auditor", "analyst"):
        roles = frozenset({role})
        t = time.perf_counter()
        for _ in range(n):
            masking.show_record(RECORD, CLASSES, roles)
        dt = time.perf_counter() - t
        print(f"{role:9s}: {n / dt:,.0f} records/s (8 fields each)")
    text = RECORD["free_text"] + "，备注：无"
    t = time.perf_counter()
    for _ in range(n):
        masking.redact_text(text)
    dt = time.perf_counter() - t
    print(f"free-text redaction (IDs with check digit, cards with Luhn, phones): {n / dt:,.0f}/s")


if __name__ == "__main__":
    main()
