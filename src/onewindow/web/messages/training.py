"""Training pages: courses, exams in the browser, a head's plan and assignments (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # a learner's page
    "trp_completed": ("已标记为学完。", "Marked as completed."),
    "trp_reason_plan": ("部门培训计划安排", "From your department's training plan"),
    "trp_reason_process_changed": ("流程变更", "The process changed"),
    "trp_exam_open": ("参加考试", "Take the exam"),
    "trp_exam_result": ("查看", "View"),
    "trp_minutes": ("{n} 分钟", "{n} min"),
    "trp_questions": ("{n} 道题", "{n} questions"),
    "trp_passed_chip": ("已通过", "Passed"),
    "trp_failed_chip": ("未通过", "Not passed"),
    "trp_expired_chip": ("超时未交", "Not handed in"),
    "trp_running_chip": ("进行中", "In progress"),
    # a course
    "trp_skill_speed": ("业务熟练度", "speed"),
    "trp_skill_quality": ("办理质量", "quality"),
    "trp_skill_deadlines": ("时限管理", "deadlines"),
    "trp_skill_service": ("服务礼仪", "service"),
    "trp_skill_communication": ("沟通", "communication"),
    "trp_skill_process_change": ("流程变更", "process change"),
    "trp_course_exams": ("本课程的考试", "Exams of this course"),
    "trp_attachments": ("附件", "Attachments"),
    "trp_back_training": ("返回我的培训", "Back to my training"),
    # an exam
    "trp_exam_rules": (
        "共 {count} 道题，限时 {minutes} 分钟，及格线 {mark}%，最多可考 {max} 次。",
        "{count} questions, {minutes} minutes, pass mark {mark}%, at most {max} sittings.",
    ),
    "trp_exam_rules_more": (
        "开始后计时，时间到时答卷自动提交；超时提交的答卷不予接受。",
        "The clock starts when you begin; the paper is handed in when time is up, and a paper "
        "sent after the time is not accepted.",
    ),
    "trp_attempts_used": ("已考 {used} 次，剩余 {left} 次。", "{used} sat, {left} left."),
    "trp_start": ("开始考试", "Start the exam"),
    "trp_continue": ("继续答题", "Continue the paper"),
    "trp_no_attempts": ("考试次数已用完。", "No sittings left."),
    "trp_certified": ("您已通过该考试，证书编号 {number}。", "You passed; certificate {number}."),
    "trp_my_papers": ("我的答卷", "My papers"),
    "trp_paper_no": ("第 {n} 次", "Sitting {n}"),
    "trp_started": ("开始时间", "Started"),
    "trp_result": ("结果", "Result"),
    # taking the paper
    "trp_time_left": ("剩余时间", "Time left"),
    "trp_time_up": ("时间到，正在提交答卷…", "Time is up: handing in the paper…"),
    "trp_due_at": ("须于 {at} 前提交", "Hand in by {at}"),
    "trp_kind_single": ("单选题", "Single choice"),
    "trp_kind_multiple": ("多选题", "Multiple choice"),
    "trp_kind_true_false": ("判断题", "True or false"),
    "trp_submit": ("交卷", "Hand in"),
    "trp_submit_hint": (
        "未作答的题目按答错计分。交卷后不能修改。",
        "Unanswered questions score nothing. A handed-in paper cannot be changed.",
    ),
    "trp_points": ("{n} 分", "{n} pt"),
    # the result
    "trp_result_title": ("考试结果", "Result"),
    "trp_score_line": ("得分 {score}（及格线 {mark}）", "Score {score} (pass mark {mark})"),
    "trp_passed": ("恭喜，您通过了考试。", "Congratulations: you passed."),
    "trp_failed": ("未达到及格线。", "Below the pass mark."),
    "trp_cert_line": ("证书编号：{number}", "Certificate: {number}"),
    "trp_refused_title": ("答卷未被接受", "The paper was not accepted"),
    "trp_expired": (
        "该答卷未在限定时间内提交，不计成绩。",
        "This paper was not handed in within its time and has no score.",
    ),
    "trp_back_exam": ("返回考试", "Back to the exam"),
    # a head's page
    "trp_needs_intro": (
        "以下人员的办理数据与同岗位同事差异明显（稳健 z 分 ≥ 3）。",
        "These colleagues' figures differ markedly from their peers' (robust z ≥ 3).",
    ),
    "trp_propose": ("根据当前需求生成培训计划", "Draft a plan from the current needs"),
    "trp_approve": ("批准计划并分配课程", "Approve the plan and assign its courses"),
    "trp_plan_approved_by": ("{name} 于 {at} 批准", "Approved by {name} on {at}"),
    "trp_plan_no_course": ("暂无对应课程", "no course for this yet"),
    "trp_assign_title": ("分配课程", "Assign a course"),
    "trp_assign_course": ("课程", "Course"),
    "trp_assign_person": ("人员", "Colleague"),
    "trp_assign_due": ("截止日期", "Due on"),
    "trp_assign_reason": ("原因（选填）", "Why (optional)"),
    "trp_assign": ("分配", "Assign"),
    "trp_choose": ("请选择", "Choose"),
    "trp_team_assignments": ("本部门的课程分配", "Courses assigned in the department"),
    "trp_done_proposed": (
        "已生成培训计划，请审核后批准。",
        "A plan was drafted: review it, then approve.",
    ),
    "trp_done_approved": ("计划已批准，课程已分配。", "Plan approved; its courses are assigned."),
    "trp_done_assigned": ("课程已分配。", "Course assigned."),
    "trp_refused": ("未执行", "Not done"),
    "trp_eff_nobody": ("尚无人学完该课程。", "Nobody has completed the course yet."),
    "trp_eff_no_trainees": (
        "学员在培训前后都没有办件，无法比较。",
        "No trainee has work both before and after the course.",
    ),
    "trp_eff_no_controls": (
        "没有可比较的未参训同事。",
        "No comparable colleagues who did not take the course.",
    ),
    "trp_eff_few": (
        "样本人数不足，不作结论：参训 {treated} 人，未参训 {controls} 人（每组至少 {least} 人）。",
        "Too few people to conclude: {treated} trained, {controls} not ({least} of each needed).",
    ),
}
