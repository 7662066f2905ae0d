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
