"""Administration pages (系统管理): staff accounts, service items, the holiday calendar and
setting a password through a one-time link."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "am_tab_staff": ("人员账号", "Staff accounts"),
    "am_tab_calendar": ("节假日安排", "Holiday calendar"),
    # --- staff list and search
    "am_search": ("查找", "Search"),
    "am_search_hint": ("用户名或姓名", "Username or name"),
    "am_search_go": ("查找", "Search"),
    "am_all": ("全部", "All"),
    "am_state": ("账号状态", "Account"),
    "am_active": ("启用", "Active"),
    "am_inactive": ("已停用", "Deactivated"),
    "am_total": ("共 {n} 人 · 第 {page} / {pages} 页", "{n} people · page {page} of {pages}"),
    "am_no_match": ("没有符合条件的人员", "No one matches"),
    "am_pages": ("分页", "Pages"),
    "am_prev": ("上一页", "Previous"),
    "am_next": ("下一页", "Next"),
    "am_create": ("新增人员", "Add a member of staff"),
    "am_create_hint": (
        "新账号没有密码：创建后在其页面生成一次性设置密码链接并交给本人。",
        "A new account has no password: on its page, create a one-time link to set one "
        "and give it to the person.",
    ),
    "am_username_hint": (
        "小写字母开头，可含数字、点、下划线、连字符；创建后不可更改",
        "Starts with a lower-case letter; digits, dot, underscore and hyphen allowed; "
        "cannot be changed later",
    ),
    "am_create_button": ("创建账号", "Create account"),
    "am_staff_created": (
        "账号已创建。请生成设置密码链接交给本人。",
        "Account created. Create a link for them to set a password.",
    ),
    "am_staff_saved": ("已保存。", "Saved."),
    "am_staff_deactivated": (
        "账号已停用：不能再登录，已登录的会话已结束。",
        "Account deactivated: it cannot sign in, and its sessions have ended.",
    ),
    "am_staff_activated": ("账号已启用。", "Account reactivated."),
    # --- one member of staff
    "am_save": ("保存", "Save"),
    "am_discard": ("放弃修改", "Discard changes"),
    "am_account": ("账号", "Account"),
    "am_reset_button": ("生成设置密码链接", "Create a set-password link"),
    "am_reset_hint": (
        "链接 {hours} 小时内有效、只能使用一次；生成新链接后旧链接作废。系统不会显示任何密码。",
        "The link works once within {hours} hours; a new link voids the old one. "
        "No password is ever shown.",
    ),
    "am_reset_issued": ("已为 {name} 生成设置密码链接", "Set-password link created for {name}"),
    "am_reset_once": (
        "此链接只显示这一次，请当面或通过内部渠道交给本人。"
        "有效期 {hours} 小时（至 {at}），只能使用一次。",
        "This link is shown this once: hand it to the person directly or through an internal "
        "channel. It works once, for {hours} hours (until {at}).",
    ),
    "am_reset_link": ("设置密码链接", "Set-password link"),
    "am_deactivate": ("停用账号", "Deactivate account"),
    "am_deactivate_confirm": ("确定停用 {name} 的账号？", "Deactivate {name}'s account?"),
    "am_deactivate_hint": (
        "停用后不能登录，已登录的会话立即结束，未使用的设置密码链接作废。",
        "A deactivated account cannot sign in; its sessions end at once and unused "
        "set-password links stop working.",
    ),
    "am_activate": ("重新启用", "Reactivate"),
    # --- setting a password through the link
    "am_pw_title": ("设置新密码", "Set a new password"),
    "am_pw_for": ("账号：{name}（{username}）", "Account: {name} ({username})"),
    "am_pw_new": ("新密码", "New password"),
    "am_pw_confirm": ("再次输入新密码", "New password again"),
    "am_pw_rule": (
        "至少 {n} 个字符，不能与用户名相同",
        "At least {n} characters, not the username",
    ),
    "am_pw_set": ("设置密码", "Set password"),
    "am_pw_done": (
        "密码已设置，请用新密码登录。此链接已失效。",
        "Your password is set; sign in with it. This link no longer works.",
    ),
    # --- service items
    "am_time_limit": ("法定（承诺）时限（工作日）", "Legal time limit (working days)"),
    "am_time_limit_hint": (
        "新申请按新时限计算；已受理的办件保持原办结日期。",
        "New applications count the new limit; cases already accepted keep their deadline.",
    ),
    "am_materials_hint": (
        "必交且不可容缺的材料是核心要件；勾选“可容缺”的必交材料可先承诺后补交（容缺受理）。"
        "编码用于办件记录，已有材料请勿改码。",
        "A required material that may not be promised is a key material; a required one "
        "ticked as promisable may follow later. Codes identify materials on cases, so keep "
        "existing ones.",
    ),
    "am_code": ("编码", "Code"),
    "am_name_zh": ("名称（中文）", "Name (Chinese)"),
    "am_name_en": ("名称（英文）", "Name (English)"),
    "am_key": ("必交", "Required"),
    "am_valid_days": ("有效期（天）", "Valid for (days)"),
    "am_remove": ("删除", "Remove"),
    "am_form": ("申请表字段", "Application form"),
    "am_form_hint": (
        "下拉选择字段请每行填写一个选项。",
        "For a select field, enter one option per line.",
    ),
    "am_field_name": ("字段名", "Field name"),
    "am_label_zh": ("标签（中文）", "Label (Chinese)"),
    "am_label_en": ("标签（英文）", "Label (English)"),
    "am_field_type": ("类型", "Type"),
    "am_options": ("选项（每行一个）", "Options (one a line)"),
    "am_type_string": ("文本", "Text"),
    "am_type_number": ("数字", "Number"),
    "am_type_integer": ("整数", "Whole number"),
    "am_type_boolean": ("是/否", "Yes / no"),
    "am_type_date": ("日期", "Date"),
    "am_type_enum": ("下拉选择", "Select"),
    "am_type_multi": ("多项选择", "Multiple choice"),
    "am_deferrable": ("可容缺", "May be promised"),
    "am_bases": ("不予受理、不予许可的法律依据", "Legal bases for refusal"),
    "am_bases_hint": (
        "拒绝时必须从此列表中引用依据（行政许可法第三十八条）。",
        "A refusal must cite one of these (Administrative Licensing Law, art. 38).",
    ),
    "am_basis_zh": ("依据（中文）", "Basis (Chinese)"),
    "am_basis_en": ("依据（英文）", "Basis (English)"),
    "am_applies_to": ("适用于", "Applies to"),
    "am_refusal_not_accept": ("不予受理", "Not accepting"),
    "am_refusal_reject": ("不予许可/办理", "Rejecting"),
    "am_service_saved": (
        "已保存，新申请即按此办理。",
        "Saved; new applications follow it from now on.",
    ),
    # --- holiday calendar
    "am_cal_enter": ("录入年度节假日安排", "Enter a year's holiday arrangements"),
    "am_cal_hint": (
        "按国务院办公厅每年发布的节假日安排通知填写放假日期和调休上班日期。"
        "保存后替换该年原有安排，新办件的承诺办结日期随即按此计算。",
        "Enter the holidays and make-up working days from the State Council General Office's "
        "yearly notice. Saving replaces that year's days; new cases' deadlines count them at "
        "once.",
    ),
    "am_cal_year": ("年份", "Year"),
    "am_cal_notice": ("通知名称", "Notice"),
    "am_cal_notice_hint": (
        "如：国务院办公厅关于2027年部分节假日安排的通知",
        "e.g. the notice's title and number",
    ),
    "am_cal_notice_text": ("通知原文（可选）", "The notice's text (optional)"),
    "am_cal_notice_text_hint": (
        "粘贴通知正文，如：二、春节：2月6日（农历除夕、周六）至13日放假调休，共8天。2月14日（周日）上班。",
        "Paste the notice as published: its sentences on days off and days worked are read.",
    ),
    "am_cal_extract": ("从原文提取日期", "Take the dates from the text"),
    "am_cal_extracted": (
        "已从原文提取 {h} 段放假、{m} 个调休上班日，请逐行核对后保存。",
        "Took {h} holiday lines and {m} make-up working days from the text; check each line, "
        "then save.",
    ),
    "am_cal_nothing_found": (
        "原文中没有找到“…日至…日放假”样式的日期（年份按 {year} 年理解），"
        "请检查粘贴的内容或直接填写日期。",
        'No "…日至…日放假" dates found in the text (read as {year}); check what was pasted, or '
        "enter the dates below.",
    ),
    "am_cal_year_first": (
        "请先填写年份（2000 至 2100），通知中的月日按该年理解",
        "Enter the year first (2000 to 2100): the notice's days are read in it",
    ),
    "am_cal_holidays": ("放假日期", "Holidays"),
    "am_cal_makeups": ("调休上班日期", "Make-up working days"),
    "am_cal_format": (
        "每行一个日期（2027-01-01）或区间（2027-02-06..2027-02-13，也可写“至”）；"
        "# 后为备注。调休上班日须为周六或周日。",
        "One date (2027-01-01) or range (2027-02-06..2027-02-13) a line; text after # is a "
        "comment. Make-up working days are Saturdays or Sundays.",
    ),
    "am_cal_file": ("或上传文件", "Or upload a file"),
    "am_cal_file_hint": (
        "YAML 文件，含 holidays 和 makeup_workdays 两个列表（与 holidays_cn.yaml 相同格式）。",
        "A YAML file with holidays and makeup_workdays lists (the shape of holidays_cn.yaml).",
    ),
    "am_cal_bad_file": (
        "无法读取上传的文件：应为 UTF-8 编码的 YAML，含 holidays 和 makeup_workdays 列表。",
        "The uploaded file cannot be read: it should be UTF-8 YAML with holidays and "
        "makeup_workdays lists.",
    ),
    "am_cal_save": ("校验并保存", "Check and save"),
    "am_cal_saved": (
        "{year} 年节假日安排已保存，新的办结日期按此计算。",
        "The {year} holidays are saved; new deadlines count them.",
    ),
    "am_cal_years": ("已有年份", "Years on file"),
    "am_cal_holidays_n": ("放假天数", "Holidays"),
    "am_cal_makeups_n": ("调休上班", "Make-up days"),
    "am_cal_source": ("来源", "Source"),
    "am_cal_entered": ("管理员录入", "Entered here"),
    "am_cal_shipped": ("随系统发布", "Shipped with the system"),
    # the audit ledger's name for the kind of entry these pages write
    "au_kind_catalog_changed": ("事项与日历变更", "catalogue changed"),
}
