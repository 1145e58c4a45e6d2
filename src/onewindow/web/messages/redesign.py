"""The redesign studio (流程再造工作室): fit, validate, compare proposals, publish."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav_redesign": ("流程再造", "Redesign"),
    "rd_title": ("流程再造工作室", "Redesign studio"),
    "rd_subtitle": (
        "用事项自己的办件日志拟合仿真模型，检验基线是否可信，比较各改革方案（含 95% 置信区间），"
        "再由部门负责人发布为新的流程版本",
        "Fit a simulation from a service's own log, check that its baseline can be trusted, "
        "compare the redesign proposals with 95 % confidence intervals, and have a head "
        "publish one as the next process version",
    ),
    "rd_step1": ("第一步：选择事项并拟合模型", "Step 1: choose a service and fit the model"),
    "rd_step1_done": (
        "基线验证：仿真能否复现真实日志",
        "Baseline validation: does the model reproduce the log",
    ),
    "rd_step2": ("第二步：仿真并比较改革方案", "Step 2: simulate and compare the proposals"),
    "rd_service": ("事项", "Service"),
    "rd_cases": ("每次仿真件数", "Cases per run"),
    "rd_reps": ("重复次数", "Replications"),
    "rd_fit_hint": (
        "使用该事项当前流程版本下的全部日志；至少需要 {n} 件办件",
        "Uses the service's whole log on its current process version; at least {n} cases",
    ),
    "rd_fit_submit": ("拟合并验证", "Fit and validate"),
    "rd_fitting": ("正在拟合…", "Fitting…"),
    "rd_run_analyst_only": (
        "拟合与仿真由数据分析员进行；您可以查看结果",
        "Analysts fit and run the simulations; you can read the results",
    ),
    "rd_recent": ("最近的研究（保留一周）", "Recent studies (kept a week)"),
    "rd_when": ("时间", "When"),
    "rd_baseline": ("基线", "Baseline"),
    "rd_status": ("状态", "Status"),
    "rd_status_fitted": ("已拟合，待仿真", "Fitted, not run"),
    "rd_status_running": ("仿真中", "Running"),
    "rd_status_done": ("已比较", "Compared"),
    "rd_status_failed": ("失败", "Failed"),
    "rd_no_studies": ("暂无研究", "No studies yet"),
    "rd_trust_ok_short": ("可信", "Trusted"),
    "rd_trust_bad_short": ("不可信", "Not trusted"),
    "rd_published_v": ("已发布为 v{v}", "Published as v{v}"),
    "rd_predictions": ("已发布的改革：预测与实测", "Published redesigns: predicted and measured"),
    "rd_predictions_intro": (
        "发布时记录仿真预测；评估期结束后，系统比较变更前后的办件，实测效果列在预测旁（公开看板同样展示）",
        "The prediction is recorded at publication; when the evaluation weeks are over the "
        "cases before and after the change are compared and the measured effect is shown "
        "next to it (also on the public board)",
    ),
    "rd_no_predictions": ("尚未发布任何改革方案", "No redesign published yet"),
    "rd_kpi": ("指标", "Measure"),
    "rd_kpi_cycle_median_h": ("办理时长中位数（工作小时）", "Median cycle time (working h)"),
    "rd_kpi_cycle_p90_h": ("办理时长 P90（工作小时）", "P90 cycle time (working h)"),
    "rd_kpi_trips_per_case": ("每件跑动次数", "Trips per case"),
    "rd_kpi_returns_per_case": ("每件补正次数", "Returns per case"),
    "rd_kpi_wait": ("等待时长：{task}（小时）", "Waiting before {task} (h)"),
    "rd_pred_change": ("预测变化", "Predicted change"),
    "rd_pred_ci": ("预测 95% 区间", "Predicted 95 % interval"),
    "rd_meas_before": ("变更前实测", "Measured before"),
    "rd_meas_after": ("变更后实测", "Measured after"),
    "rd_meas_change": ("实测变化", "Measured change"),
    "rd_not_measured": ("待评估（{weeks} 周后）", "Not measured yet ({weeks} weeks)"),
    "rd_study_facts": (
        "流程 v{version} · 日志 {cases} 件、{events} 条事件（自 {since}）· 拟合人 {by}",
        "Process v{version} · log of {cases} cases, {events} events (since {since}) · "
        "fitted by {by}",
    ),
    "rd_trust_ok": (
        "模型复现了真实日志：各项指标均在容差或单期随机波动之内，预测可以信任。",
        "The model reproduces the real log: every measure is within its tolerance or one "
        "period's chance variation, so its predictions can be trusted.",
    ),
    "rd_trust_bad": ("模型不足以信任。", "Not good enough to trust."),
    "rd_trust_bad_hint": (
        "下表标红的指标超出容差：仿真预测可能偏离实际，请先核对人员、日历和分支概率，再依据预测作决定。",
        "The measures marked below miss their tolerance: predictions may be off. Check staff, "
        "calendar and branch probabilities before deciding on them.",
    ),
    "rd_real": ("真实日志", "Real log"),
    "rd_simulated": ("仿真 [95% 区间]", "Simulated [95 % CI]"),
    "rd_error": ("误差", "Error"),
    "rd_tolerance": ("容差", "Tolerance"),
    "rd_check": ("结论", "Check"),
    "rd_ok": ("通过", "OK"),
    "rd_fail": ("未通过", "Fails"),
    "rd_validation_hint": (
        "仿真按日志中的真实到达时间重放，重复 {reps} 次",
        "The simulation replays the log's real arrivals, {reps} replications",
    ),
    "rd_running": (
        "正在仿真：已完成 {done} / {total} 个场景",
        "Simulating: {done} of {total} scenarios done",
    ),
    "rd_proposing": ("正在生成改革方案…", "Drafting the proposals…"),
    "rd_run_settings": (
        "每个场景仿真 {cases} 件，重复 {reps} 次（共用随机数）",
        "{cases} cases per scenario, {reps} replications (common random numbers)",
    ),
    "rd_run_failed": ("仿真失败：", "The run failed:"),
    "rd_run_submit": ("仿真全部改革方案", "Simulate all proposals"),
    "rd_run_again": ("重新仿真", "Run again"),
    "rd_compare_untrusted": (
        "注意：基线验证未通过，以下预测不足以信任，仅供参考。",
        "Careful: the baseline failed its validation; these predictions are not good enough "
        "to trust.",
    ),
    "rd_compare_intro": (
        "均值与 95% 置信区间；每个场景 {cases} 件、重复 {reps} 次，与基线使用相同随机数",
        "Mean and 95 % confidence interval; {cases} cases, {reps} replications per "
        "scenario, on the baseline's random numbers",
    ),
    "rd_no_proposals": ("没有适用于该流程的改革方案", "No redesign applies to this process"),
    "rd_scenario": ("场景", "Scenario"),
    "rd_baseline_row": ("基线（现行流程）", "Baseline (today)"),
    "rd_change_median": ("中位数变化 [95% 区间]", "Median change [95 % CI]"),
    "rd_open": ("查看流程图", "Open diagram"),
    "rd_publish": ("发布…", "Publish…"),
    "rd_publish_who": (
        "发布须由承办该事项的部门负责人或系统管理员确认",
        "Publishing needs the head of a department working on the service, or an admin",
    ),
    "rd_ci_caption": (
        "办理时长中位数相对基线的变化（点为均值，线为 95% 置信区间；绿色表示确定缩短）",
        "Change of the median cycle time against the baseline (dot: mean, line: 95 % "
        "interval; green: surely shorter)",
    ),
    "rd_proposal_of": (
        "{service} · 基于流程 v{version} 的改革方案",
        "{service} · redesign of process v{version}",
    ),
    "rd_diagram": ("改革后的流程图", "The redesigned process"),
    "rd_diagram_error": ("流程图无法显示", "The diagram cannot be shown"),
    "rd_diagram_added": ("新增的步骤与网关", "Steps and gateways the redesign adds"),
    "rd_changes": ("改动", "Changes"),
    "rd_assumptions": ("假设", "Assumptions"),
    "rd_vs_baseline": ("与基线比较", "Against the baseline"),
    "rd_this": ("本方案", "This proposal"),
    "rd_change": ("变化 [95% 区间]", "Change [95 % CI]"),
    "rd_publish_title": ("确认发布改革方案", "Confirm publishing the redesign"),
    "rd_publish_what": (
        "将“{proposal}”发布为事项“{service}”的新流程版本（当前为 {key} v{version}）。",
        "Publish “{proposal}” as the next process version of “{service}” (today {key} v{version}).",
    ),
    "rd_publish_effect_1": (
        "新申请按新流程办理；在办的办件继续按原版本办结。",
        "New applications run on the new version; running cases finish on theirs.",
    ),
    "rd_publish_effect_2": (
        "仿真预测与变更时间一并记录，不可修改。",
        "The prediction is recorded with the change point and cannot be edited.",
    ),
    "rd_publish_effect_3": (
        "评估期结束后，系统用前后办件比较实测效果，并在公开看板展示。",
        "After the evaluation weeks the measured effect is computed from the cases before "
        "and after, and shown on the public board.",
    ),
    "rd_publish_predicted": (
        "预测办理时长中位数变化：",
        "Predicted change of the median cycle time:",
    ),
    "rd_weeks": ("评估期", "Evaluate after"),
    "rd_weeks_n": ("{n} 周", "{n} weeks"),
    "rd_confirm_box": (
        "我已核对改动与假设，确认发布",
        "I have checked the changes and assumptions and confirm the publication",
    ),
    "rd_confirm_missing": (
        "请勾选确认框后再发布；未做任何更改",
        "Tick the confirmation box to publish; nothing was changed",
    ),
    "rd_publish_confirm": ("确认发布", "Publish"),
    "rd_cancel": ("取消", "Cancel"),
    "rd_published_note": (
        "已发布为新流程版本 v{v}（{by}）；{weeks} 周后比较实测效果。",
        "Published as process version v{v} (by {by}); the measured effect follows after "
        "{weeks} weeks.",
    ),
    "rd_change_parallel": (
        "相互独立的部门审查改为并联办理，不再一个接一个",
        "Independent department steps run in parallel instead of one after another",
    ),
    "rd_change_precheck": (
        "在第一步之前增加在线完整性预审（一次性告知）",
        "An online completeness pre-check before the first step",
    ),
    "rd_change_held_materials": (
        "本市已持有的证照材料（电子证照）不再要求申请人提交",
        "Materials the city already holds are no longer asked for",
    ),
    "rd_change_post_delivery": (
        "办理结果免费寄递或以电子证照送达，申请人无需再跑一次领取",
        "The result is posted or issued electronically: no trip to collect it",
    ),
    "rd_change_move_staff": (
        "从最空闲的岗位调一名工作人员到最忙的岗位",
        "One member of staff moves from the least to the most busy lane",
    ),
    "rd_change_merge": (
        "重复录入同样信息的步骤取消，数据由前一步传递（一次录入）",
        "A step that captures the same data again is dropped (captured once)",
    ),
    "rd_model_notes": ("仿真模型的原始说明（英文）", "The model's own notes"),
}
