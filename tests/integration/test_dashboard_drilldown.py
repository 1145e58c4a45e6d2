"""The director's dashboards on the demo city: every number links to the cases it counts.

The demo is generated through the real engine (a few weeks); the test then reads every link on
``/dashboard`` and ``/dashboard/decisions`` that carries a number, walks the list it opens page
by page and checks the list holds exactly that many cases. It also checks that the demo's
applications get a district (from an address or the ID's GB/T 2260 area code), that weeks
without applications are drawn as zeros, and that bad drill-down links get clear 4xx pages in
both languages.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from onewindow.datahub import service as datahub
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from tests.conftest import SHANGHAI
from tests.integration.test_web_pages import sign_in

DEMO_START = date(2026, 3, 2)
DEMO = DemoOptions(weeks=2, seed=11, cases_per_day=10, start=DEMO_START)
# Two empty weeks before the demo and one after it: they must read 0, not be left out.
PERIOD = {"from": "2026-02-16", "to": "2026-03-29"}
LINK = re.compile(r'<a [^>]*href="(/dashboard/cases\?[^"]*)"[^>]*data-count="(\d+)"')
ROW = 'class="dd-row"'


@pytest.fixture
def demo(city: Platform, clock: ManualClock) -> Platform:
    seed_demo(city, DEMO, console=Console(quiet=True))
    # the platform's "now": the end of the history, with work left open and some overdue
    clock.set(datetime(2026, 3, 16, 18, tzinfo=SHANGHAI))
    return city


def _links(page: str) -> dict[str, int]:
    """href -> the number shown with it (one href may appear twice, always with one number)."""
    found: dict[str, int] = {}
    for href, n in LINK.findall(page):
        url = html.unescape(href)
        assert found.setdefault(url, int(n)) == int(n), url
    return found


def _listed(client: Any, url: str) -> tuple[int, list[str]]:
    """(the total the list states, the case numbers on all its pages)."""
    numbers: list[str] = []
    total: int | None = None
    page = 1
    while True:
        r = client.get(f"{url}&size=100&page={page}")
        assert r.status_code == 200, (url, r.text[:500])
        stated = int(re.search(r'data-total="(\d+)"', r.text).group(1))  # type: ignore[union-attr]
        total = stated if total is None else total
        assert stated == total
        rows = r.text.split(ROW)[1:]
        numbers += [re.search(r'href="/workbench/cases/([^"]+)"', row).group(1) for row in rows]  # type: ignore[union-attr]
        if len(numbers) >= total or not rows:
            return total, numbers
        page += 1


def _check_every_number(client: Any, page_html: str) -> int:
    links = _links(page_html)
    assert links
    for url, shown in links.items():
        total, numbers = _listed(client, url)
        assert (total, len(numbers), len(set(numbers))) == (shown, shown, shown), url
    return len(links)


def test_the_director_can_follow_every_number_to_its_cases(demo: Platform, client: Any) -> None:
    """One demo city for every check (generating it is the slow part)."""
    sign_in(client, "center_zhao")  # the director: head of the service centre
    _dashboard(client)
    _decisions(client)
    _districts(demo, client)
    _zero_weeks(client)
    _who_may(demo)


def _dashboard(director: Any) -> None:
    dash = director.get("/dashboard")
    assert dash.status_code == 200
    assert "按办件计" in dash.text
    checked = _check_every_number(director, dash.text)
    links = _links(dash.text)
    # the headline numbers are all there and the demo left some of each
    for metric in ("cases", "overdue", "overdue_task", "nearing_task", "returned"):
        assert f"/dashboard/cases?metric={metric}" in links
    assert links["/dashboard/cases?metric=cases"] > 30
    assert links["/dashboard/cases?metric=overdue_task"] > 0
    assert links["/dashboard/cases?metric=returned"] > 0
    assert checked > 40
    # a case from a list opens
    _, numbers = _listed(director, "/dashboard/cases?metric=overdue_task")
    case = director.get(f"/workbench/cases/{numbers[0]}")
    assert case.status_code == 200
    assert numbers[0] in case.text


def _decisions(director: Any) -> None:
    page = director.get("/dashboard/decisions", params=PERIOD)
    assert page.status_code == 200
    checked = _check_every_number(director, page.text)
    assert checked > 50
    links = _links(page.text)
    period = "/dashboard/cases?from=2026-02-16&to=2026-03-29&metric=period"
    assert links[period] > 30
    assert links[f"{period}_overdue"] > 0


def _districts(demo: Platform, director: Any) -> None:
    with demo.unit_of_work() as ctx:
        agg = datahub.aggregates(
            ctx, start=date.fromisoformat(PERIOD["from"]), end=date.fromisoformat(PERIOD["to"])
        )
    assert agg.applications > 30
    # the demo loads no golden records: the districts come from the forms and the IDs
    assert agg.linked == 0
    assigned = agg.applications - agg.district_sources["unknown"]
    assert assigned >= 0.95 * agg.applications
    assert agg.district_sources["address"] > 0
    assert agg.district_sources["id"] > 0
    assert all(d.key.startswith("3501") for d in agg.by_district if d.key != "unknown")
    page = director.get("/dashboard/decisions", params=PERIOD).text
    assert "福州市鼓楼区" in page
    assert re.search(r"已确定区县：\d+ / \d+ 件", page)


def _zero_weeks(director: Any) -> None:
    page = director.get("/dashboard/decisions", params=PERIOD).text
    weeks = re.findall(
        r'<tr><td class="mono">(\d{4}-\d\d-\d\d)</td><td class="num">(.*?)</td>', page
    )
    assert [w for w, _ in weeks[:6]] == [
        (date(2026, 2, 16) + timedelta(weeks=i)).isoformat() for i in range(6)
    ]
    counts = {w: int(re.search(r">(\d+)<", cell).group(1)) for w, cell in weeks[:6]}  # type: ignore[union-attr]
    empty = ["2026-02-16", "2026-02-23", "2026-03-16", "2026-03-23"]
    assert [counts[w] for w in empty] == [0, 0, 0, 0]
    assert counts["2026-03-02"] > 0
    assert counts["2026-03-09"] > 0
    chart = page.split('<svg id="chart-weeks"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('class="week-bar"') == 6
    assert chart.count('class="zero-mark"') == 4  # one mark and one 0 per empty week
    assert chart.count('<text class="zero"') == 4
    assert "style=" not in page.split("<main", 1)[1]


def _who_may(demo: Platform) -> None:
    from fastapi.testclient import TestClient

    from onewindow.api.app import create_app

    with TestClient(create_app(demo)) as anonymous:
        r = anonymous.get("/dashboard/cases?metric=cases", follow_redirects=False)
        assert r.status_code in (303, 307, 401)
    with TestClient(create_app(demo)) as data_admin:
        sign_in(data_admin, "center_wu")  # a data administrator does not search cases
        assert data_admin.get("/dashboard/cases?metric=cases").status_code == 403
    with TestClient(create_app(demo)) as analyst:
        sign_in(analyst, "center_li")  # the analyst sees the list and opens its cases
        r = analyst.get("/dashboard/cases?metric=cases")
        assert r.status_code == 200
        assert r.text.count(ROW) > 0
        link = re.search(r'href="(/workbench/cases/[^"]+)"', r.text)
        assert link is not None
        assert analyst.get(link.group(1)).status_code == 200


@pytest.mark.parametrize(
    ("query", "status", "zh", "en"),
    [
        ("metric=nope", 400, "未知的指标 'nope'", "Unknown metric 'nope'"),
        ("", 400, "未知的指标 （未给出）", "Unknown metric (none)"),
        ("metric=status&status=lost", 400, "不是办件状态", "is not a case status"),
        ("metric=period&from=2026-13-01", 400, "不是日期", "is not a date"),
        ("metric=period&from=2026-03-29&to=2026-03-01", 422, "起始日期晚于", "from is after"),
        ("metric=period&week=2026-03-04", 422, "不是统计期间内的周一", "is not a Monday"),
        ("metric=cases&from=2026-03-01", 400, "只用于决策分析页", "apply only to the decisions"),
        ("metric=cases&page=999", 400, "第 999 页超出范围", "page 999 is out of range"),
        ("metric=cases&page=0", 400, "页码从 1 开始", "pages start at 1"),
        ("metric=cases&page=x", 400, "不是正整数", "not a positive whole number"),
        ("metric=cases&size=7", 400, "每页 7 条不可选", "7 rows a page is not offered"),
        ("metric=cases&service=NOPE-9", 400, "没有代码为 'NOPE-9' 的事项", "no service with"),
        ("metric=period&district=abc", 400, "不是六位 GB/T 2260", "six-digit GB/T 2260"),
        ("metric=period&source=dna", 400, "不在 record", "is not one of record"),
    ],
)
def test_bad_drilldown_links_are_refused_in_both_languages(
    client: Any, query: str, status: int, zh: str, en: str
) -> None:
    director = client  # the demo catalogue without cases: the checks come before any count
    sign_in(director, "center_zhao")
    r = director.get(f"/dashboard/cases?{query}")
    assert r.status_code == status, r.text[:300]
    assert html.escape(zh, quote=True) in r.text or zh in html.unescape(r.text)
    director.get("/lang/en")
    r = director.get(f"/dashboard/cases?{query}")
    assert r.status_code == status
    assert en in html.unescape(r.text)
    director.get("/lang/zh")
