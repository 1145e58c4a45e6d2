"""Data for decisions: applications and overdue cases by week, district and service, checked
against counts worked out by hand; the page draws them as tables and inline SVG charts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from onewindow.catalog import service as catalog
from onewindow.datahub import service as datahub
from onewindow.intake import service as intake
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from tests.conftest import SHANGHAI, START, login
from tests.integration.helpers import PERSON, pdf
from tests.integration.test_datahub_prefill import linked_city
from tests.integration.test_datahub_service import ID1, ID2, ID3
from tests.integration.test_web_pages import sign_in


def _submit(city: Platform, code: str, person: str) -> str:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, code)
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
        form: dict[str, Any] = {}
        for f in service.form_fields:
            kind = f.get("type", "string")
            form[f["name"]] = (
                f["options"][0]
                if kind == "enum"
                else True
                if kind == "boolean"
                else 1
                if kind in ("number", "integer")
                else person
                if f["name"] == "id_number"
                else "x"
            )
    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            code,
            ApplicantIn("person", person, "申请人", None),
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_qian",
        )
    )
    return submitted.application.number


def _fix(city: Platform, number: str, deadline: date, closed: date | None) -> None:
    """Hand-set deadline and closing day, so the expected counts do not hang on the calendar."""
    with city.unit_of_work() as ctx:
        application = intake.get_application_by_number(ctx, number)
        application.deadline = deadline
        application.closed_at = (
            datetime(closed.year, closed.month, closed.day, 16, tzinfo=SHANGHAI) if closed else None
        )


def _at(clock: ManualClock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI))


@pytest.fixture
def cases(city: Platform, clock: ManualClock) -> Platform:
    """Five applications over two weeks (Mondays 2 and 9 March 2026):

    ====  ======  =========  ========  ========  ======  ==========================
    case  person  submitted  service   deadline  closed  on 25 March
    ====  ======  =========  ========  ========  ======  ==========================
    A     ID1     Mon 03-02  HRSS-001  03-16     03-10   on time
    B     ID2     Tue 03-03  HRSS-001  03-17     03-20   closed late (not overdue)
    E     ID3     Thu 03-05  PSB-001   03-19     open    overdue (open past deadline)
    C     ID1     Mon 03-09  HRSS-001  03-23     open    overdue
    D     PERSON  Wed 03-11  HRSS-001  03-25     open    not overdue (due today)
    ====  ======  =========  ========  ========  ======  ==========================

    ID1 lives in 福州市鼓楼区 (350102), ID2 in 台江区 (350103), ID3 in 鼓楼区 (by the
    dataset's city 350100; the golden record wins over the 仓山区 code in the ID); PERSON has
    no golden record and its form names no district: the district is the ID's area code,
    110105 北京市朝阳区.
    """
    linked_city(city)
    plan = [
        (date(2026, 3, 2), "HRSS-001", ID1, date(2026, 3, 16), date(2026, 3, 10)),
        (date(2026, 3, 3), "HRSS-001", ID2, date(2026, 3, 17), date(2026, 3, 20)),
        (date(2026, 3, 5), "PSB-001", ID3, date(2026, 3, 19), None),
        (date(2026, 3, 9), "HRSS-001", ID1, date(2026, 3, 23), None),
        (date(2026, 3, 11), "HRSS-001", PERSON, date(2026, 3, 25), None),
    ]
    for day, code, person, deadline, closed in plan:
        _at(clock, day)
        _fix(city, _submit(city, code, person), deadline, closed)
    _at(clock, date(2026, 3, 25))
    return city


def test_aggregates_by_week_district_and_service(cases: Platform) -> None:
    with cases.unit_of_work() as ctx:
        agg = datahub.aggregates(ctx, start=date(2026, 3, 2), end=date(2026, 3, 15))
    assert (agg.applications, agg.overdue, agg.closed_late, agg.linked) == (5, 2, 1, 4)
    assert agg.weeks == [date(2026, 3, 2), date(2026, 3, 9)]
    assert [(w.key, w.applications, w.overdue, w.closed_late) for w in agg.by_week] == [
        ("2026-03-02", 3, 1, 1),
        ("2026-03-09", 2, 1, 0),
    ]
    by_district = [
        (d.key, d.label, d.applications, d.overdue, d.population, d.per_10k)
        for d in agg.by_district
    ]
    assert by_district == [
        ("350102", "福州市鼓楼区", 3, 2, 2, 15000.0),
        ("110105", "北京市朝阳区", 1, 0, 0, None),
        ("350103", "福州市台江区", 1, 0, 1, 10000.0),
    ]
    assert agg.district_sources == {"record": 4, "address": 0, "id": 1, "unknown": 0}
    assert [(s.key, s.applications, s.overdue) for s in agg.by_service] == [
        ("HRSS-001", 4, 1),
        ("PSB-001", 1, 1),
    ]
    assert agg.by_service[0].overdue_rate == 0.25
    cells = {
        (c.week.isoformat(), c.district_code, c.service): (c.applications, c.overdue)
        for c in agg.cells
    }
    assert cells == {
        ("2026-03-02", "350102", "HRSS-001"): (1, 0),
        ("2026-03-02", "350102", "PSB-001"): (1, 1),
        ("2026-03-02", "350103", "HRSS-001"): (1, 0),
        ("2026-03-09", "350102", "HRSS-001"): (1, 1),
        ("2026-03-09", "110105", "HRSS-001"): (1, 0),
    }
    with cases.unit_of_work() as ctx:
        second_week = datahub.aggregates(ctx, start=date(2026, 3, 9), end=date(2026, 3, 15))
        hrss = datahub.aggregates(
            ctx, start=date(2026, 3, 2), end=date(2026, 3, 15), service="HRSS-001"
        )
        default = datahub.aggregates(ctx)  # twelve weeks up to today
        with pytest.raises(ValidationFailed):
            datahub.aggregates(ctx, start=date(2026, 3, 9), end=date(2026, 3, 2))
        with pytest.raises(NotFound):
            datahub.aggregates(ctx, service="NOPE-1")
    assert (second_week.applications, second_week.overdue) == (2, 1)
    assert (hrss.applications, hrss.overdue, hrss.service) == (4, 1, "HRSS-001")
    assert len(default.weeks) == 12
    assert default.end == date(2026, 3, 25)
    assert default.applications == 5


def test_aggregates_api_and_page(client: Any, cases: Platform) -> None:
    sign_in(client, "center_li")  # analyst
    r = client.get(
        "/api/v1/datahub/aggregates",
        params={"from": "2026-03-02", "to": "2026-03-15", "service": "PSB-001"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applications"], body["overdue"]) == (1, 1)
    assert body["by_district"][0]["key"] == "350102"
    assert "id_number" not in r.text
    assert ID3 not in r.text
    assert client.get("/api/v1/datahub/aggregates", params={"from": "March"}).status_code == 422

    r = client.get("/dashboard/decisions", params={"from": "2026-03-02", "to": "2026-03-15"})
    assert r.status_code == 200, r.text
    html = r.text
    assert '<svg id="chart-weeks"' in html
    assert '<svg id="chart-districts"' in html
    assert "福州市鼓楼区" in html
    assert "福州市台江区" in html
    assert "未知" in html
    assert html.count('<tr><td class="mono">2026-03-') == 2 + 5  # weeks, then detail rows
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'href="/dashboard/decisions"' in html  # in the navigation
    # services by their names in the page's language
    assert "<td>居住证办理</td>" in html
    client.cookies.set("lang", "en")
    html = client.get("/dashboard/decisions", params={"from": "2026-03-02", "to": "2026-03-15"})
    assert "<td>Residence permit</td>" in html.text
    assert "<td>居住证办理</td>" not in html.text
    client.cookies.delete("lang")
    bad = client.get("/dashboard/decisions", params={"from": "soon"})
    assert bad.status_code == 422
    login(client, "center_wu")  # a data administrator does not search cases
    assert client.get("/api/v1/datahub/aggregates").status_code == 403


def test_monday_weeks_are_local(cases: Platform, clock: ManualClock) -> None:
    # Monday 16 March 01:00 in Shanghai is still Sunday in UTC: it counts in the week of the
    # 16th, the local week.
    clock.set(datetime(2026, 3, 16, 1, tzinfo=SHANGHAI))
    _submit(cases, "HRSS-001", ID2)
    clock.set(START + timedelta(days=30))
    with cases.unit_of_work() as ctx:
        agg = datahub.aggregates(ctx, start=date(2026, 3, 16), end=date(2026, 3, 22))
    assert [(w.key, w.applications) for w in agg.by_week] == [("2026-03-16", 1)]
