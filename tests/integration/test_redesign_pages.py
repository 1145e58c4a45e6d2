"""The redesign studio: an analyst fits SAMR-001's own log, sees the validation, runs the
proposals and compares them; a head publishes one after confirming; refusals change nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.simulation import publish
from tests.conftest import START, login
from tests.integration.redesign_support import seed_business_licence_log

BASE = "/analysis/redesign"


def _form(headers: dict[str, str], **fields: str) -> dict[str, str]:
    return {"csrf_token": headers["X-CSRF-Token"], **fields}


def _run_to_end(client: Any, study: str, headers: dict[str, str]) -> str:
    r = client.post(f"{BASE}/{study}/run", data=_form(headers), headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert 'data-status="running"' in r.text
    assert "hx-get" in r.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = client.get(f"{BASE}/{study}/run")
        if 'data-status="running"' not in r.text:
            return str(r.text)
        time.sleep(0.3)
    raise AssertionError("the proposals did not finish within two minutes")


def _state(city: Platform) -> tuple[int, int, int]:
    with city.unit_of_work() as ctx:
        item = catalog.get_service(ctx, "SAMR-001")
        return (
            item.process_definition_id,
            len(catalog.process_versions(ctx, "business_licence")),
            len(publish.list_predictions(ctx)),
        )


def test_analyst_fits_runs_compares_and_a_head_publishes_once(
    client: Any, city: Platform, clock: ManualClock
) -> None:
    assert seed_business_licence_log(city) >= 30
    change_point = START + timedelta(weeks=3)  # the seeded cases are done by then
    clock.set(change_point)
    before = _state(city)
    analyst = login(client, "center_li")
    page = client.get(BASE)
    assert page.status_code == 200
    assert "流程再造工作室" in page.text
    assert 'value="SAMR-001"' in page.text

    r = client.post(
        BASE,
        data=_form(analyst, service="SAMR-001", cases="400", replications="3"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    study_url = r.headers["location"]
    study = study_url.rsplit("/", 1)[1]
    page = client.get(study_url)
    assert page.status_code == 200
    # the baseline's validation, KPI by KPI, and a verdict either way
    assert "基线验证" in page.text
    assert "办理时长中位数" in page.text
    verdict = re.search(r'data-trust="(ok|bad)"', page.text)
    assert verdict is not None
    if verdict.group(1) == "bad":
        assert "模型不足以信任" in page.text
    assert "Task_samr_review" not in page.text  # tasks by their names, not raw ids

    done = _run_to_end(client, study, analyst)
    assert 'data-status="done"' in done, done
    keys = re.findall(r'id="rd-row-(\w+)"', done)
    assert "precheck" in keys
    assert "combined" in keys
    assert "基线（现行流程）" in done
    assert re.search(r"\[[+-]?\d+%, [+-]?\d+%\]", done)  # each change with its 95 % interval
    assert 'id="rd-ci"' in done  # the interval plot
    assert "/publish" not in done  # an analyst is not offered publishing

    key = keys[0]
    proposal = client.get(f"{study_url}/proposals/{key}")
    assert proposal.status_code == 200
    assert 'data-diagram-url="' in proposal.text
    assert "/static/workbench.js" in proposal.text
    diagram = client.get(f"{study_url}/proposals/{key}/diagram").json()
    assert diagram["xml"].startswith("<?xml")
    assert "isExecutable" in diagram["xml"]
    assert diagram["markers"]["rd-added"]
    assert all(f'id="{i}"' in diagram["xml"] for i in diagram["markers"]["rd-added"])
    assert client.get(f"{study_url}/proposals/nope").status_code == 404
    # the pre-check proposal's changes and assumptions in the page's language, not English
    # under a Chinese heading
    precheck = client.get(f"{study_url}/proposals/precheck").text
    assert "在第一个环节之前增加在线预审" in precheck
    assert "拦下 80% 的材料不全申请" in precheck
    client.cookies.set("lang", "en")
    precheck = client.get(f"{study_url}/proposals/precheck").text
    assert "add an online completeness pre-check" in precheck
    assert "在第一个环节之前增加在线预审" not in precheck
    client.cookies.delete("lang")

    # the analyst may not publish: a clear refusal, nothing changed
    for method in ("get", "post"):
        r = getattr(client, method)(
            f"{study_url}/proposals/{key}/publish",
            **({"data": _form(analyst, confirm="yes")} if method == "post" else {}),
        )
        assert r.status_code == 403
        assert "只有承办该事项的部门负责人或系统管理员可以发布" in r.text
    assert _state(city) == before

    # a head of another department (not on this service) is refused too
    client.cookies.clear()
    housing = login(client, "housing_liang")
    r = client.post(f"{study_url}/proposals/{key}/publish", data=_form(housing, confirm="yes"))
    assert r.status_code == 403
    assert _state(city) == before

    client.cookies.clear()
    head = login(client, "samr_chen")
    confirm = client.get(f"{study_url}/proposals/{key}/publish")
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.text
    assert "在办的办件继续按原版本办结" in confirm.text
    r = client.post(f"{study_url}/proposals/{key}/publish", data=_form(head, weeks="4"))
    assert r.status_code == 422
    assert "请勾选确认框" in r.text
    assert _state(city) == before

    r = client.post(
        f"{study_url}/proposals/{key}/publish",
        data=_form(head, confirm="yes", weeks="4"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = _state(city)
    assert after[0] != before[0]
    assert after[1] == before[1] + 1
    assert after[2] == before[2] + 1
    with city.unit_of_work() as ctx:
        (prediction,) = publish.list_predictions(ctx)
        assert prediction.proposal_key == key
        assert prediction.to_process_id == after[0]
        assert prediction.published_by == "samr_chen"
        assert prediction.predicted["cycle_median_h"]["change_low"] is not None
    page = client.get(study_url)
    assert 'id="rd-published"' in page.text
    assert f'id="rd-prediction-{prediction.id}"' in page.text  # prediction, measured to follow
    assert "待评估" in page.text

    # double publish: the same study, or another proposal of it, is refused; nothing changes
    for again in (key, keys[-1]):
        r = client.post(f"{study_url}/proposals/{again}/publish", data=_form(head, confirm="yes"))
        assert r.status_code == 409, r.text
        assert "已发布过方案" in r.text
    assert _state(city) == after
    # and a second study of the old version cannot publish either: the process changed
    client.cookies.clear()
    analyst = login(client, "center_li")
    assert client.post(f"{BASE}/{study}/run", data=_form(analyst)).status_code == 409

    # the measured effect: once measured it stands next to the prediction, also on the board
    seed_business_licence_log(city, weeks=1, seed=5, start=change_point)
    clock.set(change_point + timedelta(weeks=4))
    with city.unit_of_work() as ctx:
        publish.measure(ctx, prediction.id)
    client.cookies.clear()
    login(client, "center_li")  # four weeks on: a new session
    page = client.get(BASE)
    assert f'id="rd-prediction-{prediction.id}"' in page.text
    assert "待评估" not in page.text
    client.cookies.clear()
    board = client.get("/board")
    assert board.status_code == 200
    assert "流程优化：预测与实测" in board.text


def test_bad_inputs_get_clear_messages_and_write_nothing(client: Any, city: Platform) -> None:
    analyst = login(client, "center_li")
    before = _state(city)
    r = client.post(BASE, data=_form(analyst, service="NO-SUCH", cases="500", replications="3"))
    assert r.status_code == 422
    assert "没有事项 NO-SUCH" in r.text
    assert "simulation.service_unknown" in r.text
    # a service with too little log (the demo catalogue, no cases yet)
    r = client.post(BASE, data=_form(analyst, service="SAMR-001", cases="500", replications="3"))
    assert r.status_code == 422
    assert "至少需要 20 件" in r.text
    assert "simulation.too_little_log" in r.text
    client.cookies.set("lang", "en")
    r = client.post(BASE, data=_form(analyst, service="SAMR-001", cases="500", replications="3"))
    assert "at least 20 are needed" in r.text
    client.cookies.delete("lang")
    for cases, reps in (("5", "3"), ("500", "1"), ("500", "99"), ("many", "3")):
        r = client.post(
            BASE, data=_form(analyst, service="SAMR-001", cases=cases, replications=reps)
        )
        assert r.status_code == 422, (cases, reps)
        assert 'id="rd-error"' in r.text
    assert client.get(f"{BASE}/0123456789abcdef").status_code == 404
    assert client.get(f"{BASE}/../../etc").status_code == 404
    assert client.post(f"{BASE}/0123456789abcdef/run", data=_form(analyst)).status_code == 404
    assert _state(city) == before
    assert not (city.settings.data_dir / "redesign-studies").exists()


def test_who_may_open_the_studio(client: Any) -> None:
    assert client.get(BASE, follow_redirects=False).status_code == 303  # sign in first
    clerk = login(client, "center_qian")
    assert client.get(BASE).status_code == 403
    r = client.post(BASE, data=_form(clerk, service="SAMR-001"))
    assert r.status_code == 403
    client.cookies.clear()
    login(client, "samr_chen")  # a head reads, but does not fit
    page = client.get(BASE)
    assert page.status_code == 200
    assert 'id="rd-fit-form"' not in page.text
