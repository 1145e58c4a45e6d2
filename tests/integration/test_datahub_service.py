"""Data hub on a real database: loading, quality, linkage, grants, masking, access log, pre-fill."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from onewindow.datahub import service as datahub
from onewindow.datahub.linkage import LinkageConfig
from onewindow.datahub.models import AccessLogEntry
from onewindow.datahub.schemas import DatasetSpec, FieldSpec, GrantIn
from onewindow.intake.identifiers import make_citizen_id
from onewindow.kit.errors import PermissionDenied
from onewindow.kit.platform import Platform

ID1 = make_citizen_id("350102", date(1985, 6, 1), 11)  # male
ID2 = make_citizen_id("350103", date(1990, 2, 3), 22)  # female
ID3 = make_citizen_id("350104", date(1975, 9, 9), 33)


def residents_spec(on_error: str = "keep_good") -> DatasetSpec:
    return DatasetSpec(
        code="psb_residents",
        name="户籍人口",
        owner_department="PSB",
        key_field="citizen_id",
        on_error=on_error,  # type: ignore[arg-type]
        default_city_code="350100",
        fields=[
            FieldSpec(
                name="citizen_id",
                label="身份证号",
                type="citizen_id",
                sensitivity="sensitive",
                required=True,
            ),
            FieldSpec(
                name="name",
                label="姓名",
                type="name",
                sensitivity="personal",
                required=True,
                simplify=True,
            ),
            FieldSpec(
                name="sex",
                label="性别",
                type="gender",
                sensitivity="personal",
                derive_from="citizen_id",
            ),
            FieldSpec(
                name="birth_date",
                label="出生日期",
                type="date",
                sensitivity="personal",
                derive_from="citizen_id",
            ),
            FieldSpec(name="phone", label="手机号", type="mobile", sensitivity="personal"),
            FieldSpec(name="address", label="住址", type="address", sensitivity="personal"),
            FieldSpec(name="email", label="电子邮箱", type="email", sensitivity="personal"),
        ],
    )


def insured_spec() -> DatasetSpec:
    return DatasetSpec(
        code="hrss_insured",
        name="社保参保人员",
        owner_department="HRSS",
        key_field="person_no",
        fields=[
            FieldSpec(name="person_no", label="个人编号", sensitivity="internal", required=True),
            FieldSpec(
                name="citizen_id", label="身份证号码", type="citizen_id", sensitivity="sensitive"
            ),
            FieldSpec(
                name="name", label="姓名", type="name", sensitivity="personal", simplify=True
            ),
            FieldSpec(name="birth_date", label="出生日期", type="date", sensitivity="personal"),
            FieldSpec(name="phone", label="联系电话", type="mobile", sensitivity="personal"),
            FieldSpec(name="employer", label="单位名称", sensitivity="internal"),
        ],
    )


RESIDENTS = (
    "身份证号,姓名,性别,出生日期,手机号,住址,电子邮箱,备注\n"
    f"{ID1},张 三,,,138 0013 8000,福建省福州市鼓楼区五四路1号,zhang@example.cn,x\n"
    f"{ID2},李四,女,1990年2月3日,+86 139-0000-1111,福州市台江区八一七中路2号,,\n"
    f"{ID3},王　五,,,13700001111,鼓楼区湖东路3号,bad-email,\n"
)


def _setup(city: Platform, on_error: str = "keep_good") -> None:
    with city.unit_of_work() as ctx:
        datahub.register_dataset(ctx, residents_spec(on_error), actor="center_wu")
        datahub.register_dataset(ctx, insured_spec(), actor="center_wu")


def test_load_csv_standardises_and_reports(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", RESIDENTS.encode("gbk"), filename="r.csv", actor="t"
        )
        assert load.status == "applied"
        assert load.encoding == "gb18030"
        assert (load.rows_inserted, load.rows_rejected) == (3, 0)
        reasons = {p["reason"] for p in load.problems}
        assert "unknown_column" in reasons  # 备注 ignored
        assert "format" in reasons  # bad e-mail kept as a warning
        shared = datahub.read_shared(
            ctx,
            "psb_residents",
            caller=datahub.Caller("psb_lin", frozenset({"head"}), "PSB"),
            purpose="own",
            case_ref=None,
            fields=None,
        )
    rows = {r["record_key"]: r for r in shared.items}
    assert rows[ID1]["name"] == "张三"
    assert rows[ID1]["sex"] == "M"
    assert rows[ID1]["birth_date"] == "1985-06-01"
    assert rows[ID1]["phone"] == "13800138000"
    assert rows[ID3]["name"] == "王五"
    with city.unit_of_work() as ctx:
        rec = datahub.record_history(ctx, "psb_residents", ID1)
    assert rec[0]["data"]["address_area_code"] == "350102"
    assert rec[0]["data"]["address_district"] == "鼓楼区"


def test_load_bom_and_ragged_rows(city: Platform) -> None:
    _setup(city)
    text = RESIDENTS + f"{ID1},too,many,values,here,a,b,c,d\n"
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", b"\xef\xbb\xbf" + text.encode(), filename="r.csv", actor="t"
        )
    assert load.encoding == "utf-8-sig"
    assert load.rows_inserted == 3
    assert load.rows_rejected == 1
    assert any(p["reason"] == "ragged_row" and p["line"] == 5 for p in load.problems)


def test_reject_all_applies_nothing(city: Platform) -> None:
    _setup(city, on_error="reject_all")
    bad = RESIDENTS + "110105194912310021,赵六,,,,,,\n"  # wrong check digit in the required key
    with city.unit_of_work() as ctx:
        load = datahub.load_file(ctx, "psb_residents", bad.encode(), filename="r.csv", actor="t")
        assert load.status == "rejected"
        assert any(p["reason"] == "check_digit" and p["line"] == 5 for p in load.problems)
        assert datahub.quality_report(ctx, "psb_residents").records == 0
    with city.unit_of_work() as ctx:  # keep_good on request: the three good rows go in
        load = datahub.load_file(
            ctx, "psb_residents", bad.encode(), filename="r.csv", actor="t", on_error="keep_good"
        )
        assert (load.status, load.rows_inserted, load.rows_rejected) == ("applied", 3, 1)


def test_missing_required_column_rejects_load(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", "姓名\n张三\n".encode(), filename="r.csv", actor="t"
        )
    assert load.status == "rejected"
    assert load.problems[0]["reason"] == "missing_column"


def test_unreadable_source_is_rejected(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", b"PK\x03\x04garbage", filename="r.xlsx", actor="t"
        )
    assert load.status == "rejected"
    assert load.problems[0]["reason"] == "unreadable"


def test_incremental_load_keeps_history(city: Platform, clock) -> None:  # type: ignore[no-untyped-def]
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    clock.advance(timedelta(days=1))
    changed = RESIDENTS.replace("138 0013 8000", "13800138999")
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", changed.encode(), filename="r.csv", actor="t"
        )
        assert (load.rows_inserted, load.rows_updated, load.rows_unchanged) == (0, 1, 2)
        history = datahub.record_history(ctx, "psb_residents", ID1)
    assert [h["data"]["phone"] for h in history] == ["13800138000", "13800138999"]


def test_xlsx_load(city: Platform) -> None:
    from openpyxl import Workbook

    _setup(city)
    wb = Workbook()
    ws = wb.active
    ws.append(["个人编号", "身份证号码", "姓名", "出生日期", "联系电话", "单位名称"])
    ws.append(["P1", ID1, "張三", date(1985, 6, 1), 13800138000, "福州软件园"])
    ws.append(["P2", ID2, "李四", "1990/2/3", "13900001111", None])
    buf = io.BytesIO()
    wb.save(buf)
    with city.unit_of_work() as ctx:
        load = datahub.load_file(ctx, "hrss_insured", buf.getvalue(), filename="i.xlsx", actor="t")
        assert (load.format, load.rows_inserted) == ("xlsx", 2)
        history = datahub.record_history(ctx, "hrss_insured", "P1")
    assert history[0]["data"]["name"] == "张三"
    assert history[0]["data"]["birth_date"] == "1985-06-01"
    assert history[0]["data"]["phone"] == "13800138000"


def test_quality_report_and_cross_department_consistency(city: Platform) -> None:
    _setup(city)
    insured = (
        "个人编号,身份证号码,姓名,出生日期,联系电话\n"
        f"P1,{ID1},张三,1985-06-02,13800138000\n"  # birth date disagrees with PSB's
        f"P2,{ID2},李四,1990-02-03,\n"
    )
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
        datahub.load_file(ctx, "hrss_insured", insured.encode(), filename="i.csv", actor="t")
        report = datahub.quality_report(ctx, "hrss_insured")
        failures = datahub.failing_rows_csv(ctx, "hrss_insured")
        psb = datahub.quality_report(ctx, "psb_residents")
    by_field = {f.field: f for f in report.fields}
    assert by_field["birth_date"].inconsistent == 1
    assert by_field["phone"].completeness == 0.5
    assert by_field["citizen_id"].uniqueness == 1.0
    assert "differs_across_departments" in failures
    assert {f.field: f for f in psb.fields}["email"].validity == 0.5


def _grant(city: Platform, fields: list[str], purpose: str = "社保卡申领", days: int = 30) -> int:
    with city.unit_of_work() as ctx:
        grant = datahub.request_grant(
            ctx,
            GrantIn(
                dataset="psb_residents",
                consumer_department="HRSS",
                fields=fields,
                purpose=purpose,
                expires_at=ctx.clock.now() + timedelta(days=days),
            ),
            actor="hrss_ma",
        )
        datahub.approve_grant(
            ctx, grant.id, caller=datahub.Caller("psb_lin", frozenset({"head"}), "PSB")
        )
        return grant.id


HRSS_REVIEWER = datahub.Caller("hrss_hu", frozenset({"reviewer"}), "HRSS")


def _refused(
    city: Platform, caller: datahub.Caller, fields: list[str], purpose: str = "社保卡申领"
) -> str:
    with city.unit_of_work() as ctx:
        with pytest.raises(datahub.GrantMissing) as exc:
            datahub.read_shared(
                ctx, "psb_residents", caller=caller, purpose=purpose, case_ref="C1", fields=fields
            )
        ctx.session.commit()
    return exc.value.message


def test_grant_rules(city: Platform, clock) -> None:  # type: ignore[no-untyped-def]
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    assert "no approved grant" in _refused(city, HRSS_REVIEWER, ["name"])
    _grant(city, ["name", "phone", "citizen_id"], days=10)
    message = _refused(city, HRSS_REVIEWER, ["name", "address"])  # wrong field
    assert "address" in message
    assert "psb_residents" in message
    assert "purpose" in _refused(city, HRSS_REVIEWER, ["name"], purpose="other")  # wrong purpose
    with city.unit_of_work() as ctx:
        out = datahub.read_shared(
            ctx,
            "psb_residents",
            caller=HRSS_REVIEWER,
            purpose="社保卡申领",
            case_ref="C1",
            fields=["name", "phone", "citizen_id"],
            keys=[ID1],
        )
    item = out.items[0]
    assert item["name"] == "张三"
    assert item["phone"] == "13800138000"
    assert item["citizen_id"] == ID1[:6] + "********" + ID1[-4:]  # sensitive: masked
    assert "address" not in item
    clock.advance(timedelta(days=11))
    assert "expired" in _refused(city, HRSS_REVIEWER, ["name"])
    with city.unit_of_work() as ctx:
        log = ctx.session.query(AccessLogEntry).order_by(AccessLogEntry.id).all()
        assert [e.outcome for e in log] == ["refused", "refused", "refused", "allowed", "refused"]
        allowed = log[3]
        assert (allowed.actor, allowed.purpose, allowed.case_ref, allowed.record_keys) == (
            "hrss_hu",
            "社保卡申领",
            "C1",
            [ID1],
        )
        entries, total = datahub.access_log_for(ctx, "PSB")
        assert total == 5
        assert entries[0].consumer_department == "HRSS"


def test_only_owner_approves(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        grant = datahub.request_grant(
            ctx,
            GrantIn(
                dataset="psb_residents",
                consumer_department="HRSS",
                fields=["name"],
                purpose="核验",
                expires_at=ctx.clock.now() + timedelta(days=1),
            ),
            actor="hrss_ma",
        )
        with pytest.raises(PermissionDenied):
            datahub.approve_grant(
                ctx, grant.id, caller=datahub.Caller("hrss_ma", frozenset({"head"}), "HRSS")
            )


def test_masking_per_role(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    _grant(city, ["name", "phone", "citizen_id", "address"])
    analyst = datahub.Caller("hrss_x", frozenset({"analyst"}), "HRSS")
    with city.unit_of_work() as ctx:
        out = datahub.read_shared(
            ctx,
            "psb_residents",
            caller=analyst,
            purpose="社保卡申领",
            case_ref=None,
            fields=["name", "phone", "citizen_id", "address"],
            keys=[ID1],
        )
    item = out.items[0]
    assert item["name"] == "张*"
    assert item["phone"] == "138****8000"
    assert item["citizen_id"] is None  # sensitive: analysts see nothing
    assert item["address"].endswith("********")


def test_linkage_golden_records_reviews_and_prefill(city: Platform) -> None:
    _setup(city)
    insured = (
        "个人编号,身份证号码,姓名,出生日期,联系电话,单位名称\n"
        f"P1,{ID1},張 三,1985-06-01,13800138000,福州软件园\n"
        f"P2,,李四,1990-02-03,13900001111,台江商场\n"  # no ID: linked on name, birth date, phone
        "P9,,陈七,1960-01-01,13511112222,\n"
    )
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
        datahub.load_file(ctx, "hrss_insured", insured.encode(), filename="i.csv", actor="t")
        run = datahub.run_linkage(
            ctx, actor="center_wu", config=LinkageConfig(match_threshold=0.9, review_threshold=0.01)
        )
    assert run.records == 6
    assert run.entities == 4
    with city.unit_of_work() as ctx:
        out = datahub.prefill_for_applicant(
            ctx,
            ID1,
            ["name", "phone", "address", "employer"],
            consumer_department="CENTER",
            purpose="社保卡申领",
        )
    assert out.found
    assert out.values == {}
    assert len(out.missing_grants) == 2
    with city.unit_of_work() as ctx:
        for code, owner, fields in (
            ("psb_residents", "PSB", ["name", "address"]),
            ("hrss_insured", "HRSS", ["employer", "phone"]),
        ):
            g = datahub.request_grant(
                ctx,
                GrantIn(
                    dataset=code,
                    consumer_department="CENTER",
                    fields=fields,
                    purpose="社保卡申领",
                    expires_at=ctx.clock.now() + timedelta(days=5),
                ),
                actor="center_wu",
            )
            datahub.approve_grant(ctx, g.id, caller=datahub.Caller("x", frozenset({"head"}), owner))
    with city.unit_of_work() as ctx:
        out = datahub.prefill_for_applicant(
            ctx,
            ID1.lower(),
            ["name", "phone", "address", "employer"],
            consumer_department="CENTER",
            purpose="社保卡申领",
        )
    assert out.values["name"] == "张三"
    assert out.values["employer"] == "福州软件园"
    assert out.values["phone"] == "13800138000"
    assert out.provenance["phone"]["dataset"] == "hrss_insured"  # PSB's phone is not granted
    assert out.values["address"] == "福建省福州市鼓楼区五四路1号"
    assert out.missing_grants == []
    with city.unit_of_work() as ctx:
        assert (
            datahub.prefill_for_applicant(
                ctx, ID3[:-1] + "0", ["name"], consumer_department="CENTER", purpose="社保卡申领"
            ).found
            is False
        )
        reviews = datahub.list_reviews(ctx)
        for r in reviews:
            datahub.decide_review(ctx, r.id, accept=False, actor="center_wu")
        again = datahub.run_linkage(
            ctx, actor="center_wu", config=LinkageConfig(review_threshold=0.01)
        )
    assert again.review_pending == 0  # decisions are remembered
    assert again.entities == 4


def test_access_log_is_append_only(city: Platform) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    _setup(city)
    _refused(city, HRSS_REVIEWER, ["name"])
    with pytest.raises(DatabaseError), city.unit_of_work() as ctx:
        ctx.session.execute(text("UPDATE datahub_access_log SET outcome = 'allowed'"))
