"""The director's dashboards and the cases behind each of their numbers (下钻)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "dd_title": ("指标下钻：办件清单", "Cases behind a number"),
    "dd_back_dashboard": ("返回数据看板", "Back to the dashboard"),
    "dd_back_decisions": ("返回决策分析", "Back to data for decisions"),
    "dd_total": ("共 {total} 件", "{total} cases"),
    "dd_none": ("没有符合条件的办件。", "No case matches."),
    "dd_page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "dd_prev": ("上一页", "Previous"),
    "dd_next": ("下一页", "Next"),
    "dd_size": ("每页", "Per page"),
    "dd_pagination": ("分页", "Pages"),
    "dd_number": ("办件编号", "Case number"),
    "dd_service": ("事项", "Service"),
    "dd_status": ("状态", "Status"),
    "dd_submitted": ("提交时间", "Submitted"),
    "dd_deadline": ("承诺办结日", "Deadline"),
    "dd_district": ("区县", "District"),
    "dd_overdue": ("超期", "Overdue"),
    "dd_filters": ("筛选条件", "Filters"),
    "dd_period": ("统计期间 {start} 至 {end}", "Period {start} to {end}"),
    "dd_week": ("周 {week}", "Week of {week}"),
    "dd_open_hint": (
        "点击办件编号查看办件详情。",
        "Click a case number to open the case.",
    ),
    "dd_no_open": (
        "您的角色不能打开办件详情页，清单只列编号。",
        "Your role cannot open case pages; the list shows the numbers only.",
    ),
    # what each metric counts (the list's title); every count is of cases, never of tasks
    "dd_m_cases": ("全部办件", "All cases"),
    "dd_m_status": ("状态为「{status}」的办件", "Cases with status “{status}”"),
    "dd_m_overdue": ("超期未办结的办件", "Cases open past their deadline"),
    "dd_m_overdue_task": (
        "有超时任务的办件（按办件计）",
        "Cases with an overdue task (counted per case)",
    ),
    "dd_m_nearing_task": (
        "有 24 小时内到期任务的办件（按办件计）",
        "Cases with a task due within 24 h (counted per case)",
    ),
    "dd_m_returned": (
        "曾被退回补正的办件（按办件计）",
        "Cases sent back for supplement at least once (counted per case)",
    ),
    "dd_m_period": ("期间内提交的办件", "Cases submitted in the period"),
    "dd_m_period_overdue": (
        "期间内提交、超期未办结的办件",
        "Cases submitted in the period, open past their deadline",
    ),
    "dd_m_period_closed_late": (
        "期间内提交、超期办结的办件",
        "Cases submitted in the period and closed after their deadline",
    ),
    "dd_m_period_linked": (
        "期间内提交、申请人已关联主数据的办件",
        "Cases submitted in the period whose applicant is linked to a golden record",
    ),
    # the dashboard's per-case labels
    "dd_kpi_overdue_task": ("有超时任务的办件", "Cases with an overdue task"),
    "dd_kpi_nearing_task": ("有 24 小时内到期任务的办件", "Cases with a task due within 24 h"),
    "dd_kpi_returned": ("曾退回补正的办件", "Cases sent back at least once"),
    "dd_per_case_note": (
        "所有数字均按办件计（一个办件有多个超时任务也只计一次）；点击数字查看对应办件。",
        "Every number counts cases (a case with several overdue tasks counts once); "
        "click a number to see its cases.",
    ),
    # district sources on the decisions page
    "dd_sources": ("区县来源", "Where the district comes from"),
    "dd_src_record": ("主数据地址", "golden-record address"),
    "dd_src_address": ("申请表地址", "address on the form"),
    "dd_src_id": ("证件号行政区划代码", "area code in the ID"),
    "dd_src_unknown": ("未知", "unknown"),
    "dd_src_note": (
        "区县按 GB/T 2260 行政区划代码确定：优先主数据地址，其次申请表中的地址，"
        "再次身份证号前 6 位或统一社会信用代码第 3–8 位。",
        "Districts are GB/T 2260 codes: from the golden-record address, else an address "
        "on the form, else the first 6 digits of the citizen ID or digits 3–8 of the "
        "credit code.",
    ),
    "dd_assigned": (
        "已确定区县：{n} / {total} 件（{pct}）",
        "District assigned: {n} of {total} cases ({pct})",
    ),
    "dd_zero_week": ("无申请", "no applications"),
}
