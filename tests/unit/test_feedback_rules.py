"""Feedback rules without a database: hotspot test, text normalisation, masking, similarity."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from onewindow.feedback import classifier as clf
from onewindow.feedback import hotspots
from onewindow.feedback.service import mask_text, similarity

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 3, 2)


def _poisson(rng: random.Random, lam: float) -> int:
    # inverse transform: fine for small rates
    k, p, target = 0, 2.718281828459045**-lam, rng.random()
    cumulative = p
    while cumulative < target:
        k += 1
        p *= lam / k
        cumulative += p
    return k


def _records(seed: int, weeks: int = 10, spike: float = 1.0) -> list[hotspots.Record]:
    """Steady Poisson cells over ``weeks``; the last week of (A区, traffic) times ``spike``."""
    rng = random.Random(seed)
    rates = {("A区", "traffic"): 3.0, ("A区", "tax"): 1.0, ("B区", "traffic"): 6.0,
             ("B区", "housing"): 4.0, ("C区", "environment"): 8.0}  # fmt: skip
    out = []
    for w in range(weeks):
        monday = MONDAY + timedelta(weeks=w)
        for (district, category), lam in rates.items():
            last = w == weeks - 1
            lam = lam * spike if last and (district, category) == ("A区", "traffic") else lam
            for _ in range(_poisson(rng, lam)):
                when = datetime.combine(
                    monday + timedelta(days=rng.randint(0, 6)), datetime.min.time(), ZONE
                )
                out.append(hotspots.Record(district, category, when + timedelta(hours=10)))
    return out


def test_planted_cell_is_found_first_with_its_counts_and_p_value() -> None:
    flags = hotspots.detect(_records(1, spike=6.0), population={"A区": 100_000})
    assert flags, "the planted cell must be flagged"
    top = flags[0]
    assert (top.district, top.category) == ("A区", "traffic")
    assert top.week == (MONDAY + timedelta(weeks=9)).isoformat()
    assert top.count > 3 * top.baseline
    assert top.p_value < 1e-4
    assert top.rate_per_10k == pytest.approx(top.count / 10)


def test_steady_cells_are_not_flagged() -> None:
    false_alarms = sum(len(hotspots.detect(_records(seed))) for seed in range(40))
    assert false_alarms <= 1  # 40 steady weeks x 5 cells at a family-wise 1 %


def test_the_p_value_is_the_conditional_binomial_tail() -> None:
    # 10 this week against 8 weeks totalling 16: P(Bin(26, 1/9) >= 10)
    from scipy.stats import binom

    assert hotspots.p_value(10, 16, 8) == pytest.approx(binom.sf(9, 26, 1 / 9))
    assert hotspots.p_value(0, 16, 8) == 1.0


def test_too_little_history_flags_nothing() -> None:
    assert hotspots.detect(_records(1, weeks=3, spike=10.0)) == []


def test_rising_topics_find_this_weeks_new_words() -> None:
    base = datetime(2026, 3, 2, 10, tzinfo=ZONE)
    texts = [("垃圾清运不及时", base + timedelta(weeks=w)) for w in range(4)]
    texts += [("红绿灯坏了路口拥堵", base + timedelta(weeks=4, days=d)) for d in range(4)]
    topics = hotspots.rising_topics(texts, clf.words, zone=ZONE)
    assert {t["keyword"] for t in topics} & {"红绿灯", "拥堵", "路口"}


def test_text_is_normalised_to_simplified_without_emoji() -> None:
    assert clf.normalise("  這條馬路的紅綠燈壞了😡😡  ") == "这条马路的红绿灯坏了"
    assert clf.normalise("ＡＢＣ１２３") == "ABC123"
    for bad in ("", "   ", "😡🙂", "！！！"):
        with pytest.raises(clf.TextInvalid):
            clf.normalise(bad)
    assert clf.normalise("字" * 20_000) == "字" * 20_000  # no length limit


def test_starter_model_routes_typical_tickets() -> None:
    model = clf.starter()
    assert model.classify("公司拖欠工资三个月了")[0] == "wages"
    assert model.classify("這條馬路的紅綠燈壞了，堵車嚴重")[0] == "traffic"
    category, confidence = model.classify("饭店后厨有老鼠，吃完拉肚子")
    assert category == "food_safety"
    assert 0 < confidence <= 1


def test_public_text_is_masked() -> None:
    text = "我叫张三丰，电话13812345678，身份证11010519491231002X，邮箱zhang@example.cn"
    masked = mask_text(text, ["张三丰"])
    assert "13812345678" not in masked
    assert "138****5678" in masked
    assert "11010519491231002X" not in masked
    assert "110105********002X" in masked
    assert "张三丰" not in masked
    assert "z****@example.cn" in masked


def test_similarity_of_near_duplicates() -> None:
    a = clf.normalise("五四路路口红绿灯坏了，堵车严重")
    b = clf.normalise("五四路路口的红绿灯坏了好几天，堵车很严重")
    c = clf.normalise("超市销售过期食品")
    assert similarity(a, b) > 0.6
    assert similarity(a, c) < 0.1
