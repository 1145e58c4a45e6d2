"""Personal data on a real database: encrypted at rest, found by blind index, re-encrypted
after rotation, unmasked only with a purpose (and ledgered), the applicant's rights, the
de-identified export, and the hardening headers."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import text

from onewindow.intake import service as intake
from onewindow.intake.schemas import ApplicantIn
from onewindow.kit.platform import Platform
from onewindow.security import crypto, ledger
from onewindow.security import service as security

from .test_api_support import (
    ACCEPT,
    COMPANY,
    applicant,
    application_fields,
    assert_problem,
    material_files,
    staff,
    task_id,
)

PERSON_ID = "11010519491231002X"
PHONE = "13812345678"


def _register(platform: Platform, number: str = PERSON_ID, phone: str = PHONE) -> int:
    with platform.unit_of_work() as ctx:
        a = intake.get_or_register_applicant(ctx, ApplicantIn("person", number, "张三", phone))
        return a.id


def test_identifiers_are_encrypted_at_rest_and_found_by_blind_index(platform: Platform) -> None:
    applicant_id = _register(platform)
    with platform.engine.connect() as conn:
        row = conn.execute(
            text("SELECT id_number, phone, id_number_bidx, key_id FROM applicants WHERE id = :i"),
            {"i": applicant_id},
        ).one()
    assert PERSON_ID not in row[0]
    assert PHONE not in row[1]
    assert row[0].startswith("dev$")
    assert row[3] == "dev"
    assert len(row[2]) == 32
    with platform.unit_of_work() as ctx:
        found = intake.find_applicant(ctx, "person", PERSON_ID)
        assert found is not None
        assert found.id == applicant_id
        assert found.phone == PHONE
        assert [a.id for a in intake.applicants_of_phone(ctx, PHONE)] == [applicant_id]
        assert intake.applicants_of_phone(ctx, "13900000000") == []
    assert _register(platform) == applicant_id  # the unique key is the blind index


def test_rotation_reencrypts_in_the_background(platform: Platform) -> None:
    provider = crypto.EnvelopeKeyProvider.create(secrets.token_bytes(32))
    with crypto.using(crypto.Keyring(provider)):
        first = _register(platform)
        second = _register(platform, "110105194912310038", "13900000001")
        provider.rotate()
        with platform.unit_of_work() as ctx:  # old rows still read while not yet rotated
            assert intake.find_applicant(ctx, "person", PERSON_ID) is not None
        assert security.reencrypt_all(platform, "k2", batch=1) == 2
        with platform.engine.connect() as conn:
            keys = conn.execute(text("SELECT key_id, id_number FROM applicants")).all()
        assert {k for k, _ in keys} == {"k2"}
        assert all(v.startswith("k2$") for _, v in keys)
        with platform.unit_of_work() as ctx:
            a = intake.find_applicant(ctx, "person", "110105194912310038")
            assert a is not None
            assert a.id == second
            assert a.phone == "13900000001"
            assert intake.find_applicant(ctx, "person", PERSON_ID).id == first  # type: ignore[union-attr]


def _person_case(client: Any) -> tuple[Any, str]:
    clerk = staff(client, "center_qian")
    r = clerk.post("/applications", data=application_fields(PHONE), files=material_files())
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
    return clerk, number


def test_unmask_needs_a_purpose_and_is_ledgered(client: Any, city: Platform) -> None:
    _, number = _person_case(client)
    auditor = staff(client, "center_zheng")
    r = auditor.post("/privacy/unmask", json={"application": number, "field": "phone"})
    assert r.status_code == 422
    r = auditor.post(
        "/privacy/unmask", json={"application": number, "field": "phone", "purpose": " "}
    )
    assert_problem(r, 422, "privacy.purpose_required")
    r = auditor.post(
        "/privacy/unmask",
        json={"application": number, "field": "phone", "purpose": "投诉核查 12345-001"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["value"] == PHONE
    assert r.headers["cache-control"] == "no-store"
    clerk = staff(client, "center_qian")  # sees it plainly: nothing to unmask
    r = clerk.post(
        "/privacy/unmask", json={"application": number, "field": "phone", "purpose": "核对身份"}
    )
    assert_problem(r, 403, "privacy.unmask_refused")
    with city.unit_of_work() as ctx:
        entries = [json.loads(e.entry) for e in ledger.entries(ctx.session)]
    unmasked = [e for e in entries if e["kind"] == "field_unmasked"]
    assert len(unmasked) == 1
    assert unmasked[0]["purpose"] == "投诉核查 12345-001"
    assert unmasked[0]["actor"] == "center_zheng"
    assert PHONE not in json.dumps(entries, ensure_ascii=False)


def test_applicant_rights_access_correct_delete(client: Any, city: Platform) -> None:
    _, number = _person_case(client)
    me = applicant(client, PHONE)
    data = me.get("/me/personal-data").json()
    (subject,) = data["subjects"]
    assert subject["applicant"]["id_number"] == COMPANY
    assert subject["applicant"]["phone"] == PHONE
    assert subject["applications"][0]["number"] == number
    r = me.post("/me/corrections", json={"field": "name", "value": "张三丰", "reason": "改名"})
    assert r.status_code == 201, r.text
    assert_problem(
        me.post("/me/corrections", json={"field": "id_number", "value": "x"}),
        422,
        "privacy.field_not_correctable",
    )
    admin = staff(client, "center_zhou")
    (req,) = admin.get("/privacy/requests").json()
    r = admin.post("/privacy/corrections/decide", json={"request_id": req["id"], "accept": True})
    assert r.json()["status"] == "done"
    assert me.get("/me/personal-data").json()["subjects"][0]["applicant"]["name"] == "张三丰"
    answer = me.post("/me/deletion").json()["answers"][0]
    assert answer["deleted"] is False
    assert answer["rule"]["rule"] == "case_files"
    # someone with no case is erased
    _register(city, "110105194912310038", "13900000002")
    other = applicant(client, "13900000002")
    assert other.post("/me/deletion").json()["answers"] == [
        {"deleted": True, "rule": None, "cases": []}
    ]
    with city.unit_of_work() as ctx:
        assert intake.applicants_of_phone(ctx, "13900000002") == []


def test_deidentified_export_refuses_below_k(client: Any) -> None:
    _person_case(client)
    analyst = staff(client, "center_li")
    r = analyst.get("/exports/events-deidentified")
    body = assert_problem(r, 422, "export.k_anonymity")
    assert body["details"]["report"]["smallest_group"] == 1
    r = analyst.get("/exports/events-deidentified", params={"k": 2})
    assert r.status_code == 422


def test_deidentified_export_content(city: Platform) -> None:
    for i in range(3):
        _register(city, "110105194912310038" if i == 0 else PERSON_ID)
    from onewindow.security import deidentify

    with city.unit_of_work() as ctx:
        out = deidentify.deidentified_events(ctx, k=2)  # no cases: nothing to single out
    assert out.rows == []
    assert out.report.passed


def test_security_headers(client: Any) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers
    r = client.get("https://testserver/api/v1/health")
    assert r.headers["strict-transport-security"].startswith("max-age=")
