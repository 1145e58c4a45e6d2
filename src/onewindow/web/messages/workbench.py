"""Workbench pages: the searchable queue, the case page and a head's actions (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # search and filters
    "wb_search": ("搜索", "Search"),
    "wb_search_label": (
        "办件编号、申请人、企业名称、手机号码或证件号码",
        "Case number, applicant, company, mobile number or ID number",
    ),
    "wb_search_hint": (
        "手机号码和证件号码须完整输入（精确匹配）。",
        "Mobile and ID numbers match only when typed in full.",
    ),
    "wb_filter_service": ("事项", "Service"),
    "wb_filter_status": ("状态", "Status"),
    "wb_filter_due": ("时限", "Due"),
    "wb_filter_scope": ("范围", "Scope"),
    "wb_scope_own": ("本部门待办", "My department's queue"),
    "wb_scope_involved": (
        "本部门经手办件的各部门待办",
        "Open tasks of every department on our cases",
    ),
    "wb_filter_mine": ("只看我认领的", "Only mine"),
    "wb_all": ("全部", "All"),
    "wb_apply": ("筛选", "Apply"),
    "wb_reset": ("清除条件", "Clear"),
    "wb_page_size": ("每页", "Per page"),
    "wb_results": (
        "共 {total} 条，第 {first}–{last} 条",
        "{total} found, showing {first}–{last}",
    ),
    "wb_results_zero": ("共 0 条", "0 found"),
    "wb_no_results": ("没有符合条件的待办任务。", "No open task matches."),
    "wb_page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "wb_prev": ("上一页", "Previous"),
    "wb_next": ("下一页", "Next"),
    "wb_pagination": ("分页", "Pagination"),
    "wb_sort_by": ("排序：{column}", "Sort by {column}"),
    "wb_department": ("部门", "Department"),
    "wb_case": ("办件", "Case"),
    "wb_done_send_back": (
        "办件 {number} 已退回申请人补正。",
        "Case {number} was sent back to the applicant.",
    ),
    "wb_done_reject": (
        "办件 {number} 已作出不予许可决定。",
        "Case {number} was refused.",
    ),
    # who did it, in words
    "wb_who_system": ("系统", "System"),
    "wb_who_applicant": ("申请人", "Applicant"),
    "wb_who_department_system": ("部门系统（{name}）", "Department system ({name})"),
    # a closed task, said as what happened
    "wb_closed_send_back": (
        "该任务已退回申请人补正，等待申请人补交材料。",
        "This task sent the case back to the applicant, who is to hand in the missing items.",
    ),
    "wb_closed_done": ("该任务已由{who}办理完成。", "This task was completed by {who}."),
    "wb_closed_reject": (
        "该任务已作出不予许可（不予受理）决定。",
        "This task refused the application.",
    ),
    "wb_closed_cancelled": (
        "该任务已取消（流程已转到其他环节）。",
        "This task was cancelled (the case moved on).",
    ),
    "wb_open_case": ("办件详情", "Case page"),
    # history in words
    "wb_list_sep": ("、", ", "),
    "wb_ev_task_cancelled": ("{activity} · 已取消", "{activity} · cancelled"),
    "wb_ev_task_reassigned": ("{activity} · 改派", "{activity} · reassigned"),
    "wb_ev_task_transferred": ("{activity} · 转办", "{activity} · transferred"),
    "wb_ev_task_unclaimed": ("{activity} · 收回待认领", "{activity} · taken back"),
    "wb_ev_case_started": ("立案", "Case opened"),
    "wb_ev_case_completed": ("流程结束", "Case closed"),
    "wb_ev_case_not_accepted": ("不予受理", "Not accepted"),
    "wb_ev_message_received": ("收到 {activity}", "Received: {activity}"),
    "wb_ev_document_issued": ("出具文书 · {activity}", "Document issued · {activity}"),
    # the case page
    "wb_case_title": ("办件详情", "Case"),
    "wb_case_closed": ("已结束", "Closed"),
    "wb_case_running": ("办理中", "In progress"),
    "wb_case_where": ("当前环节", "Where it stands"),
    "wb_case_no_open": ("没有待办环节。", "No step is open."),
    "wb_case_timeline": ("办理过程与审查意见", "History and opinions"),
    "wb_diagram": ("流程图", "Process diagram"),
    "wb_diagram_now": ("当前环节", "Current step"),
    "wb_diagram_done": ("已完成", "Done"),
    "wb_diagram_error": ("流程图无法显示。", "The diagram could not be shown."),
    "wb_version": ("版本", "Version"),
    "wb_current": ("当前版本", "Current"),
    "wb_superseded": ("已被替换", "Superseded"),
    "wb_added": ("提交时间", "Handed in"),
    "wb_preview": ("预览", "Preview"),
    # a head's actions
    "wb_head_title": ("负责人操作", "Head's actions"),
    "wb_reassign": ("改派", "Reassign"),
    "wb_reassign_to": ("改派给", "Reassign to"),
    "wb_transfer": ("转办", "Transfer"),
    "wb_transfer_to": ("转办到部门", "Transfer to department"),
    "wb_transfer_fixed": (
        "该环节的办理部门由事项流程确定，不能转办。",
        "The process fixes the department of this step: it cannot be transferred.",
    ),
    "wb_take_back": ("收回（退回待认领）", "Take back (to the queue)"),
    "wb_take_back_confirm": (
        "确定收回该任务？办理人的认领将被取消。",
        "Take this task back? The person working it loses it.",
    ),
    "wb_reason": ("说明（可选）", "Note (optional)"),
    "wb_choose": ("请选择", "Choose"),
    "wb_done_reassigned": ("已改派。", "Reassigned."),
    "wb_done_transferred": ("已转办。", "Transferred."),
    "wb_done_taken_back": (
        "已收回，任务回到待认领。",
        "Taken back: the task is in the queue again.",
    ),
}
