"""The process-analysis page on a real demo log (SQLite, and PostgreSQL when set): filters in
the URL, sliders, measures, click-through to cases and to the case page, exports, uploads
of good and bad logs, and who may open it."""

from __future__ import annotations

import gzip
import json
import re
import struct
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


def _png_size(body: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (it must come first, after the magic)."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n", body[:40]
    length, kind = struct.unpack(">I4s", body[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def _svg_size(text: str) -> tuple[float, float]:
    found = re.search(r'<svg [^>]*width="([\d.]+)" height="([\d.]+)"', text)
    assert found, text[:300]
    return float(found.group(1)), float(found.group(2))


@needs_dot
def test_map_as_png_has_the_layout_and_the_filters_of_the_svg(demo: Any) -> None:
    """The PNG is dot's drawing of the same graph as the SVG: its size is the SVG's at
    twice the scale, for each set of filters; a filter matching nothing is a page."""
    sign_in(demo, "center_li")
    html = demo.get("/analysis", params={"service": "SAMR-001"}).text
    assert 'href="/analysis/map.png?service=SAMR-001"' in html
    assert "导出流程图 PNG" in html
    demo.get("/lang/en")
    assert "Map as PNG" in demo.get("/analysis").text
    demo.get("/lang/zh")
    sizes = []
    for params in (
        {"service": "SAMR-001"},
        {"acts": "40"},
        {"service": "SAMR-001", "measure": "p90", "paths": "0"},
    ):
        r = demo.get("/analysis/map.png", params=params)
        assert r.status_code == 200, r.text[:300]
        assert r.headers["content-type"] == "image/png"
        assert 'filename="process-map.png"' in r.headers["content-disposition"]
        width, height = _png_size(r.content)
        assert width > 0
        assert height > 0
        svg_w, svg_h = _svg_size(demo.get("/analysis/map.svg", params=params).text)
        scale = dotmap.PNG_DPI / dotmap.POINTS_PER_INCH
        assert abs(width - svg_w * scale) <= 2, (params, width, svg_w)
        assert abs(height - svg_h * scale) <= 2, (params, height, svg_h)
        sizes.append((width, height))
    assert len(set(sizes)) == len(sizes), "each filter gives its own map"
    r = demo.get("/analysis/map.png", params={"from": "2030-01-01"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "没有符合筛选条件的案件" in r.text
    assert not r.content.startswith(b"\x89PNG")


@needs_dot
def test_png_is_drawn_on_the_same_positions_as_the_page() -> None:
    """Colours and node texts move nothing: dot places every node and edge of the PNG's
    graph where it placed them for the page (road-fines sample, both views)."""
    from onewindow.mining.importers import read_log
    from onewindow.mining.maps import process_map
    from onewindow.mining.prepared import prepare

    frame, _ = read_log(LOGS / "road_traffic_fines_100_traces.xes")
    pm = process_map(prepare(frame))
    for measure in ("cases", "p90"):
        laid = dotmap.lay_out(pm, measure=measure)
        assert laid.selection is not None
        labels = {(pe.edge.source, pe.edge.target): pe.label for pe in laid.edges}
        plain = dotmap._run_dot(dotmap._dot_source(laid.selection, labels)[0])
        painted = dotmap._run_dot(dotmap.png_source(laid))
        assert painted["bb"] == plain["bb"]

        def where(graph: dict[str, Any]) -> list[Any]:
            nodes = [(o["name"], o["pos"]) for o in graph["objects"] if "pos" in o]
            return nodes + [(e["_gvid"], e["pos"], e.get("lp")) for e in graph["edges"]]

        assert where(painted) == where(plain)
        assert "Send Fine" in dotmap.png_source(laid)
        width, height = _png_size(dotmap.render_png(laid))
        assert (width, height) == (round(laid.width * 2), round(laid.height * 2))


def _upload(client: Any, name: str, body: bytes, **mapping: str) -> Any:
    data = {"csrf_token": _csrf(client), **{f"map_{k}": v for k, v in mapping.items()}}
    if "object_type" in mapping:
        data["object_type"] = data.pop("map_object_type")
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
    png = demo.get("/analysis/map.png")
    assert png.status_code == 503
    assert "graphviz" in png.text


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


def _ocel(events: list[tuple[str, str, str, list[str]]]) -> bytes:
    """A small OCEL 2.0 JSON log: two 申请 (applications), one 材料 (document) each."""
    objects = [
        {"id": "A1", "type": "申请"},
        {"id": "A2", "type": "申请"},
        {"id": "D1", "type": "材料"},
        {"id": "D2", "type": "材料"},
    ]
    return json.dumps(
        {
            "objectTypes": [{"name": "申请", "attributes": []}, {"name": "材料", "attributes": []}],
            "eventTypes": [{"name": a, "attributes": []} for a in ("受理", "补正", "审核", "办结")],
            "objects": objects,
            "events": [
                {
                    "id": eid,
                    "type": activity,
                    "time": when,
                    "attributes": [],
                    "relationships": [{"objectId": o, "qualifier": ""} for o in related],
                }
                for eid, activity, when, related in [
                    (f"e{i}", a, t, r) for i, (a, t, r) in enumerate(events)
                ]
            ],
        },
        ensure_ascii=False,
    ).encode("utf-8")


OCEL_EVENTS: list[tuple[str, str, str, list[str]]] = [
    ("受理", "2026-03-02T09:00:00+08:00", ["A1", "D1"]),
    ("补正", "2026-03-03T10:00:00+08:00", ["A1", "D1"]),
    ("审核", "2026-03-04T11:00:00+08:00", ["A1"]),
    ("办结", "2026-03-05T15:00:00+08:00", ["A1"]),
    ("受理", "2026-03-02T14:00:00+08:00", ["A2", "D2"]),
    ("审核", "2026-03-03T09:30:00+08:00", ["A2"]),
    ("办结", "2026-03-03T16:00:00+08:00", ["A2"]),
]


@needs_dot
def test_upload_ocel_logs_with_an_object_type(demo: Any) -> None:
    sign_in(demo, "center_li")
    form = demo.get("/analysis").text
    assert 'name="object_type"' in form
    assert ".jsonocel" in form.split('id="an-file"')[1][:200]
    r = _upload(demo, "申请.json", _ocel(OCEL_EVENTS), object_type="申请")
    assert r.status_code == 303, r.text[:800]
    page = demo.get(r.headers["location"]).text
    assert "申请.json" in page
    assert 'class="an-map"' in page
    assert "读取 7 个事件，以对象类型“申请”为案件，得到 7 行" in page
    found = re.search(r'id="an-summary">([^<]+)<', page)
    assert found
    assert found.group(1).startswith("2 个案件，7 个事件")
    assert 'data-activity="补正"' in page
    # the same log flattened on its documents: 4 events of 2 cases
    r = _upload(demo, "申请.json", _ocel(OCEL_EVENTS), object_type="材料")
    assert r.status_code == 303
    page = demo.get(r.headers["location"]).text
    found = re.search(r'id="an-summary">([^<]+)<', page)
    assert found
    assert found.group(1).startswith("2 个案件，3 个事件")
    # the OCEL 2.0 standard's own examples, JSON and XML, give the same map
    summaries = []
    for name in ("ocel20_example.jsonocel", "ocel20_example.xmlocel"):
        r = _upload(demo, name, (LOGS / name).read_bytes(), object_type="Purchase Order")
        assert r.status_code == 303, r.text[:800]
        page = demo.get(r.headers["location"]).text
        assert name in page
        found = re.search(r'id="an-summary">([^<]+)<', page)
        assert found
        summaries.append(found.group(1))
        # its cases are objects of the file, not platform cases
        listing = demo.get(_links(page, "/analysis/cases?")[0])
        assert listing.status_code == 200
        assert "/workbench/cases/" not in listing.text
    assert summaries[0] == summaries[1]
    token = parse_qs(urlparse(r.headers["location"]).query)["log"][0]
    png = demo.get("/analysis/map.png", params={"log": token})
    assert _png_size(png.content) > (0, 0)


def test_upload_bad_ocel_inputs_are_refused_clearly(demo: Any, city: Platform) -> None:
    sign_in(demo, "center_li")
    body = _ocel(OCEL_EVENTS)
    r = _upload(demo, "log.json", body)
    assert r.status_code == 400
    assert "log.json 是 OCEL 2.0 日志：请填写作为案件的对象类型，文件中有：材料、申请。" in r.text
    r = _upload(demo, "log.json", body, object_type="Invoice")
    assert r.status_code == 400
    assert "log.json 中没有类型为“Invoice”的对象；文件中有：材料、申请。" in r.text
    kept = re.search(r'<input[^>]*id="an-object-type"[^>]*>', r.text)
    assert kept is not None
    assert 'value="Invoice"' in kept.group(0)  # what was typed stays
    demo.get("/lang/en")
    r = _upload(demo, "log.jsonocel", body)
    assert r.status_code == 400
    assert "log.jsonocel is an OCEL 2.0 log: name the object type" in r.text
    assert "the file has: 材料, 申请." in r.text
    demo.get("/lang/zh")
    r = _upload(demo, "broken.json", body[:-20], object_type="申请")
    assert r.status_code == 400
    assert "无法读取 OCEL 2.0 文件 broken.json" in r.text
    r = _upload(demo, "broken.json", body[:-20])
    assert r.status_code == 400
    assert "无法读取 OCEL 2.0 文件 broken.json" in r.text
    r = _upload(demo, "plain.json", b'{"cases": []}', object_type="申请")
    assert r.status_code == 400
    assert "不是 OCEL 2.0 JSON" in r.text
    r = _upload(demo, "broken.xmlocel", b"<log><objects>", object_type="申请")
    assert r.status_code == 400
    assert "无法读取 OCEL 2.0 文件 broken.xmlocel" in r.text
    # an XES log named .xml has no OCEL objects
    xes = (LOGS / "running-example.xes").read_bytes()
    r = _upload(demo, "running.xml", xes, object_type="申请")
    assert r.status_code == 400
    assert "running.xml 中没有 OCEL 2.0 对象" in r.text
    # the form is shown again with the message, and nothing refused was kept
    assert 'id="an-error"' in r.text
    assert "上传的日志" not in demo.get("/analysis").text
    uploads = city.settings.data_dir / "analysis-uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
