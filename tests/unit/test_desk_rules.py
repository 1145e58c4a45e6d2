"""The desk's pure rules: multi-choice values against the form's options, service search,
the choices a form definition must carry. No database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from onewindow.catalog.schemas import FormFieldIn
from onewindow.intake.service import _coerce
from onewindow.web.desk_forms import search_services

SCOPE = {"name": "business_scope", "type": "multi", "options": ["软件开发", "餐饮服务", "物业管理"]}


def test_a_multi_choice_is_kept_in_the_definitions_order() -> None:
    assert _coerce(SCOPE, "物业管理；软件开发") == "软件开发；物业管理"
    assert _coerce(SCOPE, ["餐饮服务", " 软件开发 ", "餐饮服务"]) == "软件开发；餐饮服务"


@pytest.mark.parametrize("value", ["网络借贷；软件开发", "'; DROP TABLE x; --", ["<b>x</b>"]])
def test_a_value_outside_the_options_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not among the options"):
        _coerce(SCOPE, value)


def test_an_enum_outside_its_options_is_refused() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        _coerce({"type": "enum", "options": ["个人独资企业"]}, "跨国集团")


def test_a_choice_field_needs_options_and_labels_for_each() -> None:
    with pytest.raises(ValidationError, match="needs its options"):
        FormFieldIn(name="scope", label_zh="经营范围", label_en="Scope", type="multi")
    with pytest.raises(ValidationError, match="options_en"):
        FormFieldIn(
            name="scope",
            label_zh="x",
            label_en="x",
            type="enum",
            options=["a", "b"],
            options_en=["A"],
        )


def _svc(code: str, zh: str, en: str) -> Any:
    return SimpleNamespace(code=code, name_zh=zh, name_en=en)


def test_service_search_matches_code_and_both_names_in_any_width() -> None:
    services = [
        _svc("SAMR-001", "企业开办（营业执照+税务登记）", "Business start-up bundle"),
        _svc("HRSS-001", "社会保障卡申领", "Social security card"),
    ]
    assert [s.code for s in search_services(services, "营业执照")] == ["SAMR-001"]
    assert [s.code for s in search_services(services, "ＳＡＭＲ")] == ["SAMR-001"]  # full width
    assert [s.code for s in search_services(services, "social CARD")] == ["HRSS-001"]
    assert search_services(services, "") == services
    assert search_services(services, "%' OR 1=1") == []
