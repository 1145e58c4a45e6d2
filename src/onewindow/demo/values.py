"""Plausible values for the demo city's forms, opinions and refusals.

Faker's zh_CN provider gives good names and phone numbers but Latin-flavoured filler for
everything else; a service hall's data looks like this instead: enterprise names built the way
the name rules build them (行政区划 + 字号 + 行业 + 组织形式), business scopes in the words of
the standard scope catalogue, street addresses, whole-number counts, and refusals that say why.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# The demo city sits on real GB/T 2260 divisions (福州市, 3501xx), as the feedback corpus
# does, so a director's dashboard can place each application in its district.
CITY = "福州市"
DISTRICTS = ("鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "闽侯县")
STREETS = (
    "人民路",
    "解放大道",
    "文化街",
    "滨江路",
    "学府路",
    "中山北路",
    "科创大道",
    "建设路",
    "新华街",
    "环湖东路",
)
TRADE_NAMES = (
    "云帆",
    "启明",
    "瑞丰",
    "青禾",
    "嘉信",
    "恒达",
    "拓新",
    "和润",
    "鼎盛",
    "知行",
    "沐光",
    "星联",
    "安泰",
    "博远",
    "汇通",
)
INDUSTRIES = (
    ("信息科技", ("软件开发", "信息系统集成服务", "技术服务、技术开发、技术咨询、技术交流")),
    ("餐饮管理", ("餐饮服务", "餐饮管理", "食品销售（仅销售预包装食品）")),
    ("商贸", ("日用百货销售", "五金产品零售", "服装服饰零售", "货物进出口")),
    ("文化传媒", ("组织文化艺术交流活动", "广告设计、代理", "会议及展览服务")),
    ("物业服务", ("物业管理", "家政服务", "停车场服务")),
    ("建筑工程", ("建设工程施工", "住宅室内装饰装修", "建筑材料销售")),
    ("咨询", ("企业管理咨询", "财务咨询", "市场营销策划")),
)
COMPANY_FORMS = ("有限公司", "有限责任公司")
BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行")
VENUE_BRANDS = ("悦享", "星河", "金陵", "欢乐谷", "锦江", "时代")
PROJECT_KINDS = ("住宅小区", "商业综合体", "学校教学楼", "产业园厂房", "社区服务中心")


def address(rng: random.Random) -> str:
    building = f"{rng.randint(1, 30)}幢{rng.randint(1, 25):d}0{rng.randint(1, 9)}室"
    return f"{CITY}{rng.choice(DISTRICTS)}{rng.choice(STREETS)}{rng.randint(1, 999)}号{building}"


def company_name(rng: random.Random) -> tuple[str, Sequence[str]]:
    """(name, the trade's business scope items)."""
    trade, scopes = rng.choice(INDUSTRIES)
    return f"{CITY[:2]}{rng.choice(TRADE_NAMES)}{trade}{rng.choice(COMPANY_FORMS)}", scopes


def business_scope(rng: random.Random, scopes: Sequence[str] | None = None) -> str:
    pool = list(scopes) if scopes else [s for _, items in INDUSTRIES for s in items]
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(2, 3)))
    return "；".join(chosen) + "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"


@dataclass(frozen=True)
class Refusal:
    legal_basis: str
    reason: str


