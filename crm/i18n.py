"""The one message catalogue: Simplified Chinese first, English second.

Pages, the CLI and domain errors all look up text here by key, so switching
language changes every word a user sees. Keep keys dotted by area.
`t("key", lang, **params)` formats with str.format; a missing key shows the
key itself, which a test guards against.
"""

from __future__ import annotations

from crm.errors import CrmError

LANGUAGES = {"zh": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"

# key: (zh, en)
MESSAGES: dict[str, tuple[str, str]] = {
    # app shell
    "app.title": ("企服 · {district}企业服务平台", "Qifu · {district} enterprise services"),
    "app.short_title": ("企服", "Qifu"),
    "app.language": ("语言", "Language"),
    "app.logout": ("退出登录", "Log out"),
    "app.signed_in_as": ("{name}（{role}）", "{name} ({role})"),
    "app.error_page": ("页面出错了，已记录。请刷新重试，或联系管理员。",
                       "Something went wrong on this page; it was logged. Reload, "
                       "or contact the administrator."),
    "app.no_database": ("数据库尚未初始化：请先运行 `python -m crm init-db`。",
                        "The database is not initialised: run `python -m crm init-db` first."),
    # login
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误。", "Wrong username or password."),
    "login.locked": ("尝试次数过多，请 {seconds} 秒后再试。",
                     "Too many attempts; try again in {seconds} s."),
    "login.demo_hint": ("演示模式：所有演示账号的密码均为 {password}",
                        "Demo mode: every demo account's password is {password}"),
    # navigation
    "nav.home": ("首页", "Home"),
    "nav.enterprises": ("企业", "Enterprises"),
    "nav.appeals": ("诉求", "Appeals"),
    "nav.users": ("用户管理", "Users"),
    "nav.reference": ("基础数据", "Reference data"),
    "nav.section.work": ("工作台", "Work"),
    "nav.section.admin": ("管理", "Administration"),
    # roles
    "role.liaison": ("街道企业服务专员", "Street liaison"),
    "role.cadre": ("包联干部", "Cadre"),
    "role.handler": ("责任单位经办人", "Handling unit clerk"),
    "role.chamber": ("商会工作人员", "Chamber staff"),
    "role.employment": ("就业服务人员", "Employment services"),
    "role.official": ("区领导/督查", "Official"),
    "role.admin": ("系统管理员", "Administrator"),
    # appeal statuses
    "status.received": ("已受理", "Received"),
    "status.dispatched": ("已派单", "Dispatched"),
    "status.accepted": ("已签收", "Accepted"),
    "status.replied": ("已答复", "Replied"),
    "status.callback": ("已回访", "Called back"),
    "status.archived": ("已归档", "Archived"),
    "status.merged": ("已并单", "Merged"),
    # channels
    "channel.visit": ("走访", "Visit"),
    "channel.phone": ("电话", "Phone"),
    "channel.meeting": ("座谈会", "Meeting"),
    "channel.hotline": ("12345热线", "12345 hotline"),
    "channel.import": ("表格导入", "Import"),
    "channel.online": ("网上", "Online"),
    # satisfaction
    "satisfaction.satisfied": ("满意", "Satisfied"),
    "satisfaction.basic": ("基本满意", "Basically satisfied"),
    "satisfaction.unsatisfied": ("不满意", "Unsatisfied"),
    # home pages
    "home.welcome": ("您好，{name}", "Hello, {name}"),
    "home.my_open_appeals": ("我的在办诉求（按期限排序）", "My open appeals, by due date"),
    "home.unit_inbox": ("本单位待办诉求", "My unit's open appeals"),
    "home.no_open_appeals": ("暂无在办诉求。", "No open appeals."),
    "home.headline": ("全区概况", "District at a glance"),
    "home.enterprises": ("企业数", "Enterprises"),
    "home.appeals_total": ("诉求总数", "Appeals"),
    "home.appeals_open": ("在办", "Open"),
    "home.overdue_open": ("超期未办结", "Overdue open"),
    "home.closed_on_time_rate": ("按期办结率", "Closed on time"),
    "home.satisfaction_rate": ("满意率", "Satisfaction"),
    "home.by_street": ("各镇街诉求", "Appeals by street"),
    "home.my_firms": ("我包联的企业", "My firms"),
    "home.chamber_members": ("本商会会员企业", "Our chamber's member firms"),
    "home.job_fairs": ("招聘会", "Job fairs"),
    "home.reference": ("基础数据", "Reference data"),
    # columns
    "col.code": ("编号", "No."),
    "col.enterprise": ("企业", "Enterprise"),
    "col.uscc": ("统一社会信用代码", "USCC"),
    "col.street": ("镇街", "Street"),
    "col.category": ("类别", "Category"),
    "col.title": ("诉求", "Appeal"),
    "col.status": ("状态", "Status"),
    "col.received_at": ("受理时间", "Received"),
    "col.due_date": ("办理期限", "Due"),
    "col.lead_unit": ("主办单位", "Lead unit"),
    "col.overdue": ("超期", "Overdue"),
    "col.industry": ("行业", "Industry"),
    "col.address": ("地址", "Address"),
    "col.count": ("数量", "Count"),
    # errors
    "error.generic": ("操作失败：{message}", "Failed: {message}"),
    "error.not_found": ("未找到：{message}", "Not found: {message}"),
    "error.named_not_found": ("未找到“{name}”。", "{name!r} not found."),
    "error.street_not_found": ("没有名为“{name}”的镇街。", "No street or town named {name!r}."),
    "error.forbidden": ("无权执行此操作：{message}", "Not allowed: {message}"),
    "error.invalid_transition": ("当前状态下不能执行此操作：{message}",
                                 "Not possible in the current state: {message}"),
    "error.conflict": ("该记录已被他人修改，请刷新后重试。",
                       "Someone else changed this record; reload and try again."),
    "error.validation": ("输入有误：{message}", "Invalid input: {message}"),
    "error.auth": ("登录失败。", "Login failed."),
    # users
    "users.empty_name": ("用户名不能为空。", "The username is empty."),
    "users.bad_role": ("未知角色：{role}", "Unknown role: {role}"),
    "users.exists": ("用户“{name}”已存在。", "User {name!r} exists."),
    "users.scope_needed": ("角色 {role} 需要指定 {scope}。", "Role {role} needs a {scope}."),
    "users.weak_password": ("密码强度不足：{reason}", "Password too weak: {reason}"),
    "users.not_found": ("没有用户“{name}”。", "No user {name!r}."),
    # --- app shell, pages and widgets (crm/ui, pages/) ---
    "app.district": ("重庆市{district}", "{district}, Chongqing"),
    "app.login_required": ("请先登录。", "Please log in first."),
    "app.page_forbidden": ("您的角色无权打开此页面。", "Your role may not open this page."),
    "common.none": ("暂无记录。", "Nothing recorded."),
    "fmt.wan": ("{amount} 万元", "{amount} × 10k yuan"),
    "login.missing": ("请输入用户名和密码。", "Enter a username and a password."),
    "login.demo_accounts": ("演示账号", "Demo accounts"),
    "login.col.username": ("用户名", "Username"),
    "login.col.role": ("角色", "Role"),
    "login.col.scope": ("所属", "Scope"),
    "worklist.overdue_by": ("已超期 {days} 天", "{days} d overdue"),
    "worklist.due_today": ("今日到期", "due today"),
    "worklist.due_in": ("{days} 天后到期", "due in {days} d"),
    "worklist.none": ("暂无诉求。", "No appeals."),
    "home.due_soon": ("{days}日内到期", "Due within {days} days"),
    "home.awaiting_callback": ("待回访", "Awaiting callback"),
    "home.appeals_closed": ("已办结", "Closed"),
    "home.my_firms_count": ("包联企业", "Firms I serve"),
    "home.firms_to_visit": ("久未走访", "Not visited lately"),
    "home.no_firms": ("您目前没有包联企业。", "No firms are assigned to you."),
    "home.financing_needs": ("融资需求", "Financing needs"),
    "home.amount_needed": ("需求金额", "Amount needed"),
    "home.amount_approved": ("已获批", "Approved"),
    "home.amount_disbursed": ("已放款", "Disbursed"),
    "home.needs_by_status": ("融资需求（按状态）", "Financing needs by status"),
    "home.no_fairs": ("暂无招聘会。", "No job fairs yet."),
    "enterprises.title": ("企业", "Enterprises"),
    "enterprises.search": ("按企业名称或统一社会信用代码查找", "Find by name or credit code"),
    "enterprises.search_hint": ("例如：齐祥灯饰、91500105…", "e.g. 齐祥灯饰, 91500105…"),
    "enterprises.showing": ("共 {total} 家，显示 {shown} 家", "{total} found, showing {shown}"),
    "enterprises.none": ("没有符合条件的企业。", "No matching enterprises."),
    "enterprises.pick": ("查看企业详情", "Show a firm"),
    "enterprises.pick_hint": ("选择一家企业", "Choose a firm"),
    "enterprises.not_found": ("未找到该企业，或您无权查看。",
                              "No such firm, or it is outside your scope."),
    "enterprises.above_scale": ("四上企业", "Above-scale (四上)"),
    "enterprises.tab.facts": ("基本信息", "Facts"),
    "enterprises.tab.appeals": ("诉求", "Appeals"),
    "enterprises.tab.service": ("包联与走访", "Assignments & visits"),
    "enterprises.tab.financing": ("融资需求", "Financing"),
    "enterprises.tab.job_fairs": ("招聘会", "Job fairs"),
    "enterprises.contacts": ("联系人", "Contacts"),
    "enterprises.assignments": ("包联关系", "Assignments"),
    "enterprises.visits": ("走访记录", "Visits"),
    "appeals.title": ("诉求", "Appeals"),
    "appeals.filter_status": ("按状态筛选", "Filter by status"),
    "appeals.all_statuses": ("全部状态（{n}）", "All statuses ({n})"),
    "appeals.limited": ("仅显示最近 {limit} 条。", "Showing the latest {limit} only."),
    "users.title": ("用户管理", "Users"),
    "users.add": ("新增用户", "Add a user"),
    "users.add_submit": ("添加", "Add"),
    "users.added": ("已添加用户“{name}”。", "User {name!r} added."),
    "users.password_help": ("至少8位，须同时包含字母和数字；留空则暂不能登录。",
                            "At least 8 characters mixing letters and digits; "
                            "leave empty to add a login that cannot sign in yet."),
    "users.scope_if_needed": ("按角色需要选择", "If the role needs it"),
    "reference.title": ("基础数据", "Reference data"),
    "reference.categories": ("诉求类别与办理时限", "Appeal categories and time limits"),
    "reference.categories_help": ("修改时限只影响此后受理的诉求，已受理诉求的期限不变。",
                                  "A new limit applies to appeals received from now on; "
                                  "existing due dates stay."),
    "reference.save_categories": ("保存时限", "Save limits"),
    "reference.units": ("责任单位", "Handling units"),
    "reference.units_help": ("导入时新出现的单位需确认；可直接修改名称。",
                             "Units first seen in an import need confirming; names can be "
                             "edited in place."),
    "reference.save_units": ("保存单位", "Save units"),
    "reference.saved": ("已保存 {n} 项修改。", "{n} change(s) saved."),
    "admin.only": ("仅系统管理员可执行此操作。", "Administrators only."),
    "admin.bad_limit": ("办理时限须在 {low}–{high} 天之间。",
                        "The time limit must be {low}–{high} days."),
    "admin.category_not_found": ("未找到该诉求类别。", "No such category."),
    "admin.empty_unit_name": ("单位名称不能为空。", "The unit name is empty."),
    "admin.unit_exists": ("单位“{name}”已存在。", "Unit {name!r} exists."),
    "admin.unit_not_found": ("未找到该单位。", "No such unit."),
    # more columns
    "col.urgency": ("提醒", "Alert"),
    "col.name": ("姓名/名称", "Name"),
    "col.username": ("用户名", "Username"),
    "col.role": ("角色", "Role"),
    "col.unit": ("单位", "Unit"),
    "col.unit_kind": ("单位类型", "Kind"),
    "col.chamber": ("商会", "Chamber"),
    "col.active": ("启用", "Active"),
    "col.confirmed": ("已确认", "Confirmed"),
    "col.last_login_at": ("最近登录", "Last login"),
    "col.limit_days": ("办理时限（天）", "Time limit (days)"),
    "col.size": ("规模", "Size"),
    "col.community": ("社区/村", "Community"),
    "col.building": ("楼宇", "Building"),
    "col.legal_rep": ("法定代表人", "Legal representative"),
    "col.registered_on": ("成立日期", "Registered"),
    "col.registered_capital": ("注册资本", "Registered capital"),
    "col.job_title": ("职务", "Title"),
    "col.phone": ("电话", "Phone"),
    "col.satisfaction": ("回访满意度", "Satisfaction"),
    "col.assignment_kind": ("包联方式", "Kind"),
    "col.person": ("人员", "Person"),
    "col.start_date": ("开始日期", "From"),
    "col.end_date": ("结束日期", "Until"),
    "col.since": ("包联起始", "Serving since"),
    "col.last_visit": ("最近走访", "Last visit"),
    "col.days_since_visit": ("距今天数", "Days since"),
    "col.visited_on": ("走访日期", "Visited"),
    "col.way": ("方式", "Way"),
    "col.notes": ("情况记录", "Notes"),
    "col.requested_on": ("提出日期", "Requested"),
    "col.amount_wan": ("金额（万元）", "Amount (10k yuan)"),
    "col.purpose": ("用途", "Purpose"),
    "col.term_months": ("期限（月）", "Term (months)"),
    "col.collateral": ("担保方式", "Collateral"),
    "col.fair": ("招聘会", "Job fair"),
    "col.held_on": ("举办日期", "Held on"),
    "col.place": ("地点", "Place"),
    "col.firms": ("参会企业", "Firms"),
    "col.headcount": ("招聘岗位数", "Openings"),
    "col.applicants": ("投递简历", "Applicants"),
    "col.intents": ("达成意向", "Intents"),
    "col.medical_checks": ("入职体检", "Medical checks"),
    "col.hired": ("入职", "Hired"),
    # labels of stored codes
    "size.large": ("大型", "Large"),
    "size.medium": ("中型", "Medium"),
    "size.small": ("小型", "Small"),
    "size.micro": ("微型", "Micro"),
    "need_status.open": ("待对接", "Open"),
    "need_status.matched": ("已匹配", "Matched"),
    "need_status.funded": ("已融资", "Funded"),
    "need_status.closed": ("已关闭", "Closed"),
    "collateral.credit": ("信用", "Credit"),
    "collateral.mortgage": ("抵押", "Mortgage"),
    "collateral.guarantee": ("担保", "Guarantee"),
    "collateral.pledge": ("质押", "Pledge"),
    "assignment.leader_building": ("班子包楼宇", "Leader ↔ building"),
    "assignment.office_enterprise": ("科室包企业", "Office ↔ firm"),
    "assignment.cadre_enterprise": ("干部一对一", "Cadre one-to-one"),
    "visit_way.onsite": ("实地走访", "On site"),
    "visit_way.phone": ("电话", "Phone"),
    "visit_way.meeting": ("座谈会", "Meeting"),
    "unit_kind.department": ("区级部门", "District department"),
    "unit_kind.street_office": ("街镇科室", "Street office"),
    "unit_kind.enterprise": ("企业", "Enterprise"),
    "unit_kind.other": ("其他", "Other"),
    # appeal workflow errors
    "appeal.bad_channel": ("未知的受理渠道。", "Unknown channel."),
    "appeal.bad_extension": ("延期天数须为 1 至 90 天。", "An extension is 1 to 90 days."),
    "appeal.bad_priority": ("未知的紧急程度。", "Unknown priority."),
    "appeal.bad_satisfaction": ("未知的满意度。", "Unknown satisfaction."),
    "appeal.bad_state": ("诉求当前为“{status}”，不能执行“{action}”。",
                         "Cannot {action} an appeal that is {status}."),
    "appeal.bad_visit": ("该走访记录不属于此企业。", "The visit is not of this firm."),
    "appeal.category_not_found": ("未找到诉求类别。", "Category not found."),
    "appeal.extension_pending": ("已有待审批的延期申请。",
                                 "An extension request is already pending."),
    "appeal.firm_not_found": ("未找到该企业，或不在您的范围内。",
                              "Firm not found, or outside your scope."),
    "appeal.lead_only": ("只有主办单位可以执行此操作。", "Only the lead unit may do this."),
    "appeal.merge_other_firm": ("只能合并同一企业的诉求。",
                                "Only appeals of the same firm can be merged."),
    "appeal.merge_self": ("不能与自身并单。", "An appeal cannot be merged into itself."),
    "appeal.merge_target_final": ("目标诉求已归档或已并单。",
                                  "The target appeal is archived or merged."),
    "appeal.no_pending_extension": ("没有待审批的延期申请。", "No extension request is pending."),
    "appeal.not_found": ("未找到诉求 {id}，或不在您的范围内。",
                         "Appeal {id} not found, or outside your scope."),
    "appeal.note_needed": ("备注不能为空。", "The note is empty."),
    "appeal.reason_needed": ("请填写原因。", "A reason is needed."),
    "appeal.reopen_needs_bad_callback": ("只有回访不满意或未解决的诉求才能重办。",
                                         "Only an unsatisfied or unsolved callback can be "
                                         "reopened."),
    "appeal.reply_needed": ("答复内容不能为空。", "The reply is empty."),
    "appeal.role_forbidden": ("您的角色（{role}）不能执行“{action}”。",
                              "A {role} may not {action}."),
    "appeal.title_needed": ("请填写诉求标题。", "The appeal needs a short title."),
    "appeal.unit_not_found": ("未找到该单位，或已停用。", "Unit not found or inactive."),
    "demo.already_seeded": ("演示数据已加载，请使用新的数据库。",
                            "Demo data is already loaded; use a fresh database."),
    "demo.no_reference": ("请先运行 init-db 加载基础数据。",
                          "Run init-db first to load the reference data."),
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def error_text(err: CrmError, lang: str = DEFAULT_LANGUAGE) -> str:
    """A domain error in the user's language, falling back to its English message."""
    params = {"message": err.message, **err.params}
    if err.key in MESSAGES:
        return t(err.key, lang, **params)
    return err.message or err.key


def label(kind: str, value: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """`label("status", "replied")` → 已答复."""
    if value is None:
        return ""
    key = f"{kind}.{value}"
    return t(key, lang) if key in MESSAGES else value
