"""Topic hotspots on hand-made messages: two estates with one problem each, plus noise."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from onewindow.cli.feedback import feedback_app
from onewindow.feedback import topics

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZONE)

# Six people about 阳光花园's sewage, five about 锦绣家园's night-time construction noise,
# worded differently each time, with the estate in different positions of the sentence.
SEWAGE = (
    "阳光花园污水横流，臭味熏天，希望尽快处理。",
    "我住在阳光花园，小区门口的下水道堵塞，污水溢到路面，恶臭难忍。",
    "关于阳光花园污水外溢的投诉。化粪池满了没人清理，污水流得到处都是。",
    "阳光花园3号楼旁边污水管破裂，整栋楼都是臭味。",
    "投诉阳光花园污水问题，已经持续一个月，发臭严重。",
    "请管一管阳光花园的污水，孩子放学都要踩着污水走。",
)
NOISE = (
    "锦绣家园旁边的工地夜间施工，噪音太大，凌晨两点还在打桩。",
    "锦绣家园附近工地每天晚上施工到半夜，噪音扰民，无法休息。",
    "关于锦绣家园工地夜间施工扰民。请城管管一管。",
    "投诉锦绣家园边上工地噪音，晚上十一点以后还在施工。",
    "锦绣家园业主反映：工地噪声扰民，夜间施工不停。",
)
OTHER = (
    "社保卡丢了怎么补办？",
    "建议在五四路增设一个公交站。",
    "个税汇算清缴在哪里办理？",
    "公积金贷款需要什么材料。",
    "请问户口迁移需要多长时间。",
    "东街口的红绿灯坏了。",
)


def _messages() -> list[topics.Message]:
    out: list[topics.Message] = []
    for k, text in enumerate(SEWAGE):
        out.append(topics.Message(f"s{k}", text, T0 + timedelta(days=k), likes=k, sender=f"p{k}"))
    for k, text in enumerate(NOISE):
        out.append(topics.Message(f"n{k}", text, T0 + timedelta(days=20 + k), sender=f"q{k}"))
    for k, text in enumerate(OTHER):
        out.append(topics.Message(f"o{k}", text, T0 + timedelta(days=k)))
    return out


def test_two_estates_are_two_topics_and_the_noise_is_left_out() -> None:
    found = topics.find_topics(_messages())
    assert [t.place for t in found] == ["锦绣家园", "阳光花园"] or [t.place for t in found] == [
        "阳光花园",
        "锦绣家园",
    ]
    by_place = {t.place: t for t in found}
    sewage, noise = by_place["阳光花园"], by_place["锦绣家园"]
    assert set(sewage.members) == {f"s{k}" for k in range(len(SEWAGE))}
    assert set(noise.members) == {f"n{k}" for k in range(len(NOISE))}
    assert sewage.theme == "污水黑臭"
    assert noise.theme == "噪音扰民"
    assert sewage.label.startswith("阳光花园：污水黑臭")
    assert "臭味" in sewage.words  # words already in the theme's name are not repeated
    assert noise.label.startswith("锦绣家园：噪音扰民")
    assert {"施工", "工地"} & set(noise.words)
    assert sewage.size == 6
    assert sewage.senders == 6
    assert sewage.likes == sum(range(6))
    assert sewage.first == T0
    assert sewage.last == T0 + timedelta(days=5)
    assert noise.first == T0 + timedelta(days=20)


def test_heat_follows_the_documented_formula() -> None:
    found = {t.place: t for t in topics.find_topics(_messages())}
    sewage, noise = found["阳光花园"], found["锦绣家园"]
    newest = T0 + timedelta(days=24)
    # sewage: 6 senders, 15 likes, quiet for 19 days, 5 days of span
    expected = (6 + 0 + __import__("math").log1p(15)) * 0.5 ** (19 / 30) * (1 + 5 / 90)
    assert sewage.heat == pytest.approx(expected, abs=1e-3)
    assert sewage.last is not None
    assert (newest - sewage.last).days == 19
    # noise: 5 senders, no likes, newest, 4 days of span
    assert noise.heat == pytest.approx(5 * 1 * (1 + 4 / 90), abs=1e-3)
    assert topics.heat(4, 2, 0, 0, 0) == pytest.approx(2 + 0.5 * 2)
    assert topics.heat(1, 1, 0, 30, 0) == pytest.approx(0.5)
    assert topics.heat(1, 1, 0, 0, 365) == pytest.approx(2.0)


def test_a_repost_by_the_same_sender_counts_half() -> None:
    repeated = [topics.Message(f"r{k}", SEWAGE[k % 2], T0, sender="same") for k in range(4)]
    (only,) = topics.find_topics(repeated)
    assert only.senders == 1
    assert only.heat == pytest.approx(1 + 0.5 * 3)
    anonymous = [topics.Message(f"a{k}", SEWAGE[k % 2], T0) for k in range(4)]
    (same_texts,) = topics.find_topics(anonymous)
    assert same_texts.senders == 2  # without senders, each distinct text is one voice


def test_places_learnt_from_the_messages() -> None:
    texts = [topics.clean(m.text) for m in _messages()]
    model = topics.learn_places(texts)
    assert topics.places_in(texts[1], model) == {"阳光花园": 1}
    # a division in front of a name is cut off; a name in the title counts three times
    found = topics.places_in("仓山区阳光花园污水外溢。阳光花园的污水没人管。", model)
    assert found == {"阳光花园": topics.TITLE_WEIGHT + 1}
    # common nouns that end like a place are not places
    assert not topics.places_in("这条马路坑坑洼洼，内河也很臭。", model)
    assert topics.districts_in("福州市仓山区阳光花园") == {"仓山区": 1}


def test_place_inside_a_longer_place_gives_way() -> None:
    texts = ["光明港二支河发臭。", "光明港二支河有垃圾。", "光明港二支河污水直排。"]
    model = topics.learn_places(texts)
    assert topics.places_in(texts[0], model) == {"光明港二支河": 1}


def test_theme_of_weighs_the_title() -> None:
    # one mention in the title outweighs two in the body; without a title, two win
    assert topics.theme_of("有垃圾。工地噪音，噪音很大。") == "垃圾卫生"
    assert topics.theme_of("工地噪音，噪音很大，有垃圾。") == "噪音扰民"
    assert topics.theme_of("社保卡怎么补办") is None


def test_min_size_and_empty_input() -> None:
    assert topics.find_topics([]) == []
    assert topics.find_topics(_messages(), min_size=7) == []
    small = topics.find_topics(_messages()[:3], min_size=3)
    assert [t.size for t in small] == [3]


def test_messages_without_times_still_cluster() -> None:
    plain = [topics.Message(m.id, m.text) for m in _messages()]
    found = topics.find_topics(plain)
    assert {t.place for t in found} == {"阳光花园", "锦绣家园"}
    assert all(t.first is None and t.last is None for t in found)


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_cli_topics_json_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    _write(
        path,
        [
            {
                "id": m.id,
                "content": m.text,
                "posted": (m.created_at or T0).strftime("%Y-%m-%d %H:%M"),
                "likes": m.likes,
            }
            for m in _messages()
        ],
    )
    args = ["topics", "--in", str(path), "--text-column", "content", "--time-column", "posted"]
    r = CliRunner().invoke(feedback_app, [*args, "--likes-column", "likes", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {t["place"] for t in out["topics"]} == {"阳光花园", "锦绣家园"}
    assert out["messages"] == len(_messages())
    assert "heat" in out["method"]
    sewage = next(t for t in out["topics"] if t["place"] == "阳光花园")
    assert sewage["likes"] == 15
    assert sorted(sewage["members"]) == [f"s{k}" for k in range(6)]

    since = CliRunner().invoke(feedback_app, [*args, "--since", "2026-03-15", "--format", "json"])
    assert since.exit_code == 0, since.output
    assert [t["place"] for t in json.loads(since.stdout)["topics"]] == ["锦绣家园"]

    as_csv = CliRunner().invoke(feedback_app, [*args, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(as_csv.stdout.splitlines()))
    assert {r["place"] for r in rows} == {"阳光花园", "锦绣家园"}
    assert {"rank", "label", "size", "heat", "first", "last", "members"} <= set(rows[0])


def test_cli_topics_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    _write(path, [{"id": "1", "text": "阳光花园污水", "created_at": "not a date"}])
    missing = CliRunner().invoke(
        feedback_app, ["topics", "--in", str(path), "--text-column", "body"]
    )
    assert missing.exit_code == 2
    assert "body" in missing.stderr
    bad_time = CliRunner().invoke(feedback_app, ["topics", "--in", str(path)])
    assert bad_time.exit_code == 2
    assert "not a date" in bad_time.stderr
    bad_since = CliRunner().invoke(
        feedback_app, ["topics", "--in", str(path), "--since", "yesterday"]
    )
    assert bad_since.exit_code == 2
    bad_format = CliRunner().invoke(feedback_app, ["topics", "--in", str(path), "--format", "xml"])
    assert bad_format.exit_code == 2
