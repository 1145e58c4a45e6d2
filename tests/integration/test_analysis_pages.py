"""The process-analysis page on a real demo log (SQLite, and PostgreSQL when set): filters in
the URL, sliders, measures, click-through to cases and to the case page, exports, uploads
of good and bad logs, and who may open it."""

from __future__ import annotations

import gzip
import re
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from rich.console import Console

from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.kit.platform import Platform
from onewindow.mining import dotmap
from tests.conftest import TEST_DATA
from tests.integration.test_web_pages import sign_in

OPTS = DemoOptions(weeks=1, seed=11, cases_per_day=5, start=date(2026, 3, 2))
LOGS = TEST_DATA / "eventlogs"
needs_dot = pytest.mark.skipif(
    dotmap.dot_path() is None, reason="Graphviz dot is not installed (make graphviz)"
)


@pytest.fixture
def demo(client: Any, city: Platform) -> Any:
    seed_demo(city, OPTS, console=Console(quiet=True))
    return client


def _csrf(client: Any) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/analysis").text)
    assert m
    return m.group(1)


def _links(html: str, prefix: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(' + re.escape(prefix) + r'[^"]*)"', html)]


def test_who_may_open_it(demo: Any) -> None:
    sign_in(demo, "center_qian")  # clerk
    assert demo.get("/analysis").status_code == 403
    assert 'href="/analysis"' not in demo.get("/desk").text
    for user in ("center_li", "samr_chen", "center_zhou"):  # analyst, head, admin
        demo.cookies.clear()
        sign_in(demo, user)
        r = demo.get("/analysis")
        assert r.status_code == 200, (user, r.text[:300])
        assert 'href="/analysis"' in r.text


@needs_dot
def test_map_filters_sliders_measures_and_cases(demo: Any) -> None:
    sign_in(demo, "center_li")
    full = demo.get("/analysis").text
    assert 'class="an-map"' in full
    assert "style=" not in full.split('class="an-map"')[1][:20000]
    total = int(re.search(r"([\d,]+) 个案件", full).group(1).replace(",", ""))  # type: ignore[union-attr]
    one = demo.get("/analysis", params={"service": "SAMR-001", "from": "2026-03-03"}).text
    narrowed = int(re.search(r"([\d,]+) 个案件", one).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert 0 < narrowed < total
    # the form shows what the URL asked for
    assert 'value="SAMR-001" selected' in one
    assert 'value="2026-03-03"' in one
    few = demo.get("/analysis", params={"service": "SAMR-001", "acts": "40"}).text
    shown = re.search(r"显示活动 (\d+)/(\d+)，路径 (\d+)/(\d+)", few)
    assert shown
    assert int(shown.group(1)) < int(shown.group(2))
    few = demo.get("/analysis", params={"service": "SAMR-001", "paths": "0"}).text
    shown = re.search(r"显示活动 (\d+)/(\d+)，路径 (\d+)/(\d+)", few)
    assert shown
    assert int(shown.group(3)) < int(shown.group(4))
    every = demo.get("/analysis", params={"service": "SAMR-001", "paths": "100"}).text
    shown = re.search(r"显示活动 (\d+)/(\d+)，路径 (\d+)/(\d+)", every)
    assert shown
    assert shown.group(1) == shown.group(2)
    assert shown.group(3) == shown.group(4)
    perf = demo.get(
        "/analysis", params={"service": "SAMR-001", "measure": "p90", "lang": "en"}
    ).text
    slowest = re.search(r'id="an-slowest" href="([^"]+)"', perf)
    assert slowest, "performance view names the slowest edge"
    listing = demo.get(unescape(slowest.group(1)))
    assert listing.status_code == 200
    cases = _links(listing.text, "/workbench/cases/")
    assert cases, listing.text[:500]
    assert "SAMR-001" in listing.text
    # the filters travel with the click: the list is of the filtered log
    assert parse_qs(urlparse(unescape(slowest.group(1))).query)["service"] == ["SAMR-001"]
    case = demo.get(cases[0])
    assert case.status_code == 200, case.text[:300]
    # an activity's cases
    node = _links(every, "/analysis/cases?")[0]
    assert demo.get(node).status_code == 200


@needs_dot
def test_variants_happy_path_bottlenecks_and_exports(demo: Any) -> None:
    sign_in(demo, "center_li")
    html = demo.get("/analysis", params={"service": "SAMR-001"}).text
    assert "理想路径" in html
    assert "等待中位数" in html  # a bottleneck sentence in Chinese
    demo.get("/lang/en")
    en = demo.get("/analysis", params={"service": "SAMR-001"}).text
    assert "Happy path" in en
    assert "(median)" in en
    variant = _links(en, "/analysis?")
    chosen = next(v for v in variant if "variant=" in v)
    one = demo.get(chosen).text
    assert re.search(r"([\d,]+) cases", one)
    svg = demo.get("/analysis/map.svg", params={"service": "SAMR-001"})
    assert svg.status_code == 200
    assert svg.text.startswith("<?xml")
    assert "<svg" in svg.text
    csv = demo.get("/analysis/log.csv", params={"service": "SAMR-001"})
    assert csv.status_code == 200
    assert "case:concept:name" in csv.text.splitlines()[0]
    assert all("SAMR-001" in line for line in csv.text.splitlines()[1:] if line)
    xes = demo.get("/analysis/log.xes", params={"service": "SAMR-001"})
    assert xes.status_code == 200
    assert "<trace>" in xes.text


def test_a_filter_matching_nothing_and_bad_dates_say_so(demo: Any) -> None:
    sign_in(demo, "center_li")
    r = demo.get("/analysis", params={"from": "2030-01-01"})
    assert r.status_code == 200
    assert "没有符合这些筛选条件的案件" in r.text
    r = demo.get("/analysis", params={"from": "yesterday"})
    assert "应为 YYYY-MM-DD" in r.text
    r = demo.get("/analysis/cases", params={"activity": "no such activity"})
    assert r.status_code == 200
    assert "没有案件经过这里" in r.text
    assert demo.get("/analysis/cases").status_code == 422
    assert demo.get("/analysis", params={"log": "nosuchtoken123"}).status_code == 404


def _upload(client: Any, name: str, body: bytes, **mapping: str) -> Any:
    data = {"csrf_token": _csrf(client), **{f"map_{k}": v for k, v in mapping.items()}}
    return client.post(
        "/analysis/upload", data=data, files={"file": (name, body)}, follow_redirects=False
    )


@needs_dot
def test_upload_good_logs_and_see_their_maps(demo: Any, tmp_path: Path) -> None:
    sign_in(demo, "center_li")
    r = _upload(demo, "wabo_receipt.xes.gz", (LOGS / "wabo_receipt.xes.gz").read_bytes())
    assert r.status_code == 303, r.text[:500]
    page = demo.get(r.headers["location"]).text
    assert "wabo_receipt.xes.gz" in page
    assert 'class="an-map"' in page
    token = parse_qs(urlparse(r.headers["location"]).query)["log"][0]
    # 1,434 cases pass the first activity: paged, 50 a page, the next page links on
    first = demo.get(
        "/analysis/cases", params={"log": token, "activity": "Confirmation of receipt"}
    ).text
    assert "第 1/29 页" in first
    second = demo.get(_links(first, "/analysis/cases?")[-1])
    assert "第 2/29 页" in second.text
    listing = demo.get(_links(page, "/analysis/cases?")[0])
    assert listing.status_code == 200
    assert "/workbench/cases/" not in listing.text
    # another user cannot open it
    demo.cookies.clear()
    sign_in(demo, "samr_chen")
    assert demo.get("/analysis", params={"log": token}).status_code == 404
    demo.cookies.clear()
    sign_in(demo, "center_li")
    # GBK, semicolon-separated, Disco timestamps, own column names: read with a mapping
    text = "案件;活动;时间\n" + "".join(
        f"c{i};{a};2024/03/0{d} 10:1{i}:00.000\n"
        for i in range(3)
        for d, a in ((1, "受理"), (2, "审核"), (3, "办结"))
    )
    r = _upload(demo, "gbk.csv", text.encode("gbk"), case="案件", activity="活动", timestamp="时间")
    assert r.status_code == 303, r.text[:800]
    page = demo.get(r.headers["location"]).text
    assert "gbk" in page.lower()
    assert "审核" in page
    parquet = tmp_path / "w.parquet"
    import polars as pl

    from onewindow.mining.importers import read_log

    frame, _ = read_log(LOGS / "wabo_receipt.csv")
    frame.write_parquet(parquet)
    r = _upload(demo, "w.parquet", parquet.read_bytes())
    assert r.status_code == 303
    assert pl.read_parquet(parquet).height == frame.height


def test_upload_bad_inputs_are_refused_clearly(demo: Any) -> None:
    sign_in(demo, "center_li")
    r = _upload(demo, "log.txt", b"hello")
    assert r.status_code == 400
    assert "无法识别 log.txt 的格式" in r.text
    r = _upload(demo, "empty.csv", b"")
    assert r.status_code == 400
    assert "是空的" in r.text
    r = _upload(demo, "cols.csv", b"a,b\n1,2\n")
    assert r.status_code == 400
    assert "缺少列" in r.text
    r = _upload(demo, "bad.xes", b"<log><trace>")
    assert r.status_code == 400
    r = _upload(demo, "bad.xes.gz", gzip.compress(b"not xml at all"))
    assert r.status_code == 400
    stamps = "case:concept:name,concept:name,time:timestamp\n" + "".join(
        f"c{i},a,not a time\n" for i in range(10)
    )
    r = _upload(demo, "stamps.csv", stamps.encode())
    assert r.status_code == 400
    assert "not a time" in r.text
    # nothing refused was kept
    r = demo.get("/analysis")
    assert "上传的日志" not in r.text


def test_each_user_keeps_only_the_newest_uploads(demo: Any, city: Platform) -> None:
    from onewindow.web.analysis_pages import KEPT_UPLOADS

    sign_in(demo, "center_li")
    body = b"case:concept:name,concept:name,time:timestamp\nc1,a,2024-03-01T10:00:00Z\n"
    tokens = []
    for n in range(KEPT_UPLOADS + 2):
        r = _upload(demo, f"log{n}.csv", body)
        assert r.status_code == 303
        tokens.append(parse_qs(urlparse(r.headers["location"]).query)["log"][0])
    assert demo.get("/analysis", params={"log": tokens[0]}).status_code == 404
    assert demo.get("/analysis", params={"log": tokens[-1]}).status_code == 200
    folder = next((city.settings.data_dir / "analysis-uploads").iterdir())
    assert len(list(folder.glob("*.json"))) == KEPT_UPLOADS
    assert len(list(folder.glob("*.csv"))) == KEPT_UPLOADS


def test_without_graphviz_the_page_says_so(
    demo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No dot on the PATH: the page explains, still lists variants and bottlenecks."""
    monkeypatch.setenv("PATH", str(tmp_path))
    dotmap._run_dot.cache_clear()
    sign_in(demo, "center_li")
    r = demo.get("/analysis", params={"service": "SAMR-001", "acts": "95"})
    assert r.status_code == 200
    assert 'id="an-dot-missing"' in r.text
    assert "graphviz" in r.text
    assert "理想路径" in r.text
    assert demo.get("/analysis/map.svg").status_code == 503


def test_before_and_after_a_day_with_confidence_intervals(demo: Any) -> None:
    sign_in(demo, "center_li")
    r = demo.get("/analysis", params={"split": "2026-03-05"})
    assert r.status_code == 200
    section = r.text.split('id="an-compare"')[1].split("</section>")[0]
    assert "办理时长（小时）" in section
    assert "每件补正次数" in section
    assert re.search(r"\d+ 个案件与之后开始的 \d+ 个案件", section)
    assert re.search(r"\[[-+]\d+\.\d\d, [-+]\d+\.\d\d\]", section)  # the change's CI
    # the split rides along in every link
    assert "split=2026-03-05" in r.text.split('id="an-stage"')[1]
    r = demo.get("/analysis", params={"split": "2031-01-01"})
    assert "一侧没有案件" in r.text


def test_conformance_against_the_deployed_bpmn(demo: Any) -> None:
    sign_in(demo, "center_li")
    r = demo.get("/analysis/conformance")
    assert r.status_code == 422
    assert "请选择平台日志中的一个事项" in r.text
    r = demo.get("/analysis/conformance", params={"service": "SAMR-001"})
    assert r.status_code == 200, r.text[:400]
    summary = re.search(r"(\d+) 个案件，(\d+)% 完全符合；令牌重放拟合度 ([\d.]+)", r.text)
    assert summary
    assert 0.5 < float(summary.group(3)) <= 1.0
    data = demo.get("/analysis/conformance.json", params={"service": "SAMR-001"}).json()
    assert data["xml"].lstrip().startswith("<")
    for task, cell in data["heat"].items():
        assert f'id="{task}"' in data["xml"]
        assert 1 <= cell["level"] <= 5
        assert cell["cases"] >= 1
    # the unfit cases link to their case pages
    for link in _links(r.text, "/workbench/cases/")[:3]:
        assert demo.get(link).status_code == 200


def test_tabs_carry_the_filters(demo: Any) -> None:
    sign_in(demo, "center_li")
    html = demo.get("/analysis", params={"service": "SAMR-001"}).text
    tabs = html.split('class="tabs"')[1].split("</nav>")[0]
    assert 'href="/analysis/conformance?service=SAMR-001"' in tabs
    assert 'href="/analysis/redesign"' in tabs
    conf = demo.get("/analysis/conformance", params={"service": "SAMR-001"}).text
    active = re.search(r'<a href="([^"]+)" class="active"', conf.split('class="tabs"')[1])
    assert active
    assert active.group(1).startswith("/analysis/conformance")


def test_attribute_filter_matches_the_channel_filter(demo: Any) -> None:
    sign_in(demo, "center_li")
    html = demo.get("/analysis").text
    select = html.split('name="channel"')[1].split("</select>")[0]
    channel = re.findall(r'<option value="([^"]+)"', select)[0]

    def summary(**params: str) -> str:
        text = demo.get("/analysis", params=params).text
        found = re.search(r'id="an-summary">([^<]+)<', text)
        assert found, text[:300]
        return found.group(1)

    assert summary(attr=f"case:channel={channel}") == summary(channel=channel)
    r = demo.get("/analysis", params={"attr": "nonsense"})
    assert "属性筛选" in r.text
    r = demo.get("/analysis", params={"attr": "no_such_column=1"})
    assert "日志中没有列 no_such_column" in r.text
