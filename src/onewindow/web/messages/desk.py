"""Front desk pages: staged uploads, 容缺受理, service search, today's list, 一次性告知书."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # the form after a failed submission
    "dk_fields_marked": (
        "{n} 处填写有误，已在对应栏目旁标出。",
        "{n} entr(ies) need correcting: each is marked beside its field.",
    ),
    "dk_materials_marked": (
        "缺少 {n} 项必要材料，已在材料表中标出。",
        "{n} required material(s) missing: each is marked in the materials table.",
    ),
    "dk_material_missing": ("必要材料，未提交", "Required, not handed in"),
    "dk_files_kept": (
        "已选择的 {n} 份文件已暂存，重新提交时无须再次选择。",
        "The {n} file(s) already chosen are kept: no need to choose them again.",
    ),
    "dk_staged": ("已暂存", "Kept"),
    "dk_remove": ("移除", "Remove"),
    "dk_replace": ("如需更换，请重新选择文件：", "To replace it, choose another file:"),
    "dk_removed": ("已移除暂存文件。", "The kept file was removed."),
    # 容缺受理
    "dk_promise": (
        "容缺受理：申请人承诺于 {day} 前补交",
        "Accept on promise: the applicant hands it in by {day}",
    ),
    "dk_promises": ("容缺承诺材料", "Materials promised (accepted on promise)"),
    "dk_promise_due": ("承诺补交期限", "Promised by"),
    "dk_promise_state_open": ("待补交", "Awaited"),
    "dk_promise_state_fulfilled": ("已补交", "Handed in"),
    "dk_promise_state_lapsed": ("已逾期", "Overdue"),
    "dk_promise_note": (
        "容缺材料补齐前，本办件不能作出准予决定；逾期未补交的，依法作出不予许可等处理。",
        "Until the promised materials are in, the case cannot be approved; if they are not "
        "handed in by the date, the case may be refused.",
    ),
    "dk_fulfil_title": ("补交容缺材料", "Hand in promised materials"),
    "dk_fulfil": ("补交", "Hand in"),
    # the case's history (workbench case page and portal timeline read ev_<event type>)
    "ev_material_promised": ("容缺受理 · 承诺补交材料", "Accepted on a promise to hand in"),
    "ev_material_promise_fulfilled": ("容缺材料已补交", "Promised material handed in"),
    "ev_material_promise_lapsed": ("容缺承诺逾期未补交", "Promised material overdue"),
    # pick page
    "dk_search": ("搜索事项", "Find a service"),
    "dk_search_label": ("事项编码或名称", "Service code or name"),
    "dk_search_go": ("搜索", "Search"),
    "dk_search_clear": ("清除", "Clear"),
    "dk_search_none": ("没有与“{q}”匹配的事项。", "No service matches “{q}”."),
    "dk_search_count": ("共 {n} 项事项", "{n} service(s)"),
    "dk_today": ("今日受理", "Today's intake"),
    "dk_notice": ("一次性告知书", "One-time notice"),
    # today's list
    "dk_today_title": ("今日受理 · {day}", "Today's intake · {day}"),
    "dk_today_mine": ("只看我受理的", "Only mine"),
    "dk_today_all": ("本中心全部窗口", "All windows"),
    "dk_today_total": ("共 {n} 件", "{n} application(s)"),
    "dk_today_empty": ("今天还没有受理的办件。", "Nothing taken today yet."),
    "dk_today_time": ("时间", "Time"),
    "dk_today_clerk": ("受理人", "Clerk"),
    "dk_page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "dk_prev": ("上一页", "Previous"),
    "dk_next": ("下一页", "Next"),
    "dk_receipt": ("回执", "Receipt"),
    "dk_promised_n": ("容缺 {n} 项", "{n} promised"),
    # 一次性告知书
    "dk_notice_title": ("一次性告知书", "One-time notice of requirements"),
    "dk_notice_intro": (
        "申请办理本事项，须提交以下全部材料并填写申请表。本告知书一次性列明全部要求，"
        "不再另行增加。",
        "To apply for this service, hand in every material below and fill in the application "
        "form. This notice lists every requirement at once; nothing will be added later.",
    ),
    "dk_notice_materials": ("申请材料", "Materials"),
    "dk_notice_form": ("申请表填写项目", "Application form entries"),
    "dk_notice_req": ("必交", "Required"),
    "dk_notice_opt": ("按需提交", "If applicable"),
    "dk_notice_cert": ("电子证照在库有效的，免提交", "Not needed when a valid copy is on file"),
    "dk_notice_deferrable": (
        "可容缺受理（{days} 个工作日内补交）",
        "May be promised (hand in within {days} working days)",
    ),
    "dk_notice_choices": ("可选：{options}", "Choose from: {options}"),
    "dk_notice_print": ("打印告知书", "Print the notice"),
    "dk_notice_issued": ("告知日期", "Date of notice"),
    "dk_notice_signature": ("申请人签收", "Received by the applicant"),
    "dk_notice_back": ("返回受理", "Back to the desk"),
}
