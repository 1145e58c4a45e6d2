"""A small dict-based translator for the pages: Chinese by default, English on request.

``t(key, **values)`` looks a key up in ``MESSAGES`` and formats it; an unknown key is shown
as itself so a missing translation is visible on the page instead of breaking it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from starlette.requests import HTTPConnection

from onewindow.kit.errors import OneWindowError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
LANG_COOKIE = "lang"

# key: (中文, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # --- frame
    "brand": ("一窗通办", "One-Window Services"),
    "brand_sub": ("政务服务一窗受理平台", "Government service one-window platform"),
    "lang_switch": ("English", "中文"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "nav_home": ("首页", "Home"),
    "nav_desk": ("前台受理", "Front desk"),
    "nav_workbench": ("部门工作台", "Workbench"),
    "nav_portal": ("我的办件", "My applications"),
    "nav_dashboard": ("数据看板", "Dashboard"),
    "nav_feedback": ("好差评与诉求", "Feedback"),
    "nav_training": ("培训", "Training"),
    "board_redesigns": ("流程优化：预测与实测", "Process redesigns: predicted and measured"),
    "board_redesigns_intro": (
        "上线前由仿真预测效果，上线后用真实办件数据对比验证。",
        "Each change was simulated before going live and measured on real cases after.",
    ),
    "board_kpi": ("指标", "Measure"),
    "board_predicted": ("预测变化", "Predicted change"),
    "board_measured": ("实测变化", "Measured change"),
    "board_not_measured": ("待评估", "Not measured yet"),
    "kpi_cycle_median_h": ("办理时长中位数", "Median cycle time"),
    "kpi_trips_per_case": ("每件跑动次数", "Trips per case"),
    "kpi_returns_per_case": ("每件补正次数", "Returns per case"),
    "nav_admin": ("系统管理", "Administration"),
    "nav_main": ("主菜单", "Main menu"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "applicant_user": ("申请人", "Applicant"),
    "footer": (
        "一窗受理 · 一次告知 · 最多跑一次",
        "One window · told everything once · at most one trip",
    ),
    "colon": ("：", ": "),
    "lp": ("（", " ("),
    "rp": ("）", ")"),
    "back_home": ("返回首页", "Back to the home page"),
    # --- landing
    "landing_title": ("政务服务事项", "Government services"),
    "landing_intro": (
        "一窗受理、集成服务：一份申请，材料只交一次，已有电子证照免于提交。",
        "One window, one application: materials are handed in once, and certificates "
        "already on file need not be brought again.",
    ),
    "landing_staff": ("工作人员登录", "Staff sign-in"),
    "landing_staff_hint": (
        "窗口、审批部门与管理人员",
        "Front desk, departments and administrators",
    ),
    "landing_applicant": ("申请人登录", "Applicant sign-in"),
    "landing_applicant_hint": (
        "手机号码 + 短信验证码，查询办件进度、在线补正",
        "Mobile number and SMS code: track cases, hand in missing items",
    ),
    "landing_signed_in": ("您已登录。", "You are signed in."),
    "service_code": ("事项编码", "Code"),
    "service_name": ("事项名称", "Service"),
    "time_limit": ("承诺时限", "Time limit"),
    "workdays": ("{n} 个工作日", "{n} working days"),
    "fee": ("收费", "Fee"),
    "free": ("不收费", "Free"),
    "applicant_kind": ("申请人类型", "Applicant"),
    "kind_person": ("个人", "Person"),
    "kind_business": ("法人", "Business"),
    "kind_any": ("个人或法人", "Person or business"),
    "materials": ("申请材料", "Materials"),
    "materials_count": ("{n} 项", "{n} items"),
    "required": ("必交", "Required"),
    "optional": ("选交", "Optional"),
    "certificate": ("电子证照", "Certificate"),
    # --- sign-in
    "login_title": ("工作人员登录", "Staff sign-in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Sign in"),
    "login_applicant_link": (
        "申请人请使用手机验证码登录",
        "Applicants: sign in with a code sent to your phone",
    ),
    "login_staff_link": ("工作人员登录", "Staff sign-in"),
    "login_missing": ("请输入用户名和密码", "Enter your username and password"),
    "login_expired": (
        "登录页面已过期，请重新提交",
        "The sign-in page expired; please submit again",
    ),
    "portal_login_title": ("申请人登录", "Applicant sign-in"),
    "phone": ("手机号码", "Mobile number"),
    "send_code": ("获取验证码", "Send code"),
    "code": ("验证码", "Code"),
    "code_sent": (
        "验证码已发送至 {phone}，5 分钟内有效。",
        "A code was sent to {phone}; it is valid for 5 minutes.",
    ),
    "verify_button": ("登录", "Sign in"),
    "other_phone": ("更换手机号码", "Use another number"),
    # --- common
    "case_number": ("办件编号", "Case number"),
    "service": ("事项", "Service"),
    "applicant": ("申请人", "Applicant"),
    "applicant_name": ("申请人名称", "Applicant name"),
    "id_number": ("证件号码", "ID number"),
    "id_number_person": ("公民身份号码", "Citizen ID number"),
    "id_number_business": ("统一社会信用代码", "Unified social credit code"),
    "status": ("状态", "Status"),
    "deadline": ("承诺办结日期", "Deadline"),
    "submitted_at": ("提交时间", "Submitted"),
    "channel": ("受理渠道", "Channel"),
    "channel_window": ("窗口", "Front desk"),
    "channel_online": ("网上", "Online"),
    "channel_hotline": ("热线", "Hotline"),
    "returns": ("补正次数", "Returns"),
    "actions": ("操作", "Actions"),
    "open": ("打开", "Open"),
    "download": ("下载", "Download"),
    "none": ("无", "None"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "please_choose": ("请选择", "Choose…"),
    "submit": ("提交", "Submit"),
    "cancel": ("取消", "Cancel"),
    "status_submitted": ("已提交", "Submitted"),
    "status_in_progress": ("办理中", "In progress"),
    "status_returned": ("待补正", "Awaiting supplement"),
    "status_approved": ("已办结（准予）", "Approved"),
    "status_rejected": ("不予许可", "Rejected"),
    "status_not_accepted": ("不予受理", "Not accepted"),
    "problems_intro": ("请更正以下问题：", "Please correct the following:"),
    "files_not_kept": (
        "出于安全原因，浏览器不会保留已选择的文件，请重新选择。",
        "For security, browsers do not keep chosen files: please choose them again.",
    ),
    # --- desk
    "desk_title": ("前台受理", "Front desk"),
    "desk_pick_service": ("选择办理事项", "Choose the service"),
    "desk_take": ("受理", "Take application"),
    "desk_applicant": ("申请人信息", "Applicant"),
    "desk_kind": ("申请人类型", "Applicant type"),
    "desk_phone_hint": ("用于短信通知和申请人登录", "For SMS notices and applicant sign-in"),
    "desk_materials": ("申请材料（一次性告知）", "Materials (all listed at once)"),
    "desk_materials_hint": (
        "已在库且有效的电子证照自动复用（免提交）；其余必交材料请逐项上传（PDF、JPEG、PNG、OFD）。",
        "Valid certificates on file are reused automatically; upload every other required "
        "material (PDF, JPEG, PNG, OFD).",
    ),
    "desk_form": ("申请表", "Application form"),
    "upload_file": ("上传文件", "File"),
    "desk_submit": ("确认受理并出具回执", "Accept and print the receipt"),
    "desk_change_service": ("更换事项", "Change service"),
    "material_state_on_file": ("库中已有，免提交", "On file — reused"),
    "material_state_missing": ("需上传", "Upload needed"),
    "material_state_optional": ("可选", "Optional"),
    "material_state_provided": ("已上传", "Uploaded"),
    "id_ok_person": ("身份证号码校验通过", "Citizen ID number is valid"),
    "id_ok_business": ("统一社会信用代码校验通过", "Credit code is valid"),
    "id_known": (
        "已有申请人档案：{name}，库中证照 {n} 份",
        "Known applicant: {name}, {n} certificate(s) on file",
    ),
    "id_new": ("新申请人", "New applicant"),
    "id_empty": ("请输入证件号码", "Enter the ID number"),
    "missing_all": ("缺少 {n} 项必要材料：{names}", "{n} required material(s) missing: {names}"),
    "kind_mismatch": ("该事项的申请人须为{kind}", "This service is for applicants of type: {kind}"),
    "field_required": ("{label}：必填", "{label}: required"),
    "field_invalid": ("{label}：{problem}", "{label}: {problem}"),
    # --- receipt
    "receipt_title": ("受理回执", "Acknowledgement of receipt"),
    "receipt_issuer": ("政务服务中心", "Government Service Center"),
    "receipt_intro": (
        "您的申请已受理，请凭办件编号查询办理进度。",
        "Your application has been accepted. Use the case number to follow its progress.",
    ),
    "receipt_received": ("已收材料", "Materials received"),
    "receipt_reused": ("免提交（电子证照复用）", "Reused from file (not brought again)"),
    "receipt_accepted_by": ("受理人", "Accepted by"),
    "receipt_print": ("打印回执", "Print"),
    "receipt_download": ("下载回执", "Download"),
    "receipt_next": ("继续受理", "Next application"),
    "receipt_note": (
        "办理进度可登录申请人门户（手机验证码）查询。本回执不作为许可决定。",
        "Progress can be followed in the applicant portal (sign in with a code sent to your "
        "phone). This receipt is not a decision.",
    ),
    "phone_label": ("联系电话", "Phone"),
    # --- workbench
    "wb_title": ("部门工作台", "Department workbench"),
    "wb_queue": ("待办任务（按时限排序）", "Open tasks (most urgent first)"),
    "wb_total": ("待办", "Open"),
    "wb_overdue": ("已超时", "Overdue"),
    "wb_nearing": ("24 小时内到期", "Due within 24 h"),
    "wb_mine": ("我已认领", "Claimed by me"),
    "wb_task": ("环节", "Step"),
    "wb_created": ("到达时间", "Arrived"),
    "wb_sla_due": ("办理时限", "Due"),
    "wb_claimed_by": ("认领人", "Claimed by"),
    "wb_empty": ("当前没有待办任务。", "No open tasks."),
    "wb_done": ("办件 {number} 的任务已办结。", "The task of case {number} is done."),
    "wb_claimed_ok": ("已认领。", "Claimed."),
    "task_title": ("任务办理", "Task"),
    "task_summary": ("办件信息", "Case"),
    "task_form_data": ("申请表内容", "Application form"),
    "task_materials": ("申请材料", "Materials"),
    "task_reused": ("复用", "Reused"),
    "task_uploaded": ("上传", "Uploaded"),
    "task_claim": ("认领", "Claim"),
    "task_decide": ("办理", "Decide"),
    "task_approve": ("准予", "Approve"),
    "task_accept": ("受理", "Accept"),
    "task_complete": ("完成", "Complete"),
    "task_reject": ("不予许可", "Reject"),
    "task_send_back": ("退回补正", "Send back"),
    "task_missing": (
        "缺少或需更正的材料（一次性告知，每行一项）",
        "Missing or wrong items (all at once, one per line)",
    ),
    "task_missing_required": (
        "退回补正时须一次性列明所缺材料",
        "List every missing item when sending back",
    ),
    "task_closed": ("该任务已{status}。", "This task is {status}."),
    "task_status_ready": ("待认领", "Ready"),
    "task_status_claimed": ("办理中", "Claimed"),
    "task_status_completed": ("办结", "Completed"),
    "task_status_cancelled": ("取消", "Cancelled"),
    "task_history": ("办理过程", "History"),
    "overdue": ("超时", "Overdue"),
    "nearing": ("临近", "Due soon"),
    "on_track": ("正常", "On track"),
    # --- portal
    "portal_title": ("我的办件", "My applications"),
    "portal_empty": ("该手机号码名下暂无办件。", "No applications for this number yet."),
    "portal_case": ("办件详情", "Case"),
    "portal_timeline": ("办理进度", "Progress"),
    "portal_missing": ("需要补正的材料", "Please hand in"),
    "portal_missing_intro": (
        "审核部门一次性告知您需补正以下材料，请上传后提交：",
        "The reviewing department asks for the following, all at once. Upload them and submit:",
    ),
    "portal_upload": ("上传补正材料", "Upload"),
    "portal_upload_submit": ("提交补正", "Hand in"),
    "portal_upload_none": ("请至少选择一个文件", "Choose at least one file"),
    "portal_supplemented": (
        "补正材料已提交，办件回到审核环节。",
        "Handed in: the case is back with the reviewer.",
    ),
    "portal_nothing_missing": ("当前无需补正。", "Nothing is missing at the moment."),
    "ev_application_submitted": ("提交申请", "Application submitted"),
    "ev_task_claimed": ("{activity} · 开始办理", "{activity} · started"),
    "ev_task_completed": ("{activity} · 办理完成", "{activity} · completed"),
    "ev_case_returned": ("补正通知", "Returned for supplement"),
    "ev_timer_fired": ("{activity} · 计时到期", "{activity} · timer fired"),
    "ev_task_escalated": ("超时督办", "Escalated (overdue)"),
    "ev_case_approved": ("办结（准予）", "Decided: approved"),
    "ev_case_rejected": ("办结（不予许可）", "Decided: rejected"),
    "ev_applicant_completed": ("申请人提交补正材料", "Applicant handed in missing items"),
    # --- dashboard
    "dash_title": ("数据看板", "Dashboard"),
    "dash_total": ("办件总数", "Cases"),
    "dash_overdue_cases": ("超期未办结", "Overdue (open)"),
    "dash_overdue_tasks": ("超时任务", "Overdue tasks"),
    "dash_returns": ("补正总次数", "Returns"),
    "dash_by_status": ("按状态", "By status"),
    "dash_by_service": ("按事项", "By service"),
    "dash_process": ("流程版本", "Process"),
    "dash_export": ("事件日志导出", "Event log export"),
    # --- desk: pre-filled from the data hub (免提交)
    "prefill_from": ("由数据中台预填：{dataset}（{code}）", "Pre-filled from {dataset} ({code})"),
    "prefill_done": (
        "已从数据中台预填 {n} 项，请与申请人核对",
        "{n} value(s) pre-filled from the data hub: check them with the applicant",
    ),
    "prefill_missing": (
        "{n} 个数据资源未向政务服务中心共享，相应项未预填",
        "{n} dataset(s) not shared with the service center: those values were not pre-filled",
    ),
    # --- data for decisions
    "nav_decisions": ("决策分析", "Decisions"),
    "dec_title": ("决策分析：办件与人口", "Data for decisions: cases and population"),
    "dec_intro": (
        "按周、区县和事项统计申请量与超期办件。区县为 GB/T 2260 区划代码：取自申请人主数据的地址，"
        "其次申请表中的地址，再次证件号中的行政区划代码；都没有的计为“未知”。"
        "超期未办结：已过时限仍未办结（待补正期间不计）；超期办结：办结晚于时限。",
        "Applications and overdue cases by week, district and service. The district is a"
        " GB/T 2260 code from the applicant's golden-record address, else an address on the"
        " form, else the area code in the applicant's ID; unknown when none names one."
        " Overdue: still open past the deadline (not while awaiting the applicant's"
        " supplement); closed late: decided after it.",
    ),
    "dec_from": ("起始日期", "From"),
    "dec_to": ("截止日期", "To"),
    "dec_service": ("事项", "Service"),
    "dec_all_services": ("全部事项", "All services"),
    "dec_apply": ("统计", "Show"),
    "dec_week": ("周（周一）", "Week (Monday)"),
    "dec_district": ("区县", "District"),
    "dec_unknown": ("未知", "Unknown"),
    "dec_applications": ("申请量", "Applications"),
    "dec_overdue": ("超期未办结", "Overdue (open)"),
    "dec_closed_late": ("超期办结", "Closed late"),
    "dec_overdue_rate": ("超期率", "Overdue rate"),
    "dec_population": ("主数据人口", "Linked population"),
    "dec_per_10k": ("每万人申请量", "Applications per 10,000"),
    "dec_linked": (
        "{linked}/{total} 件的申请人已关联主数据",
        "{linked} of {total} applications' applicants are linked to a golden record",
    ),
    "dec_by_week": ("按周趋势", "By week"),
    "dec_by_district": ("按区县", "By district"),
    "dec_by_service": ("按事项", "By service"),
    "dec_detail": ("明细（周 × 区县 × 事项）", "Detail (week × district × service)"),
    "dec_none": ("所选期间没有申请。", "No applications in this period."),
    "dec_chart_label": (
        "每周申请量（柱）与超期办件（深色）",
        "Applications per week (bars) and overdue cases (dark)",
    ),
    # --- admin
    "admin_title": ("系统管理", "Administration"),
    "admin_org": ("部门与人员", "Departments and staff"),
    "admin_services": ("事项与流程", "Services and processes"),
    "admin_tokens": ("接口令牌", "API tokens"),
    "admin_integration": ("对接订阅", "Webhooks"),
    "departments": ("部门", "Departments"),
    "department": ("部门", "Department"),
    "dept_code": ("部门编码", "Code"),
    "dept_name": ("部门名称", "Name"),
    "staff": ("工作人员", "Staff"),
    "staff_count": ("人数", "Staff"),
    "name": ("姓名", "Name"),
    "roles": ("角色", "Roles"),
    "active": ("启用", "Active"),
    "has_password": ("已设密码", "Password set"),
    "process_key": ("流程标识", "Process key"),
    "process_version": ("版本", "Version"),
    "process_name": ("流程名称", "Name"),
    "process_created": ("登记时间", "Registered"),
    "process_in_use": ("在用", "In use"),
    "process_upload": ("上传新流程版本（BPMN）", "Upload a new process version (BPMN)"),
    "process_file": ("BPMN 文件", "BPMN file"),
    "process_dmn": (
        "DMN 决策表（可选，可多选）",
        "DMN decision tables (optional, several allowed)",
    ),
    "process_validate": ("校验并登记", "Validate and register"),
    "process_invalid": (
        "流程文件有 {n} 个问题，未登记：",
        "The process file has {n} problem(s); nothing was registered:",
    ),
    "process_registered": (
        "已登记流程 {key} 第 {version} 版。",
        "Registered {key} version {version}.",
    ),
    "process_unchanged": (
        "内容与已有的第 {version} 版相同，未新增版本。",
        "Same content as version {version}; no new version.",
    ),
    "process_no_file": ("请选择 BPMN 文件", "Choose a BPMN file"),
    "element_id": ("元素 ID", "Element id"),
    "problem": ("问题", "Problem"),
    "token_name": ("名称", "Name"),
    "token_prefix": ("前缀", "Prefix"),
    "token_scopes": ("权限范围", "Scopes"),
    "token_department": ("所属部门", "Department"),
    "token_days": ("有效天数（留空为长期）", "Valid for days (empty: no expiry)"),
    "token_created": ("签发", "Issued"),
    "token_expires": ("到期", "Expires"),
    "token_last_used": ("最近使用", "Last used"),
    "token_state": ("状态", "State"),
    "token_revoked": ("已吊销", "Revoked"),
    "token_valid": ("有效", "Valid"),
    "token_expired": ("已过期", "Expired"),
    "token_issue": ("签发令牌", "Issue token"),
    "token_revoke": ("吊销", "Revoke"),
    "token_shown_once": (
        "令牌只显示这一次，请立即复制保存：",
        "The token is shown this once: copy it now:",
    ),
    "token_revoked_ok": ("令牌已吊销。", "Token revoked."),
    "no_department": ("（不限部门）", "(any department)"),
    "sub_name": ("名称", "Name"),
    "sub_url": ("回调地址", "URL"),
    "sub_topics": ("订阅事件", "Topics"),
    "sub_create": ("新增订阅", "Add subscription"),
    "sub_deactivate": ("停用", "Deactivate"),
    "sub_secret_once": (
        "签名密钥只显示这一次，请立即复制保存：",
        "The signing secret is shown this once: copy it now:",
    ),
    "sub_inactive": ("已停用", "Inactive"),
    "sub_deactivated_ok": ("订阅已停用。", "Subscription deactivated."),
    "dead_letters": ("投递失败消息", "Dead letters"),
    "dl_topic": ("事件", "Topic"),
    "dl_attempts": ("尝试次数", "Attempts"),
    "dl_error": ("最后错误", "Last error"),
    "dl_created": ("产生时间", "Created"),
    "dl_replay": ("重发", "Replay"),
    "dl_replay_all": ("全部重发", "Replay all"),
    "dl_replayed": ("已重新排队 {n} 条消息。", "{n} message(s) queued again."),
    "dl_empty": ("没有投递失败的消息。", "No dead letters."),
    "pending_messages": ("待投递消息：{n}", "Messages waiting: {n}"),
    "integration_unavailable": ("对接模块尚未启用。", "The integration module is not available."),
    # --- errors
    "error_title": ("出错了", "Something went wrong"),
    "error_404_title": ("页面不存在", "Page not found"),
    "error_404_text": (
        "您访问的页面或记录不存在，或您无权查看。",
        "The page or record does not exist, or you may not see it.",
    ),
    "error_403_title": ("无权访问", "Not allowed"),
    "error_code": ("错误代码", "Error code"),
    "error_500_text": ("服务器内部错误，请稍后再试。", "Internal error; please try again later."),
    # training (培训)
    "tr_my_title": ("我的培训", "My training"),
    "tr_my_needs": ("我的培训需求", "My training needs"),
    "tr_my_needs_none": ("暂未发现培训需求。", "No training needs found."),
    "tr_my_courses": ("我的课程", "My courses"),
    "tr_my_courses_none": ("暂无分配的课程。", "No courses assigned."),
    "tr_my_exams": ("我的考试", "My exams"),
    "tr_course": ("课程", "Course"),
    "tr_due": ("截止", "Due"),
    "tr_done": ("已完成", "Done"),
    "tr_mark_done": ("标记为已学完", "Mark as completed"),
    "tr_overdue": ("已逾期", "Overdue"),
    "tr_open": ("待完成", "To do"),
    "tr_reason": ("原因", "Why"),
    "tr_exam": ("考试", "Exam"),
    "tr_pass_mark": ("及格线", "Pass mark"),
    "tr_attempts": ("答卷", "Papers"),
    "tr_score": ("得分", "Score"),
    "tr_certificates": ("证书", "Certificates"),
    "tr_team_title": ("团队培训", "Team training"),
    "tr_team_needs": ("团队培训需求", "Team training needs"),
    "tr_plan": ("培训计划", "Training plan"),
    "tr_plan_none": ("尚无培训计划。", "No plan yet."),
    "tr_plan_status_proposed": ("待批准", "Proposed"),
    "tr_plan_status_approved": ("已批准", "Approved"),
    "tr_effect": ("培训成效（双重差分）", "Training effect (difference-in-differences)"),
    "tr_effect_none": ("暂无可评估的课程。", "No course to evaluate yet."),
    "tr_effect_est": ("效果估计", "Estimate"),
    "tr_effect_ci": ("95% 置信区间", "95% interval"),
    "tr_staff": ("人员", "Staff"),
    "tr_activity": ("环节", "Activity"),
    "tr_metric": ("指标", "Metric"),
    "tr_value": ("本人", "Value"),
    "tr_peer": ("同岗中位", "Peers' median"),
    "tr_zscore": ("稳健 z 分", "Robust z"),
    "tr_cases": ("件数", "Cases"),
    "tr_board_title": ("技能竞赛排行榜", "Competition leaderboard"),
    "tr_rank": ("名次", "Rank"),
    "tr_department": ("部门", "Department"),
    "tr_seconds": ("用时（秒）", "Time (s)"),
    "tr_board_none": ("暂无成绩。", "No results yet."),
    "tr_metric_handling_minutes": ("办理用时（分钟）", "Handling time (min)"),
    "tr_metric_rework_share": ("退回/返工比例", "Rework share"),
    "tr_metric_breach_share": ("超时比例", "Deadline breaches"),
    "tr_metric_bad_rating_share": ("差评比例", "Bad ratings"),
    "tr_stale": ("现行流程中已无此环节", "no longer in any current process"),
    "tr_citywide": ("全市", "City-wide"),
    # --- decisions with reasons (行政许可法 §32, §38)
    "dec_opinion": ("审查意见", "Opinion"),
    "dec_missing_pick": (
        "一次性告知：勾选需补正的全部材料",
        "Tell everything at once: tick every material to hand in again",
    ),
    "dec_note": ("补正说明", "Note to the applicant"),
    "dec_reason": (
        "不予受理/不予许可的理由（将书面告知申请人）",
        "Reasons for the refusal (sent to the applicant in writing)",
    ),
    "dec_legal_basis": ("法律依据", "Legal basis"),
    "dec_legal_basis_other": ("其他（请写明）", "Other (write it out)"),
    "dec_legal_basis_text": ("其他法律依据", "Other legal basis"),
    "dec_confirm_refusal": (
        "我已核实，确认作出不予受理/不予许可决定",
        "I have checked and confirm the refusal",
    ),
    "dec_confirm_required": (
        "作出不予受理或不予许可决定前，请勾选确认",
        "Tick the confirmation before refusing",
    ),
    "dec_refusal_title": ("不予受理/不予许可决定", "Refusal"),
    "dec_kind_accept": ("受理", "Accepted"),
    "dec_kind_approve": ("准予", "Approved"),
    "dec_kind_reject": ("不予许可", "Refused"),
    "dec_kind_not_accept": ("不予受理", "Not accepted"),
    "dec_kind_send_back": ("退回补正", "Sent back for 补正"),
    "dec_kind_done": ("办理", "Done"),
    "dec_rights": (
        "如对本决定不服，可以自知道该决定之日起六十日内向{reconsideration}申请行政复议，"
        "或者自知道之日起六个月内向{court}提起行政诉讼。",
        "If you disagree, you may apply for administrative reconsideration to "
        "{reconsideration} within 60 days of learning of the decision, or bring an "
        "administrative lawsuit before {court} within six months.",
    ),
    "dec_subject": ("诉求/评价内容", "The complaint or rating"),
    "dec_subject_text": ("诉求内容", "Request"),
    "dec_subject_comment": ("评价内容", "Comment"),
    "dec_subject_category": ("问题分类", "Category"),
    "dec_subject_level": ("评价等级", "Rating"),
    "dec_subject_place": ("区域", "Place"),
    "case_kind_application": ("办件", "Application"),
    "case_kind_complaint": ("12345工单", "12345 request"),
    "case_kind_rectification": ("差评整改", "Rectification of a bad rating"),
    "portal_refused": ("办理结果：不予受理或不予许可", "Outcome: refused"),
    "portal_reason": ("理由", "Reasons"),
    "task_not_accept": ("不予受理", "Do not accept"),
    "receipt_title_submitted": ("收件凭证", "Proof of submission"),
    "receipt_pending_acceptance": (
        "材料已收到，待窗口受理。受理后出具《受理通知书》。",
        "Materials received, awaiting acceptance by the window; an acceptance notice follows.",
    ),
    "receipt_go_accept": ("办理窗口受理", "Accept at the window"),
    "documents_title": ("文书", "Documents"),
    "documents_none": ("暂无文书", "No documents yet"),
    "document_download": ("下载 PDF", "Download PDF"),
    "verify_title": ("文书核验", "Verify a document"),
    "verify_intro": (
        "输入文书上的核验码（或扫描二维码），核验文书是否由本平台出具、内容是否被改动。",
        "Enter the code printed on a document (or scan its QR code) to check that the platform "
        "issued it and that it has not been changed.",
    ),
    "verify_genuine": (
        "核验通过：该文书由本平台出具，其摘要已记入不可篡改账本。",
        "Genuine: the platform issued this document; its digest is in the tamper-evident ledger.",
    ),
    "verify_not_genuine": ("核验未通过", "Not verified"),
    "verify_copy_differs": (
        "您上传的文件与出具的文书不一致（内容已被改动）。",
        "The file you uploaded differs from the document issued (it has been changed).",
    ),
    "verify_copy_same": ("与出具的文书完全一致", "Identical to the document issued"),
    "verify_not_in_ledger": (
        "账本中没有该文书的摘要。",
        "The ledger does not hold this document's digest.",
    ),
    "verify_document": ("文书", "Document"),
    "verify_issuer": ("出具机关", "Issued by"),
    "verify_issued_on": ("出具日期", "Issued on"),
    "verify_code": ("核验码", "Verification code"),
    "verify_ledger": ("账本记录", "Ledger entry"),
    "verify_ledger_entry": ("第 {n} 条", "entry {n}"),
    "verify_copy": ("上传文件比对", "Uploaded copy"),
    "verify_upload": ("比对纸质或电子文书", "Compare a copy"),
    "verify_upload_label": ("上传 PDF 文件", "Upload the PDF"),
    "verify_compare": ("比对", "Compare"),
    "verify_check": ("核验", "Verify"),
}


def _merge_area_catalogues() -> None:
    """Add the messages of each page area (``onewindow.web.messages.<area>``) to ``MESSAGES``.

    Each area keeps its strings in its own module so that pages built side by side do not edit
    one dict; a key defined twice is a mistake and fails at import.
    """
    import importlib
    import pkgutil

    from onewindow.web import messages as areas

    for info in sorted(pkgutil.iter_modules(areas.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{areas.__name__}.{info.name}")
        extra: dict[str, tuple[str, str]] = module.MESSAGES
        clash = sorted(MESSAGES.keys() & extra.keys())
        if clash:
            raise RuntimeError(f"message keys defined twice ({info.name}): {', '.join(clash)}")
        MESSAGES.update(extra)


_merge_area_catalogues()

STATUS_KEYS = {
    "submitted": "status_submitted",
    "in_progress": "status_in_progress",
    "returned": "status_returned",
    "approved": "status_approved",
    "rejected": "status_rejected",
    "not_accepted": "status_not_accepted",
}

# Option ids the demo processes use in their forms; others are shown as they are.
OPTION_LABELS: dict[str, tuple[str, str]] = {
    "approve": ("准予", "Approve"),
    "reject": ("不予许可", "Reject"),
    "send_back": ("退回补正", "Send back"),
    "rectify": ("限期整改", "Rectify by a deadline"),
    "not_accept": ("不予受理", "Not accepted"),
    "window": ("窗口领取", "Collect at the window"),
    "post": ("邮寄", "By post"),
    "employment": ("就业", "Employment"),
    "housing": ("住房", "Housing"),
    "study": ("就学", "Study"),
    "person": ("个人", "Person"),
    "business": ("法人", "Business"),
}

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "clerk": ("窗口受理", "Clerk"),
    "reviewer": ("审批", "Reviewer"),
    "head": ("负责人", "Head"),
    "analyst": ("分析", "Analyst"),
    "data_admin": ("数据管理", "Data admin"),
    "auditor": ("审计", "Auditor"),
    "admin": ("系统管理", "Administrator"),
}


def lang_of(conn: HTTPConnection) -> Lang:
    return "en" if conn.cookies.get(LANG_COOKIE) == "en" else "zh"


def translate(lang: Lang, key: str, /, **values: Any) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


def translator(lang: Lang) -> Callable[..., str]:
    def t(key: str, /, **values: Any) -> str:
        return translate(lang, key, **values)

    return t


def pick(lang: Lang, pair: tuple[str, str] | None, fallback: str) -> str:
    if pair is None:
        return fallback
    return pair[1] if lang == "en" else pair[0]


def error_text(lang: Lang, exc: OneWindowError) -> str:
    return exc.message if lang == "en" else exc.message_zh