# Refusals a reviewer of each service writes, with the legal basis they cite (codes of the
# service's ``legal_bases``).
REFUSALS: dict[str, tuple[Refusal, ...]] = {
    "SAMR-001": (
        Refusal(
            "name_conflict",
            "申请的企业名称与本机关已登记的同行业企业名称相同，请更换字号后重新申请。",
        ),
        Refusal("scope_prohibited", "经营范围中“网络借贷信息中介”属于本市禁止经营的项目。"),
    ),
    "SAMR-002": (
        Refusal("scope_prohibited", "申报的经营范围含有依法禁止个体工商户经营的项目。"),
        Refusal("conditions_not_met", "经营场所为住宅，未提交利害关系业主同意的证明。"),
    ),
    "FIRE-001": (
        Refusal(
            "fire_safety_failed",
            "现场检查发现疏散通道被占用、两处安全出口锁闭，且自动喷水灭火系统未处于正常工作状态。",
        ),
        Refusal(
            "fire_safety_failed", "火灾自动报警系统故障未修复，室内装修材料燃烧性能不符合国家标准。"
        ),
    ),
    "HOUSING-001": (
        Refusal(
            "permit_conditions", "施工图设计文件未经审查合格，不具备申请领取施工许可证的条件。"
        ),
        Refusal("permit_conditions", "建设资金未落实，未提供银行出具的到位资金证明。"),
    ),
    "PSB-001": (
        Refusal(
            "residence_conditions",
            "申请人在本市居住未满半年，且无法提供合法稳定就业、住所或连续就读证明。",
        ),
    ),
    "HRSS-001": (
        Refusal(
            "card_conditions", "申请人已持有有效的社会保障卡，不能重复申领，可办理补换卡业务。"
        ),
    ),
    "HRSS-002": (
        Refusal(
            "pension_conditions",
            "经核查，申请人累计缴费年限不满十五年，暂不符合按月领取基本养老金的条件。",
        ),
        Refusal(
            "pension_conditions", "申请人尚未达到法定退休年龄，特殊工种提前退休材料不符合规定。"
        ),
    ),
}
NOT_ACCEPTED = (
    Refusal("not_competent", "申请事项属于省级部门审批权限，请向省政务服务中心提出申请。"),
    Refusal("not_competent", "申请人住所不在本市，请向住所地登记机关提出申请。"),
)
APPROVE_OPINIONS = ("材料齐全，符合法定条件，同意。", "经审查符合规定，同意。", "同意办理。")
ACCEPT_OPINIONS = ("材料齐全，符合法定形式，予以受理。", "材料齐全，同意受理。")
SEND_BACK_NOTES = (
    "所缺材料请一次性补齐后提交；复印件须加盖公章。",
    "请按一次性告知的清单补正，材料须清晰完整。",
)
RECTIFY_NOTES = (
    "现场消防通道被占用，请限期整改后申请复查。",
    "施工现场围挡与扬尘防治措施不符合要求，请限期整改。",
    "现场与申报图纸不一致，请整改后申请复查。",
)
DONE_OPINIONS = ("已办结。", "已办理完毕。", "已按要求办理。")


def refusal(rng: random.Random, service_code: str, *, at_acceptance: bool) -> Refusal:
    options = NOT_ACCEPTED if at_acceptance else REFUSALS.get(service_code, ())
    if not options:
        return Refusal("conditions_not_met", "经审查，申请不符合法定条件。")
    return rng.choice(options)


def form_value(
    rng: random.Random, field: dict[str, Any], *, today: date, name: str, extra: dict[str, Any]
) -> Any:
    """A value a real applicant would have typed into this form field."""
    kind = field.get("type", "string")
    key = field.get("name", "")
    if key in extra:
        return extra[key]
    if field.get("options") and kind == "multi":
        # The same draws as the free-text scope these fields once were (so a seed still gives
        # the demo city it gave before), kept to the items the form offers.
        options = list(field["options"])
        pool = [s for _, items in INDUSTRIES for s in items]
        picked = rng.sample(pool, k=min(len(pool), rng.randint(2, 3)))
        chosen = set(picked) & set(options) or {options[sum(map(ord, picked[0])) % len(options)]}
        return "；".join(o for o in options if o in chosen)
    if field.get("options"):
        return rng.choice(field["options"])
    if kind == "boolean":
        return rng.random() < 0.2
    if kind == "date":
        return (today + timedelta(days=rng.randint(10, 90))).isoformat()
    if kind == "integer":
        if "years" in key:
            return rng.randint(15, 38)
        if "seal" in key:
            return rng.randint(2, 5)
        if "capacity" in key:
            return rng.choice((50, 80, 120, 200, 300, 500))
        return rng.randint(3, 120)
    if kind == "number":
        if "height" in key:
            return float(rng.choice((12, 18, 24, 36, 54, 80)))
        if "area" in key:
            return float(round(rng.lognormvariate(5.5, 0.8)))
        if "capital" in key or "price" in key:
            return float(rng.choice((10, 30, 50, 100, 200, 500, 1000, 3000)))
        return float(rng.randint(1, 100))
    if "address" in key:
        return address(rng)
    if key in ("company_name", "employer_name", "employer_or_school", "developer_name"):
        return company_name(rng)[0]
    if key == "business_scope":
        return business_scope(rng)
    if key == "business_name":
        return f"{CITY[:2]}{rng.choice(TRADE_NAMES)}便利店"
    if key == "bank_name":
        return rng.choice(BANKS)
    if key == "venue_name":
        return f"{rng.choice(VENUE_BRANDS)}{rng.choice(('大酒店', '影城', 'KTV', '购物中心'))}"
    if key == "project_name":
        return f"{rng.choice(DISTRICTS)}{rng.choice(TRADE_NAMES)}{rng.choice(PROJECT_KINDS)}工程"
    if key == "planning_permit_no":
        return f"建字第{today.year}{rng.randint(1, 99999):05d}号"
    if key.endswith("_name") or key in ("legal_representative", "fire_safety_manager"):
        return name
    return f"{rng.choice(TRADE_NAMES)}{rng.randint(1, 99)}"
