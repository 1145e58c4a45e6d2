"""Data hub and audit pages on a real database: roles, grant and review decisions (with the
refusals that change nothing), access-log search, ledger browsing, verification and proofs."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from onewindow.datahub import service as datahub
from onewindow.datahub.models import AccessLogEntry, MatchReview, SharingGrant, SourceRecord
from onewindow.datahub.schemas import DatasetSpec, FieldSpec, GrantIn
from onewindow.kit.platform import Platform
from onewindow.security import ledger
from onewindow.security.models import LedgerEntry
from tests.integration.test_datahub_linkage import INSURED
from tests.integration.test_datahub_service import ID1, RESIDENTS, _setup
from tests.integration.test_web_pages import sign_in

DESK_PEOPLE = (
    "citizen_id,name,phone\n"
    f"{ID1},张三,13800138000\n"
    "11010519491231002X,李四,13900001111\n"
    "123,王五,13700001111\n"  # a bad ID: a row problem
)


def center_spec() -> DatasetSpec:
    """A dataset the centre's data administrator owns (the demo's center_wu is CENTER)."""
    return DatasetSpec(
        code="center_people",
        name="窗口办事人",
        owner_department="CENTER",
        key_field="citizen_id",
        fields=[
            FieldSpec(
                name="citizen_id",
                label="身份证号",
                type="citizen_id",
                sensitivity="sensitive",
                required=True,
            ),
            FieldSpec(name="name", label="姓名", type="name", sensitivity="personal"),
            FieldSpec(name="phone", label="手机号", type="mobile", sensitivity="personal"),
        ],
    )


def seed_hub(city: Platform) -> dict[str, int]:
    """Three datasets with loads, three grant requests (two on the centre's data, one on the
    PSB's) and one pending review pair; returns their ids."""
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.register_dataset(ctx, center_spec(), actor="center_wu")
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
        datahub.load_file(ctx, "hrss_insured", INSURED.encode(), filename="i.csv", actor="t")
        datahub.load_file(ctx, "center_people", DESK_PEOPLE.encode(), filename="c.csv", actor="t")
        expires = ctx.clock.now() + timedelta(days=30)

        def ask(dataset: str, purpose: str) -> int:
            spec = GrantIn(
                dataset=dataset,
                consumer_department="HRSS",
                fields=["name"],
                purpose=purpose,
                expires_at=expires,
            )
            return datahub.request_grant(ctx, spec, actor="hrss_ma").id

        ids = {
            "center_a": ask("center_people", "社保卡申领"),
            "center_b": ask("center_people", "失业登记"),
            "psb": ask("psb_residents", "社保卡申领"),
        }
        records = {r.record_key: r.id for r in ctx.session.query(SourceRecord)}
        review = MatchReview(
            left_record_id=records[ID1],
            right_record_id=records["P3"],
            match_probability=0.72,
            status="pending",
            created_at=ctx.clock.now(),
        )
        ctx.session.add(review)
        ctx.session.flush()
        ids["review"] = review.id
    return ids


@pytest.fixture
def hub(client: Any, city: Platform) -> dict[str, int]:
    return seed_hub(city)


def _status(city: Platform, grant_id: int) -> str:
    with city.unit_of_work() as ctx:
        grant = ctx.session.get(SharingGrant, grant_id)
        assert grant is not None
        return grant.status


def _ledger_size(city: Platform) -> int:
    with city.unit_of_work() as ctx:
        return ledger.size(ctx)


PAGES = (
    "/datahub",
    "/datahub/datasets/center_people",
    "/datahub/datasets/center_people/failures.csv",
    "/datahub/grants",
    "/datahub/reviews",
    "/datahub/access",
    "/audit",
    "/audit/heads",
    "/audit/privacy",
    "/audit/entries/0/proof.json",
)


def test_a_clerk_gets_403_everywhere_and_changes_nothing(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    csrf = sign_in(client, "center_qian")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    for path in (
        f"/datahub/grants/{hub['center_a']}/approve",
        f"/datahub/reviews/{hub['review']}/decide",
        "/audit/verify",
    ):
        r = client.post(path, data={"csrf_token": csrf, "decision": "accept"})
        assert r.status_code == 403, path
    assert _status(city, hub["center_a"]) == "requested"
    client.cookies.clear()
    assert client.get("/datahub", follow_redirects=False).status_code == 303  # sign in first


def test_roles_see_their_pages(client: Any, hub: dict[str, int]) -> None:
    sign_in(client, "center_wu")  # data administrator
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    client.cookies.clear()
    sign_in(client, "center_zheng")  # auditor: the ledger and the access log, not the sources
    for path in ("/audit", "/audit/heads", "/audit/privacy", "/datahub/access"):
        assert client.get(path).status_code == 200, path
    assert client.get("/datahub/reviews").status_code == 403
    nav = client.get("/audit").text
    assert 'href="/audit"' in nav


def test_datasets_schema_loads_quality_and_failing_rows(client: Any, hub: dict[str, int]) -> None:
    sign_in(client, "center_wu")
    r = client.get("/datahub")
    assert "psb_residents" in r.text
    assert "敏感个人信息" in r.text
    r = client.get("/datahub?q=center")
    assert "center_people" in r.text
    assert "psb_residents" not in r.text
    r = client.get("/datahub/datasets/center_people")
    assert r.status_code == 200
    assert "c.csv" in r.text
    assert "完整性" in r.text
    assert ID1 not in r.text  # the key is a sensitive ID: masked on screen
    assert "行级问题" in r.text  # the row with a bad ID, kept out, and why
    csv = client.get("/datahub/datasets/psb_residents/failures.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "record_key,field,rule,reason,message"
    assert any(",email," in line for line in lines[1:])  # bad-email
    assert client.get("/datahub/datasets/nope").status_code == 404


def _csrf(client: Any, path: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m
    return m.group(1)


def test_grant_approve_with_expiry_refuse_and_revoke(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    csrf = sign_in(client, "center_wu")
    page = client.get("/datahub/grants").text
    assert f'action="/datahub/grants/{hub["center_a"]}/approve"' in page
    # The PSB's grant is listed for the centre only when the centre is a party: it is not.
    before = _ledger_size(city)
    r = client.post(
        f"/datahub/grants/{hub['center_a']}/approve",
        data={"csrf_token": csrf, "expires": "2026-03-20"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "已批准" in client.get(r.headers["location"]).text
    with city.unit_of_work() as ctx:
        grant = ctx.session.get(SharingGrant, hub["center_a"])
        assert grant is not None
        assert (grant.status, grant.approved_by) == ("approved", "center_wu")
        assert grant.expires_at.astimezone(ctx.calendar.zone).date().isoformat() == "2026-03-20"
    r = client.post(
        f"/datahub/grants/{hub['center_b']}/refuse",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _status(city, hub["center_b"]) == "refused"
    r = client.post(
        f"/datahub/grants/{hub['center_a']}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _status(city, hub["center_a"]) == "revoked"
    with city.unit_of_work() as ctx:
        kinds = [e.kind for e in ctx.session.query(LedgerEntry).filter(LedgerEntry.idx >= before)]
    assert kinds == ["grant_approved", "grant_refused", "grant_revoked"]


def test_grant_decisions_that_cannot_be_taken_change_nothing(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    csrf = sign_in(client, "center_wu")
    before = _ledger_size(city)
    # Another department's data: the centre's data administrator may not decide.
    r = client.post(f"/datahub/grants/{hub['psb']}/approve", data={"csrf_token": csrf})
    assert r.status_code == 403
    assert "仅数据所属部门的负责人或数据管理员可审批此授权" in r.text
    assert _status(city, hub["psb"]) == "requested"
    # No such grant.
    r = client.post("/datahub/grants/99999/approve", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert "授权不存在" in r.text
    # A past expiry.
    r = client.post(
        f"/datahub/grants/{hub['center_a']}/approve",
        data={"csrf_token": csrf, "expires": "2020-01-01"},
    )
    assert r.status_code == 422
    assert _status(city, hub["center_a"]) == "requested"
    r = client.post(
        f"/datahub/grants/{hub['center_a']}/approve", data={"csrf_token": csrf, "expires": "x"}
    )
    assert r.status_code == 422
    assert _ledger_size(city) == before
    # Decided twice: the second is refused, the first stands.
    ok = client.post(f"/datahub/grants/{hub['center_a']}/approve", data={"csrf_token": csrf})
    assert ok.status_code == 200  # followed to the list
    size = _ledger_size(city)
    for action in ("approve", "refuse"):
        r = client.post(f"/datahub/grants/{hub['center_a']}/{action}", data={"csrf_token": csrf})
        assert r.status_code == 409, action
        assert "该授权已批准，不能再作此决定" in r.text
    r = client.post(f"/datahub/grants/{hub['center_b']}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 409  # only an approved grant is revoked
    assert _status(city, hub["center_a"]) == "approved"
    assert _status(city, hub["center_b"]) == "requested"
    assert _ledger_size(city) == size
    # In English too.
    client.get("/lang/en")
    r = client.post("/datahub/grants/99999/refuse", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert "No such grant" in r.text


def test_the_owning_head_decides_over_the_api_and_the_page_alike(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    csrf = sign_in(client, "psb_lin")  # the PSB's head owns psb_residents
    r = client.post(
        f"/datahub/grants/{hub['psb']}/approve", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert _status(city, hub["psb"]) == "approved"
    assert client.get("/datahub/reviews").status_code == 403  # a head does not manage sources


def test_review_pair_side_by_side_masked_decided_once(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    csrf = sign_in(client, "center_wu")
    page = client.get("/datahub/reviews").text
    assert f'id="pair-{hub["review"]}"' in page
    assert ID1 not in page  # the sensitive ID is masked for a data administrator
    assert ID1[:6] in page  # ... as 350102********xxxx
    # Agreement is judged on the stored values, not on the masks (张* may hide two names).
    with city.unit_of_work() as ctx:
        (pair,) = datahub.list_reviews(ctx, "pending", roles=frozenset({"data_admin"}))
    assert pair.left["compare"]["phone"]["same"] is True
    assert "same" not in pair.left["compare"]["citizen_id"]  # P3 has no ID to compare
    assert '<td class="small">一致</td>' in page
    assert "张*" in page or "張*" in page
    r = client.post(
        f"/datahub/reviews/{hub['review']}/decide",
        data={"csrf_token": csrf, "decision": "reject"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "确认为不同主体" in client.get(r.headers["location"]).text
    with city.unit_of_work() as ctx:
        review = ctx.session.get(MatchReview, hub["review"])
        assert review is not None
        assert (review.status, review.decided_by) == ("rejected", "center_wu")
    # Remembered: listed under its decision, no longer pending, and not decided again.
    assert f'id="pair-{hub["review"]}"' not in client.get("/datahub/reviews").text
    assert f'id="pair-{hub["review"]}"' in client.get("/datahub/reviews?state=rejected").text
    r = client.post(
        f"/datahub/reviews/{hub['review']}/decide", data={"csrf_token": csrf, "decision": "accept"}
    )
    assert r.status_code == 409
    assert "该匹配已复核" in r.text
    r = client.post(
        "/datahub/reviews/424242/decide", data={"csrf_token": csrf, "decision": "accept"}
    )
    assert r.status_code == 404
    assert "复核任务不存在" in r.text
    r = client.post(
        f"/datahub/reviews/{hub['review']}/decide", data={"csrf_token": csrf, "decision": "maybe"}
    )
    assert r.status_code == 422
    with city.unit_of_work() as ctx:
        review = ctx.session.get(MatchReview, hub["review"])
        assert review is not None
        assert review.status == "rejected"
    assert client.get("/datahub/reviews?state=bogus").status_code == 422


def test_access_log_search_and_pages(client: Any, city: Platform, hub: dict[str, int]) -> None:
    with city.unit_of_work() as ctx:
        grant = ctx.session.get(SharingGrant, hub["center_a"])
        assert grant is not None
        grant.status = "approved"
        reader = datahub.Caller(
            actor="hrss_hu", roles=frozenset({"reviewer"}), department_code="HRSS"
        )
        for n in range(55):
            datahub.read_shared(
                ctx,
                "center_people",
                caller=reader,
                purpose="社保卡申领",
                case_ref=f"CASE-{n:03d}",
                fields=["name"],
            )
    sign_in(client, "center_wu")
    first = client.get("/datahub/access")
    assert "共 55 条访问记录" in first.text
    assert "第 1 / 2 页" in first.text
    assert "CASE-054" in first.text
    assert "CASE-000" not in first.text
    second = client.get("/datahub/access?page=2")
    assert "CASE-000" in second.text
    found = client.get("/datahub/access?q=CASE-007")
    assert "共 1 条访问记录" in found.text
    assert "共 55 条" in client.get("/datahub/access?q=center_people").text
    assert "共 0 条" in client.get("/datahub/access?q=nobody%25&outcome=refused").text
    assert client.get("/datahub/access?page=0").status_code == 422
    with city.unit_of_work() as ctx:
        assert ctx.session.query(AccessLogEntry).count() == 55


def test_ledger_browse_by_kind_case_person_and_period(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    sign_in(client, "center_zheng")
    r = client.get("/audit?kind=grant_requested")
    assert "共 3 条" in r.text
    assert "共 3 条" in client.get("/audit?actor=hrss_ma").text
    assert "共 0 条" in client.get("/audit?actor=nobody").text
    assert "共 3 条" in client.get("/audit?from=2026-03-02&to=2026-03-02").text
    assert "共 0 条" in client.get("/audit?from=2026-03-03").text
    assert "共 0 条" in client.get("/audit?to=2026-03-01").text
    assert "共 0 条" in client.get("/audit?case=C-1").text
    assert client.get("/audit?kind=bogus").status_code == 422
    assert client.get("/audit?from=yesterday").status_code == 422


def test_case_filter_finds_shared_reads_by_case(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    with city.unit_of_work() as ctx:
        grant = ctx.session.get(SharingGrant, hub["center_a"])
        assert grant is not None
        grant.status = "approved"
        reader = datahub.Caller(
            actor="hrss_hu", roles=frozenset({"reviewer"}), department_code="HRSS"
        )
        datahub.read_shared(
            ctx, "center_people", caller=reader, purpose="社保卡申领", case_ref="HR-7", fields=None
        )
    sign_in(client, "center_zheng")
    r = client.get("/audit?case=HR-7")
    assert "共 1 条" in r.text
    assert r.text.count('id="entry-') == 1
    assert "<td>共享数据读取</td>" in r.text  # the kind by its label


def _wait_for_verdict(client: Any, fragment: str) -> str:
    m = re.search(r'hx-get="(/audit/verify/[0-9a-f]{16})"', fragment)
    deadline = time.monotonic() + 30
    while m and time.monotonic() < deadline:
        time.sleep(0.05)
        fragment = client.get(m.group(1), headers={"HX-Request": "true"}).text
        m = re.search(r'hx-get="(/audit/verify/[0-9a-f]{16})"', fragment)
    return fragment


def test_verify_with_progress_and_signed_heads(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    with city.unit_of_work() as ctx:
        ledger.sign_tree_head(ctx)
    csrf = sign_in(client, "center_zheng")
    r = client.post("/audit/verify", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'id="au-verify"' in r.text
    assert "<html" not in r.text
    done = _wait_for_verdict(client, r.text)
    assert 'data-verdict="ok"' in done, done
    assert "校验通过" in done
    # Without script: a redirect to the ledger page, which shows the run.
    r = client.post("/audit/verify", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/audit?verify=")
    assert 'id="au-verify"' in client.get(r.headers["location"]).text
    heads = client.get("/audit/heads").text
    assert "签名有效" in heads
    assert client.get("/audit/verify/0123456789abcdef").status_code == 404
    assert client.get("/audit/verify/nope").status_code == 404


def test_chunked_progress_matches_one_pass(city: Platform, hub: dict[str, int]) -> None:
    with city.unit_of_work() as ctx:
        ledger.sign_tree_head(ctx)
        seen: list[int] = []
        small = ledger.verify_stored(ctx, workers=1, bits=2, progress=seen.append)
        whole = ledger.verify_stored(ctx, workers=1)
        n = ledger.size(ctx)
    assert small.ok
    assert whole.ok
    assert small.root_hash == whole.root_hash
    assert seen == sorted(seen)
    assert seen[-1] == n
    assert len(seen) == -(-n // 4)


def test_proof_download_verifies_offline(
    client: Any, city: Platform, hub: dict[str, int], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from onewindow.cli.ledger import ledger_app

    with city.unit_of_work() as ctx:
        ledger.sign_tree_head(ctx)
    sign_in(client, "center_zheng")
    r = client.get("/audit/entries/1/proof.json")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment")
    bundle = r.json()
    assert bundle["tree_head"] is not None
    assert bundle["index"] == 1
    proof = tmp_path / "proof.json"
    proof.write_bytes(r.content)
    key = tmp_path / "key.pem"
    key.write_bytes(client.get("/audit/public-key.pem").content)
    runner = CliRunner()
    ok = runner.invoke(ledger_app, ["verify-proof", str(proof), "--public-key", str(key)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    assert json.loads(ok.output)["signed"] is True
    forged = dict(bundle, entry=bundle["entry"].replace("hrss_ma", "hrss_hu"))
    (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
    bad = runner.invoke(ledger_app, ["verify-proof", str(tmp_path / "forged.json")])
    assert bad.exit_code == 1
    assert "does not hash" in json.loads(bad.output)["problem"]
    assert client.get("/audit/entries/999999/proof.json").status_code == 404


def test_privacy_history_lists_unmasking_and_reads(
    client: Any, city: Platform, hub: dict[str, int]
) -> None:
    with city.unit_of_work() as ctx:
        ledger.append(
            ctx,
            ledger.EntryKind.FIELD_UNMASKED,
            {
                "case": "C-42",
                "record": "applicant:1",
                "field": "id_number",
                "purpose": "核对身份",
                "roles": ["auditor"],
            },
            actor="center_zheng",
        )
    sign_in(client, "center_zheng")
    page = client.get("/audit/privacy").text
    assert "核对身份" in page
    assert "C-42" in page


def test_refuse_over_the_api_too(client: Any, city: Platform, hub: dict[str, int]) -> None:
    from tests.conftest import login

    headers = login(client, "center_wu")
    url = f"/api/v1/datahub/grants/{hub['center_b']}/refuse"
    r = client.post(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refused"
    assert r.json()["ended_by"] == "center_wu"
    again = client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "datahub.grant_state"
    other = client.post(f"/api/v1/datahub/grants/{hub['psb']}/refuse", headers=headers)
    assert other.status_code == 403
    assert _status(city, hub["psb"]) == "requested"
