"""The one masking policy: every field class per role, the formats of docs/domain.md, free
text and logs."""

from __future__ import annotations

import logging

import pytest

from onewindow.datahub import masking as datahub_masking
from onewindow.security import masking as m
from onewindow.security.schemas import ROLES

SAMPLES = {
    "name": ("张三丰", "张**"),
    "citizen_id": ("11010519491231002X", "110105********002X"),
    "mobile": ("13812345678", "138****5678"),
    "landline": ("091512345679", "0915******79"),
    "bank_card": ("6222021234567893256", "622202*********3256"),
    "address": ("北京市海淀区马连洼街道梅园小区3号楼", "北京市海淀区马连洼街********"),
    "email": ("zhang@example.cn", "z****@example.cn"),
    "free_text": ("联系13812345678", "联系138****5678"),
}


def test_the_table_covers_every_field_class_and_role() -> None:
    assert set(m.POLICY) == set(m.FIELD_CLASSES)
    for row in m.POLICY.values():
        assert set(row) == set(ROLES)


@pytest.mark.parametrize("field_class", m.FIELD_CLASSES)
@pytest.mark.parametrize("role", ROLES)
def test_each_rule_per_role(field_class: str, role: str) -> None:
    plain, masked = SAMPLES[field_class]
    seen = m.show(plain, field_class, {role})
    expected = m.POLICY[field_class][role]
    if expected is m.Visibility.PLAIN:
        assert seen == plain
    elif expected is m.Visibility.NONE:
        assert seen is None
    else:
        assert seen == masked
    assert m.may_unmask(field_class, {role}) is (expected is m.Visibility.MASKED)


def test_domain_examples() -> None:
    assert m.mask_citizen_id("11010519491231002X") == "110105********002X"
    assert m.mask_mobile("13812345678") == "138****5678"
    assert m.mask_landline("09151234579") == "0915*****79"
    assert m.mask_bank_card("6222021234567893256") == "622202*********3256"
    assert m.mask_email("zhang@example.cn") == "z****@example.cn"
    assert m.mask_name("张三") == "张*"
    assert m.mask_address("北京市海淀区马连洼街道一号院") == "北京市海淀区" + "*" * 8


def test_most_open_role_wins_and_unknowns_see_nothing() -> None:
    assert m.show("11010519491231002X", "citizen_id", {"analyst", "clerk"}) == "11010519491231002X"
    assert m.show("x", "citizen_id", {"stranger"}) is None
    assert m.show("x", "unknown_class", {"admin"}) is None


def test_free_text_redaction_checks_digits() -> None:
    text = "身份证11010519491231002X，卡号6222021234567893254，电话13812345678，邮箱a.b@x.cn"
    out = m.redact_text(text)
    for secret in ("11010519491231002X", "6222021234567893254", "13812345678", "a.b@x.cn"):
        assert secret not in out
    assert "110105********002X" in out
    assert "138****5678" in out
    # a number that fails the ID check digit is not an ID (left for the other rules)
    assert m.redact_text("订单110105194912310021") == "订单110105194912310021"
    assert "hunter2" not in m.redact_text("login password=hunter2 ok")


def test_datahub_uses_the_same_policy() -> None:
    roles = frozenset({"analyst"})
    assert datahub_masking.apply("13800138000", "phone", "personal", roles) == "138****8000"
    assert datahub_masking.apply("11010519491231002X", "citizen_id", "sensitive", roles) is None
    assert datahub_masking.MASKS is m.MASKS


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    m.install_log_redaction()
    log = logging.getLogger("onewindow.test")
    with caplog.at_level(logging.INFO):
        log.info("applicant %s phone %s", "11010519491231002X", "13812345678")
    assert "11010519491231002X" not in caplog.text
    assert "13812345678" not in caplog.text
    assert "110105********002X" in caplog.text


def _record(msg: str, args: object) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)  # type: ignore[arg-type]
    m.redact_record(record)
    return record


def test_uvicorns_access_log_formats_a_masked_record() -> None:
    from uvicorn.logging import AccessFormatter

    args = (
        "127.0.0.1:50000",
        "GET",
        "/api/v1/x?phone=13812345678&id=11010519491231002X",
        "1.1",
        404,
    )
    record = _record('%s - "%s %s HTTP/%s" %d', args)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert "13812345678" not in line
    assert "11010519491231002X" not in line
    assert "138****5678" in line
    assert "110105********002X" in line
    assert line.startswith('127.0.0.1:50000 - "GET /api/v1/x?')
    assert line.endswith('HTTP/1.1" 404 Not Found')
    assert record.args[4] == 404  # the status stays a number for the formatter


def test_nothing_to_mask_leaves_the_record_alone() -> None:
    args = ("GET", 200)
    record = _record("%s answered %d", args)
    assert record.msg == "%s answered %d"
    assert record.args is args


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        (
            "login with password=%s by %s",
            ("demo-secret", "zhang"),
            "login with password=****** by zhang",
        ),
        ("phone %d called", (13812345678,), "phone 138****5678 called"),
        (
            "%(who)s phoned from %(phone)s",
            {"who": "li", "phone": "13812345678"},
            "li phoned from 138****5678",
        ),
        ("preformatted 13812345678 100%", (), "preformatted 138****5678 100%"),
        ("100%% of %s", ("13812345678",), "100% of 138****5678"),
    ],
)
def test_masked_records_still_format(msg: str, args: object, shown: str) -> None:
    record = _record(msg, args)
    assert logging.Formatter("%(message)s").format(record) == shown
    if isinstance(args, tuple) and args:
        assert isinstance(record.args, tuple)
        assert len(record.args) == len(args)
