"""Shared-data API over HTTP: permissions, refusal logged despite the error response, CLI link."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from onewindow.datahub import service as datahub
from onewindow.datahub.endpoints import router
from onewindow.datahub.models import AccessLogEntry
from onewindow.kit.platform import Platform
from tests.conftest import login
from tests.integration.test_datahub_service import RESIDENTS, _setup


def _mount(client: Any) -> None:
    if not any(getattr(r, "path", "").startswith("/api/v1/datahub") for r in client.app.routes):
        client.app.include_router(router, prefix="/api/v1")


def test_shared_read_refused_then_allowed(client: Any, city: Platform) -> None:
    _mount(client)
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    headers = login(client, "hrss_hu")
    r = client.get(
        "/api/v1/datahub/shared/psb_residents",
        params={"fields": ["name"], "purpose": "社保卡申领", "case_ref": "C9"},
        headers=headers,
    )
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "datahub.grant_missing"
    assert r.json()["details"]["missing_grant"]["dataset"] == "psb_residents"
    with city.unit_of_work() as ctx:
        assert [e.outcome for e in ctx.session.query(AccessLogEntry)] == ["refused"]
    assert client.get("/api/v1/datahub/shared/psb_residents", headers=headers).status_code == 422
    cat = client.get("/api/v1/datahub/catalogue", params={"q": "户籍"}, headers=headers)
    assert cat.status_code == 200
    assert cat.json()[0]["fields"][0]["sensitivity"] == "sensitive"
    assert client.get("/api/v1/datahub/access-log", headers=headers).status_code == 403
    with city.unit_of_work() as ctx:
        expires = (ctx.clock.now() + timedelta(days=3)).isoformat()
    head = login(client, "hrss_ma")
    g = client.post(
        "/api/v1/datahub/grants",
        json={
            "dataset": "psb_residents",
            "consumer_department": "HRSS",
            "fields": ["name"],
            "purpose": "社保卡申领",
            "expires_at": expires,
        },
        headers=head,
    )
    assert g.status_code == 201, g.text
    assert (
        client.post(f"/api/v1/datahub/grants/{g.json()['id']}/approve", headers=head).status_code
        == 403
    )
    psb = login(client, "psb_lin")
    assert (
        client.post(f"/api/v1/datahub/grants/{g.json()['id']}/approve", headers=psb).status_code
        == 200
    )
    log = client.get("/api/v1/datahub/access-log", headers=psb).json()
    assert log["total"] == 1
    login(client, "hrss_hu")
    r = client.get(
        "/api/v1/datahub/shared/psb_residents",
        params={"fields": ["name"], "purpose": "社保卡申领"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert sorted(i["name"] for i in r.json()["items"]) == ["张三", "李四", "王五"]


def test_cli_link_plain_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from onewindow.cli.datahub import datahub_app

    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(
        "rec_id,姓名,身份证号,手机号\n1,张三,11010519491231002X,13800138000\n2,李四,,13900001111\n"
    )
    b_text = (
        "rec_id,name,citizen_id,phone,extra\n"
        "x,張 三,11010519491231002x,138-0013-8000,?\n"
        "y,王五,,13700001111,?\n"
    )
    b.write_bytes(b_text.encode("gbk"))
    out = tmp_path / "clusters.csv"
    result = CliRunner().invoke(
        datahub_app, ["link", "--source", str(a), "--source", str(b), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    assert rows[0] == ["source", "record_id", "cluster_id"]
    cluster = {(s, r): c for s, r, c in rows[1:]}
    assert cluster[("a.csv", "1")] == cluster[("b.csv", "x")]
    assert len(set(cluster.values())) == 3
