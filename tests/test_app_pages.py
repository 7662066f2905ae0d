"""Every screen, run headless with Streamlit's AppTest, as every role that may open it.

Each test points the app at a fresh database (SQLite and PostgreSQL) holding a
small world: two streets' firms, users of every role, appeals in several
states, a cadre's firm and visit, a chamber's financing need and a job fair.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import types
from decimal import Decimal

import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from crm import access, auth
from crm.access import SYSTEM
from crm.config import ROOT
from crm.db import session_factory, today
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import MESSAGES, t
from crm.models import (
    Appeal,
    AppealUnit,
    Assignment,
    AuditLog,
    Bank,
    BankProduct,
    Category,
    Chamber,
    Contact,
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    FinancingMatch,
    FinancingNeed,
    JobFair,
    Policy,
    Street,
    Tag,
    Unit,
    User,
    Visit,
)
from crm.services import admin, dashboard, enterprises, users
from crm.ui import login

APP = str(ROOT / "streamlit_app.py")
PAGES = ROOT / "pages"
PASSWORD = "demo1234"
TIMEOUT = 30
ERROR_PAGE = "页面出错了"

# username → (role, street, unit, chamber)
WORLD_USERS = {
    "admin": ("admin", None, None, None),
    "official": ("official", None, None, None),
    "liaison_jbc": ("liaison", "江北城街道", None, None),
    "liaison_dsb": ("liaison", "大石坝街道", None, None),
    "handler_jj": ("handler", None, "区交巡警支队", None),
    "cadre_jbc": ("cadre", "江北城街道", None, None),
    "chamber_dsb": ("chamber", None, None, "大石坝街道商会"),
    "employment": ("employment", None, None, None),
}
ROLE_USER = {"admin": "admin", "official": "official", "liaison": "liaison_jbc",
             "handler": "handler_jj", "cadre": "cadre_jbc", "chamber": "chamber_dsb",
             "employment": "employment"}
SECURITIES = "中信证券重庆江北嘴营业部"
LIGHTING = "重庆齐祥灯饰有限公司"
TECH = "重庆江北嘴数智科技有限公司"
PARKING = "写字楼周边车辆乱停乱放"


def build_world(session, *, passwords: bool = False) -> None:
    """A small district: enough for every home page to have something to show."""
    day = today()
    by_name = {s.name: s for s in session.scalars(select(Street))}
    jbc, dsb = by_name["江北城街道"], by_name["大石坝街道"]
    police = session.scalar(select(Unit).where(Unit.name == "区交巡警支队"))
    chamber = Chamber(name="大石坝街道商会", street_id=dsb.id, founded_on=dt.date(2019, 6, 1))
    session.add(chamber)
    session.flush()
    for username, (role, street, unit, chamber_name) in WORLD_USERS.items():
        users.add_user(session, username, role=role, street=street, unit=unit,
                       chamber=chamber_name, display_name=f"演示{username}",
                       password=PASSWORD if passwords else None, actor=SYSTEM)
    firms = {}
    for name, uscc, street in ((SECURITIES, "91500105MA5U7TEST1", jbc),
                               (TECH, "91500105MA5U7TEST2", jbc),
                               (LIGHTING, "91500105MA5U7TEST3", dsb)):
        firms[name] = Enterprise(name=name, uscc=uscc, street_id=street.id, industry="金融业",
                                 size="medium", address=f"{street.name}某路1号")
        session.add(firms[name])
    session.flush()
    firms[LIGHTING].industry = "制造业"
    firms[LIGHTING].tags.append(session.scalar(select(Tag).where(Tag.name == "民营")))
    firms[LIGHTING].is_above_scale = True
    session.add(Contact(enterprise_id=firms[LIGHTING].id, name="刘经理", phone="13812345678",
                        is_primary=True))
    session.execute(chamber.__table__.metadata.tables["chamber_member"].insert().values(
        chamber_id=chamber.id, enterprise_id=firms[LIGHTING].id))

    cadre = users.get_user(session, "cadre_jbc")
    session.add(Assignment(kind="cadre_enterprise", person_id=cadre.person_id,
                           enterprise_id=firms[SECURITIES].id,
                           start_date=day - dt.timedelta(days=200)))
    session.add(Visit(enterprise_id=firms[SECURITIES].id, person_id=cadre.person_id,
                      visited_on=day - dt.timedelta(days=10), way="onsite", notes="了解停车难"))

    cats = {c.name: c for c in session.scalars(select(Category))}
    now = dt.datetime.combine(day, dt.time(9, 30))

    def appeal(code, firm, cat, status, received_days_ago, *, title, lead=None, **extra):
        received = now - dt.timedelta(days=received_days_ago)
        row = Appeal(code=code, enterprise_id=firms[firm].id, street_id=firms[firm].street_id,
                     category_id=cats[cat].id, channel="visit", title=title, status=status,
                     received_at=received,
                     due_date=received.date() + dt.timedelta(days=cats[cat].limit_days),
                     lead_unit_id=lead.id if lead else None, **extra)
        session.add(row)
        session.flush()
        if lead:
            session.add(AppealUnit(appeal_id=row.id, unit_id=lead.id, role="lead"))
        return row

    appeal("SQ-001", SECURITIES, "交通", "dispatched", 10, title=PARKING, lead=police)
    appeal("SQ-002", TECH, "政策咨询", "received", 0, title="咨询研发费用加计扣除政策")
    appeal("SQ-003", LIGHTING, "融资", "callback", 30, title="流动资金周转困难",
           replied_at=now - dt.timedelta(days=25), solved=True,
           callback_at=now - dt.timedelta(days=24), satisfaction="satisfied",
           callback_solved=True)
    appeal("SQ-004", TECH, "其他", "archived", 40, title="办公楼宇网络接入",
           replied_at=now - dt.timedelta(days=20), solved=True,
           callback_at=now - dt.timedelta(days=19), satisfaction="basic",
           callback_solved=True, archived_at=now - dt.timedelta(days=18))

    need = FinancingNeed(enterprise_id=firms[LIGHTING].id, chamber_id=chamber.id,
                         amount=Decimal("100"), purpose="采购原材料", term_months=12,
                         collateral="credit", requested_on=day - dt.timedelta(days=30))
    bank = Bank(name="重庆农村商业银行")
    session.add(bank)
    session.flush()
    product = BankProduct(bank_id=bank.id, name="渝快贷", active=True)
    session.add_all([need, product])
    session.flush()
    session.add(FinancingMatch(need_id=need.id, product_id=product.id, status="disbursed",
                               approved_amount=Decimal("100"),
                               approved_on=day - dt.timedelta(days=10),
                               disbursed_amount=Decimal("100"),
                               disbursed_on=day - dt.timedelta(days=5)))
    fair = JobFair(name="2022年春风行动招聘会", held_on=dt.date(2022, 3, 1), place="鱼嘴镇",
                   street_id=by_name["鱼嘴镇"].id)
    session.add(fair)
    session.flush()
    part = FairParticipation(fair_id=fair.id, enterprise_id=firms[LIGHTING].id,
                             status="attended")
    position = FairPosition(title="装配工", headcount=20, pay_min=4500, pay_max=6500)
    position.updates.append(FairPositionUpdate(as_of=dt.date(2022, 3, 1), applicants=30,
                                                intents=12, medical_checks=10, hired=8))
    part.positions.append(position)
    session.add(part)
    session.flush()


def _navigation_only(monkeypatch) -> None:
    """Run every AppTest rerun through the router, as a live server does.

    Streamlit still honours its old `pages/` directory convention until the
    first `st.navigation` call of the process switches it off for good; AppTest
    resets that switch before every run, so without this a rerun would execute
    a page file on its own, without the router and its sidebar.
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def world(engine, db_url, monkeypatch):
    """The app's environment: this test's database, Chinese, no demo mode, no delays."""
    _navigation_only(monkeypatch)
    with session_factory(engine).begin() as session:
        build_world(session)
    monkeypatch.setenv("CRM_DATABASE_URL", db_url)
    monkeypatch.delenv("CRM_LANG", raising=False)
    monkeypatch.delenv("CRM_DEMO_MODE", raising=False)
    monkeypatch.setattr(login, "DELAY_PER_FAILURE", 0.0)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield engine
    st.cache_resource.clear()
    st.cache_data.clear()


def actor(engine, username: str) -> auth.Actor:
    with session_factory(engine)() as session:
        return users.actor_of(users.get_user(session, username))


def logged_in(engine, username: str, script: str = APP) -> AppTest:
    at = AppTest.from_file(script, default_timeout=TIMEOUT)
    at.session_state["actor"] = actor(engine, username)
    return at.run()


def page_text(at: AppTest) -> str:
    """Everything a user could read on the page, as one string."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success"):
        parts += [str(el.value) for el in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [t.label for t in at.tabs]
    parts += [df.value.to_string() for df in at.dataframe]
    return as_read("\n".join(parts))


def as_read(markdown: str) -> str:
    """Markdown source as a reader sees it: crm.ui.plain's escapes and breaks removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u200b", "")


# A catalogue key shown as-is ("home.headline") means a message is missing.
RAW_KEY = re.compile(r"\b(?:{})\.[a-z_]+".format("|".join(
    sorted({key.split(".", 1)[0] for key in MESSAGES}, key=len, reverse=True))))


def assert_healthy(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not any(ERROR_PAGE in str(e.value) for e in at.error), [e.value for e in at.error]
    assert not RAW_KEY.findall(page_text(at)), RAW_KEY.findall(page_text(at))


# What each role must see on each page it may open.
EXPECTED = {
    ("liaison", "home"): ["我的在办诉求（按期限排序）", PARKING, "已超期",
                          "咨询研发费用加计扣除政策", "待办队列", "待审批延期 (0)",
                          "被退单 (0)", "导入待派单 (0)", "已超期 (1)"],
    ("handler", "home"): ["本单位待办诉求", PARKING, "已超期", "待签收 (1)", "待答复 (0)"],
    ("cadre", "home"): ["我包联的企业", SECURITIES],
    ("chamber", "home"): ["本商会会员企业", "大石坝街道商会", "100.0 万元"],
    ("employment", "home"): ["招聘会", "2022年春风行动招聘会"],
    ("official", "home"): ["全区概况", "按期办结率 50.0%", "满意率 95.0%", "各镇街诉求",
                           "督办件（超期 3 日以上） (0)"],
    ("admin", "home"): ["全区概况", "诉求总数 4", "督办件（超期 3 日以上） (0)"],
    **{(role, "notifications"): ["通知", "暂无通知。"] for role in ROLE_USER},
    ("liaison", "enterprises"): ["企业", SECURITIES, TECH],
    ("cadre", "enterprises"): [SECURITIES],
    ("handler", "enterprises"): [LIGHTING],
    ("chamber", "enterprises"): [LIGHTING],
    ("employment", "enterprises"): [LIGHTING],
    ("official", "enterprises"): [LIGHTING, SECURITIES],
    ("admin", "enterprises"): [LIGHTING, SECURITIES],
    ("liaison", "appeals"): ["诉求", "已派单", PARKING],
    ("handler", "appeals"): [PARKING],
    ("cadre", "appeals"): [PARKING],
    ("official", "appeals"): ["已归档", "办公楼宇网络接入"],
    ("admin", "appeals"): ["已回访", "流动资金周转困难"],
    ("admin", "users"): ["用户管理", "liaison_jbc", "街道企业服务专员"],
    ("liaison", "log_appeal"): ["登记企业诉求"],
    ("cadre", "log_appeal"): ["登记企业诉求"],
    ("admin", "log_appeal"): ["登记企业诉求"],
    ("liaison", "appeal"): ["诉求详情", "请从诉求列表中打开一条诉求。"],
    ("cadre", "appeal"): ["诉求详情"],
    ("handler", "appeal"): ["诉求详情"],
    ("official", "appeal"): ["诉求详情"],
    ("admin", "appeal"): ["诉求详情"],
    ("admin", "odoo"): ["Odoo 同步", "尚未同步过。", "连接与规则"],
    ("admin", "access"): ["权限表", "登记诉求（受理）", "本街道", "诉求流程", "回访不满意或未解决",
                          "招聘会报名与用工需求流程", "已退出", "已满足"],
    ("admin", "reference"): ["诉求类别与办理时限", "责任单位", "政策目录（送政策）",
                             "中小微企业稳岗返还政策"],
    ("cadre", "my_firms"): ["我的包联企业", SECURITIES, "了解停车难", PARKING],
    ("cadre", "visit"): ["记录走访", "走访中收集的诉求"],
    ("liaison", "visit"): ["记录走访"],
    ("admin", "visit"): ["记录走访"],
    ("liaison", "coverage"): ["包联覆盖", "江北城街道", "已有包联干部 1（50.0%）",
                              "演示cadre_jbc"],
    ("official", "coverage"): ["包联覆盖", "企业总数 3", "已有包联干部 1（33.3%）",
                               "四上企业已包联 0/1（0.0%）", "大石坝街道", "演示cadre_jbc"],
    ("admin", "coverage"): ["包联覆盖", "企业总数 3"],
    ("liaison", "assignments"): ["包联分配", SECURITIES, "演示cadre_jbc"],
    ("admin", "assignments"): ["包联分配", SECURITIES],
    ("liaison", "kpi"): ["考核总览", "综合成绩", "镇街排名", "江北城街道", "数字背后的诉求"],
    ("official", "kpi"): ["考核总览", "综合成绩", "月度趋势", "大石坝街道", "数字背后的诉求",
                          "包联覆盖", "已有包联干部 1 / 3"],
    ("admin", "kpi"): ["考核总览", "按期办结率", "超期未办结"],
    ("official", "kpi_breakdown"): ["按单位、类别、月份", "主办单位", "数字背后的诉求"],
    ("admin", "kpi_breakdown"): ["按单位、类别、月份"],
    ("official", "kpi_bulletin"): ["月度通报", "企业诉求办理情况通报", "注：综合成绩"],
    ("admin", "kpi_bulletin"): ["月度通报", "综合成绩"],
    ("admin", "imports"): ["表格导入导出", "空白模板", "导入记录"],
    ("employment", "jobfairs"): ["各场招聘会对比", "2022年春风行动招聘会", "40.0%"],
    ("official", "jobfairs"): ["各场招聘会对比", "2022年春风行动招聘会", "40.0%"],
    ("admin", "jobfairs"): ["各场招聘会对比", "2022年春风行动招聘会"],
    ("liaison", "jobfairs"): ["招聘会"],
    ("employment", "jobfair"): ["2022年春风行动招聘会", "招满率", "40.0%", "招聘漏斗",
                                "各环节流失", "装配工", "办理招聘会"],
    ("official", "jobfair"): ["2022年春风行动招聘会", "招满率", "40.0%", "装配工"],
    ("admin", "jobfair"): ["2022年春风行动招聘会", "招满率"],
    ("liaison", "jobfair"): ["招聘会看板"],
    ("employment", "hiring_needs"): ["用工需求", "直接登记用工需求"],
    ("official", "hiring_needs"): ["用工需求"],
    ("admin", "hiring_needs"): ["用工需求", "由用工类诉求生成"],
    ("liaison", "hiring_needs"): ["用工需求", "直接登记用工需求"],
    ("liaison", "imports"): ["表格导入导出", "空白模板", "导入记录"],
    ("admin", "audit"): ["审计日志", "只增不改"],
    # financing pages (finui); more in tests/test_financing_pages.py
    ("chamber", "financing"): ["融资对接", "大石坝街道商会", "100.0 万元", "登记融资需求"],
    ("official", "financing"): ["融资对接", "只读"],
    ("admin", "financing"): ["融资对接", "登记融资需求"],
    ("chamber", "bank_products"): ["银行产品目录", "重庆农村商业银行", "渝快贷", "新增或修改产品"],
    ("admin", "bank_products"): ["银行产品目录", "渝快贷"],
    ("chamber", "meetings"): ["银企对接会", "记录一次对接会"],
    ("official", "meetings"): ["银企对接会"],
    ("admin", "meetings"): ["银企对接会", "记录一次对接会"],
    ("chamber", "financing_kpi"): ["融资成效", "放款金额（万元） 100.0", LIGHTING],
    ("official", "financing_kpi"): ["融资成效", "放款金额（万元） 100.0", "大石坝街道商会",
                                    "重庆农村商业银行"],
    ("admin", "financing_kpi"): ["融资成效", "获批率"],
    # liaisons and cadres read their own firms' financing (street / the firms they serve)
    ("liaison", "financing"): ["融资对接", "只读", "登记融资需求"],
    ("cadre", "financing"): ["融资对接", "只读", "登记融资需求"],
    ("liaison", "meetings"): ["银企对接会"],
    ("cadre", "meetings"): ["银企对接会"],
    ("liaison", "financing_kpi"): ["融资成效", "获批率"],
    ("cadre", "financing_kpi"): ["融资成效", "获批率"],
}
# What each role must NOT see (scope is enforced by the services, not by hiding).
UNEXPECTED = {
    ("liaison", "home"): [LIGHTING],
    ("liaison", "enterprises"): [LIGHTING],
    ("cadre", "enterprises"): [TECH, LIGHTING],
    ("chamber", "enterprises"): [SECURITIES],
    ("handler", "appeals"): ["咨询研发费用加计扣除政策"],
    ("liaison", "appeals"): ["流动资金周转困难"],
    ("liaison", "kpi"): ["大石坝街道"],
    ("liaison", "coverage"): ["大石坝街道"],
    ("liaison", "assignments"): [LIGHTING],
    ("cadre", "my_firms"): [TECH, LIGHTING],
    ("official", "financing"): ["登记融资需求"],  # reads, does not act
    ("official", "meetings"): ["记录一次对接会"],
    ("liaison", "financing"): ["100.0 万元"],  # 江北城街道's firms have no financing
    ("liaison", "financing_kpi"): ["大石坝街道商会", LIGHTING],
    ("cadre", "financing_kpi"): ["大石坝街道商会", LIGHTING],
    ("liaison", "meetings"): ["记录一次对接会"],
    ("liaison", "jobfairs"): ["2022年春风行动招聘会"],
    ("liaison", "jobfair"): ["2022年春风行动招聘会"],
    ("official", "jobfair"): ["办理招聘会"],
}


def test_every_role_has_expectations_for_every_page_it_may_open():
    assert {(role, page) for role, pages in access.ROLE_PAGES.items() for page in pages} \
        == set(EXPECTED)


@pytest.mark.parametrize("role", sorted(access.ROLE_PAGES))
def test_every_page_renders_for_every_role_that_may_see_it(world, role):
    at = logged_in(world, ROLE_USER[role])
    assert_healthy(at)
    sidebar = as_read("\n".join(str(m.value) for m in at.sidebar.markdown))
    assert f"演示{ROLE_USER[role]}" in sidebar
    for page in access.ROLE_PAGES[role]:
        at.switch_page(f"pages/{page}.py").run()
        assert_healthy(at)
        assert f"演示{ROLE_USER[role]}" in as_read("\n".join(str(m.value)
                                                           for m in at.sidebar.markdown))
        text = page_text(at)
        for expected in EXPECTED[(role, page)]:
            assert expected in text, f"{role} on {page}: {expected!r} missing"
        for hidden in UNEXPECTED.get((role, page), []):
            assert hidden not in text, f"{role} on {page}: {hidden!r} is out of scope"


@pytest.mark.parametrize("role", sorted(r for r, pages in access.ROLE_PAGES.items()
                                        if "users" not in pages))
def test_the_router_does_not_offer_a_page_outside_the_role(world, role):
    at = logged_in(world, ROLE_USER[role])
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("pages/users.py")


def test_a_page_reached_directly_refuses_a_role_that_may_not_open_it(world):
    at = logged_in(world, "liaison_jbc", script=str(PAGES / "users.py"))
    assert not at.exception
    assert "您的角色无权打开此页面。" in [e.value for e in at.error]
    assert not at.dataframe
    at = logged_in(world, "chamber_dsb", script=str(PAGES / "appeals.py"))
    assert "您的角色无权打开此页面。" in [e.value for e in at.error]
    at = logged_in(world, "handler_jj", script=str(PAGES / "enterprises.py"))
    assert "您的角色无权打开此页面。" not in [e.value for e in at.error]


def test_a_page_reached_without_logging_in_asks_for_a_login(world):
    at = AppTest.from_file(str(PAGES / "home.py"), default_timeout=TIMEOUT).run()
    assert [w.value for w in at.warning] == ["请先登录。"]


def test_logging_in_with_the_real_form_opens_the_home_page(world):
    with session_factory(world).begin() as session:
        users.set_password(session, "liaison_jbc", PASSWORD, actor=SYSTEM)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_healthy(at)
    assert "登录" in [s.value for s in at.subheader]
    at.text_input(key="login_username").input("liaison_jbc")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert_healthy(at)
    assert at.session_state["actor"].username == "liaison_jbc"
    assert "我的在办诉求（按期限排序）" in page_text(at)


def test_a_wrong_password_shows_an_error_and_is_counted_on_the_account(world):
    with session_factory(world).begin() as session:
        users.set_password(session, "liaison_jbc", PASSWORD, actor=SYSTEM)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="login_username").input("liaison_jbc")
    at.text_input(key="login_password").input("wrong-password1")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    assert "actor" not in at.session_state
    assert at.session_state["login_failures"] == 1
    with session_factory(world)() as session:
        assert users.get_user(session, "liaison_jbc").failed_logins == 1


def test_repeated_failures_lock_the_account_and_say_how_long_to_wait(world):
    with session_factory(world).begin() as session:
        users.set_password(session, "liaison_jbc", PASSWORD, actor=SYSTEM)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for _ in range(auth.FREE_ATTEMPTS + 1):
        at.text_input(key="login_username").input("liaison_jbc")
        at.text_input(key="login_password").input("wrong-password1")
        at.button[0].click().run()
    assert "尝试次数过多" in at.error[0].value


def test_the_browser_session_waits_longer_after_each_failure_up_to_two_seconds():
    assert [login.failure_delay(n) for n in (0, 1, 2, 10)] == [0.0, 0.5, 1.0, 2.0]


def test_demo_mode_lists_the_demo_logins_and_normal_mode_does_not(world, monkeypatch):
    try:
        from crm.demo import DEMO_PASSWORD  # noqa: F401
    except ImportError:  # the demo package is optional; the hint only needs its password
        fake = types.ModuleType("crm.demo")
        fake.DEMO_PASSWORD = PASSWORD
        monkeypatch.setitem(sys.modules, "crm.demo", fake)
    with session_factory(world).begin() as session:
        users.set_password(session, "official", PASSWORD, actor=SYSTEM)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert "演示模式" not in page_text(at)
    monkeypatch.setenv("CRM_DEMO_MODE", "1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    text = page_text(at)
    assert "演示模式" in text and "official" in text


def test_switching_to_english_changes_the_words_on_the_page(world):
    at = logged_in(world, "official")
    at.selectbox(key="lang").set_value("en").run()
    assert_healthy(at)
    text = page_text(at)
    assert "District at a glance" in text and "全区概况" not in text


@pytest.mark.parametrize("username", ["admin", "liaison_jbc", "cadre_jbc", "chamber_dsb",
                                      "employment", "handler_jj"])
def test_every_page_reads_in_english_too(world, username):
    at = logged_in(world, username)
    at.selectbox(key="lang").set_value("en").run()
    for page in access.ROLE_PAGES[at.session_state["actor"].role]:
        at.switch_page(f"pages/{page}.py").run()
        assert_healthy(at)
        assert "Log out" in [b.label for b in at.sidebar.button]


def test_logging_out_returns_to_the_login_form(world):
    at = logged_in(world, "official")
    at.button(key="logout").click().run()
    assert "actor" not in at.session_state
    assert at.text_input(key="login_username") is not None


def test_an_admin_adds_a_user_through_the_form(world):
    at = logged_in(world, "admin")
    at.switch_page("pages/users.py").run()
    at.text_input(key="new_username").input("liaison_gyq")
    at.text_input(key="new_display_name").input("张专员")
    at.selectbox(key="new_role").set_value("liaison")
    at.selectbox(key="new_street").set_value("观音桥街道")
    at.text_input(key="new_password").input("abc12345")
    at.button[0].click().run()
    assert_healthy(at)
    assert "已添加用户“liaison_gyq”。" in [s.value for s in at.success]
    with session_factory(world)() as session:
        assert users.get_user(session, "liaison_gyq").street.name == "观音桥街道"


def test_a_refused_action_shows_the_reason_in_chinese_not_a_traceback(world):
    at = logged_in(world, "admin")
    at.switch_page("pages/users.py").run()
    at.text_input(key="new_username").input("official")
    at.selectbox(key="new_role").set_value("official")
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["用户“official”已存在。"]


def test_an_unexpected_failure_rolls_back_and_shows_a_friendly_message(world, caplog):
    def script():
        from crm.access import SYSTEM
        from crm.services import users
        from crm.ui.actions import run_action

        def half_done(session, *, actor):
            users.add_user(session, "ghost", role="official", actor=SYSTEM)
            raise RuntimeError("secret detail")

        run_action(half_done)

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("app.error_page")]
    assert "secret detail" in caplog.text
    with session_factory(world)() as session, pytest.raises(NotFound):
        users.get_user(session, "ghost")


def test_a_database_that_is_not_migrated_gets_a_plain_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    finally:
        st.cache_resource.clear()
    assert not at.exception
    assert [e.value for e in at.error] == [t("app.no_database")]


def test_a_firm_detail_shows_everything_about_it(world):
    at = logged_in(world, "liaison_dsb")
    at.switch_page("pages/enterprises.py").run()
    at.selectbox(key="ent_pick").set_value(_firm_id(world, LIGHTING)).run()
    assert_healthy(at)
    text = page_text(at)
    for expected in (LIGHTING, "民营", "大石坝街道商会", "刘经理", "流动资金周转困难", "采购原材料",
                     "2022年春风行动招聘会", "四上企业"):
        assert expected in text, expected


def test_the_name_filter_narrows_the_list(world):
    at = logged_in(world, "official")
    at.switch_page("pages/enterprises.py").run()
    at.text_input(key="ent_query").input("齐祥").run()
    text = page_text(at)
    assert LIGHTING in text and SECURITIES not in text
    assert "共 1 家" in text


def test_the_status_filter_shows_only_that_status(world):
    at = logged_in(world, "official")
    at.switch_page("pages/appeals.py").run()
    at.selectbox(key="appeal_status").set_value("archived").run()
    table = at.dataframe[0].value.to_string()
    assert "办公楼宇网络接入" in table and PARKING not in table


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_cadre_logs_a_visit_with_a_policy_and_an_appeal_from_their_firm_list(world):
    at = logged_in(world, "cadre_jbc")
    at.switch_page("pages/my_firms.py").run()
    _button(at, "记录走访").click().run()
    assert_healthy(at)
    at.switch_page("pages/visit.py").run()  # AppTest keeps rerunning the page it switched to
    assert at.selectbox(key="visit_enterprise").value == _firm_id(world, SECURITIES)
    at.text_area(key="visit_notes").input("企业反映停车位不足")
    with session_factory(world)() as session:
        first_policy = session.scalar(select(func.min(Policy.id)))
    at.multiselect(key="visit_policies").select(first_policy)
    at.checkbox(key="visit_raise").check()
    at.text_input(key="visit_appeal_title").input("园区停车位不足")
    _button(at, "保存走访").click().run()
    assert_healthy(at)
    assert "已记录走访。" in [s.value for s in at.success]
    with session_factory(world)() as session:
        visit = session.scalar(select(Visit).where(Visit.notes == "企业反映停车位不足"))
        assert len(visit.policies) == 1
        appeal = session.scalar(select(Appeal).where(Appeal.title == "园区停车位不足"))
        assert (appeal.visit_id, appeal.channel, appeal.status) == (visit.id, "visit",
                                                                    "received")


def test_the_coverage_numbers_open_to_the_firms_behind_them(world):
    at = logged_in(world, "official")
    at.switch_page("pages/coverage.py").run()
    at.selectbox(key="cov_measure").set_value("uncovered").run()
    assert_healthy(at)
    tables = "\n".join(df.value.to_string() for df in at.dataframe)
    assert TECH in tables and LIGHTING in tables and SECURITIES not in tables
    at.selectbox(key="cov_cadre").set_value(_person_id(world, "cadre_jbc")).run()
    assert "了解停车难" in page_text(at)


def test_a_liaison_hands_a_leaving_cadres_firms_to_a_successor(world):
    with session_factory(world).begin() as session:
        users.add_user(session, "cadre_jbc2", role="cadre", street="江北城街道",
                       display_name="接替干部", actor=SYSTEM)
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/assignments.py").run()
    at.selectbox(key="handover_from").set_value(_person_id(world, "cadre_jbc"))
    at.selectbox(key="handover_to").set_value(_person_id(world, "cadre_jbc2"))
    _button(at, "一次移交").click().run()
    assert_healthy(at)
    assert "已移交 1 家企业、0 座楼宇。" in [s.value for s in at.success]
    with session_factory(world)() as session:
        rows = session.execute(select(Assignment.person_id, Assignment.end_date)
                               .where(Assignment.enterprise_id == _firm_id(world, SECURITIES))
                               .order_by(Assignment.id)).all()
    assert [r.person_id for r in rows] == [_person_id(world, "cadre_jbc"),
                                           _person_id(world, "cadre_jbc2")]
    assert rows[0].end_date is not None and rows[1].end_date is None


def _person_id(engine, username: str) -> int:
    with session_factory(engine)() as session:
        return users.get_user(session, username).person_id


def _firm_id(engine, name: str) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(Enterprise.id).where(Enterprise.name == name))


# --- the read services behind the pages, checked on their own ---

def test_the_headline_counts_on_time_replies_and_weighted_satisfaction(world):
    with session_factory(world)() as session:
        numbers = dashboard.headline(session, actor=actor(world, "official"))
    assert (numbers["enterprises"], numbers["appeals"], numbers["open"], numbers["overdue"]) \
        == (3, 4, 2, 1)
    assert numbers["closed_on_time_rate"] == 0.5  # SQ-003 on time, SQ-004 ten days late
    assert numbers["satisfaction_rate"] == pytest.approx((1 + 0.9) / 2)


def test_a_liaison_worklist_is_their_street_only_earliest_due_first(world):
    with session_factory(world)() as session:
        rows = dashboard.my_open_appeals(session, actor=actor(world, "liaison_jbc"))
        counts = dashboard.appeal_counts(session, actor=actor(world, "liaison_jbc"))
    assert [r["title"] for r in rows] == [PARKING, "咨询研发费用加计扣除政策"]
    assert rows[0]["overdue"] and rows[0]["days_left"] == -3
    assert counts == {"open": 2, "overdue": 1, "due_soon": 0, "awaiting_callback": 0}


def test_rates_are_none_when_nothing_was_replied(engine):
    with session_factory(engine)() as session:
        numbers = dashboard.headline(session, actor=auth.Actor(1, "a", "a", "official"))
    assert numbers["closed_on_time_rate"] is None and numbers["satisfaction_rate"] is None


def test_a_firm_outside_the_scope_is_not_found(world):
    with session_factory(world)() as session, pytest.raises(NotFound):
        enterprises.detail(session, _firm_id(world, LIGHTING), actor=actor(world, "liaison_jbc"))


def test_like_wildcards_typed_by_a_user_match_literally(world):
    with session_factory(world)() as session:
        assert enterprises.search(session, "%", actor=actor(world, "official")) == []


def test_an_admin_changes_a_time_limit_and_the_change_is_audited(world):
    with session_factory(world).begin() as session:
        cat = session.scalar(select(Category).where(Category.name == "交通"))
        admin.update_category_limits(session, {cat.id: 5}, actor=actor(world, "admin"))
    with session_factory(world)() as session:
        assert session.get(Category, cat.id).limit_days == 5
        assert session.scalar(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == "category.limit")) == 1


@pytest.mark.parametrize("days", [0, 366, "x"])
def test_a_time_limit_outside_one_to_365_days_is_refused(world, days):
    with session_factory(world)() as session, pytest.raises(ValidationError):
        admin.update_category_limit(session, 1, days, actor=actor(world, "admin"))


def test_only_an_admin_edits_reference_data(world):
    with session_factory(world)() as session:
        with pytest.raises(Forbidden):
            admin.update_category_limit(session, 1, 5, actor=actor(world, "official"))
        with pytest.raises(Forbidden):
            admin.rename_unit(session, 1, "新名称", actor=actor(world, "liaison_jbc"))


def test_an_admin_renames_and_confirms_a_unit_but_not_onto_another_name(world):
    boss = actor(world, "admin")
    with session_factory(world).begin() as session:
        unit = Unit(name="区交警", kind="other", confirmed=False)
        session.add(unit)
        session.flush()
        admin.update_units(session, {unit.id: {"name": " 区 城市管理局 ", "confirmed": True}},
                           actor=boss)
    with session_factory(world)() as session:
        renamed = session.get(Unit, unit.id)
        assert (renamed.name, renamed.confirmed) == ("区 城市管理局", True)
        with pytest.raises(ValidationError):
            admin.rename_unit(session, unit.id, "区交巡警支队", actor=boss)


def test_users_are_listed_only_for_an_admin(world):
    with session_factory(world)() as session:
        assert len(admin.list_users(session, actor=actor(world, "admin"))) == len(WORLD_USERS)
        with pytest.raises(Forbidden):
            admin.list_users(session, actor=actor(world, "official"))


def test_the_world_has_one_user_per_role(world):
    with session_factory(world)() as session:
        roles = set(session.scalars(select(User.role)))
    assert roles == set(access.ROLE_PAGES)


def test_a_liaison_merges_an_unconfirmed_firm_from_the_enterprise_page(world):
    from crm.services.firm_admin import provisional_uscc

    with session_factory(world).begin() as session:
        jbc = session.scalar(select(Street.id).where(Street.name == "江北城街道"))
        shop = Enterprise(uscc=provisional_uscc("中信证券江北嘴"), name="中信证券江北嘴",
                          street_id=jbc, confirmed=False)
        session.add(shop)
        session.flush()
        shop_id = shop.id
        target = session.scalar(select(Enterprise.id).where(Enterprise.name == SECURITIES))
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/enterprises.py").run()
    assert_healthy(at)
    assert "待确认企业" in page_text(at) and "中信证券江北嘴" in page_text(at)
    at.selectbox(key="ent_firms_pick").set_value(shop_id).run()
    at.text_input(key="ent_firms_query").input("中信").run()
    at.selectbox(key="ent_firms_target").set_value(target).run()
    at.button(key="ent_firms_merge").click().run()
    assert_healthy(at)
    with session_factory(world)() as session:
        assert session.get(Enterprise, shop_id) is None
    assert "待确认企业" not in page_text(at)


def test_the_reference_page_lists_unknown_category_words_to_map(world):
    from crm.services import category_words

    at = logged_in(world, "admin")
    at.switch_page("pages/reference.py").run()
    assert_healthy(at)
    text = page_text(at)
    assert "台账中的未知类别词" in text and "导入台账时尚未遇到未知类别词。" in text
    with session_factory(world).begin() as session:
        category_words.record_seen(session, {"绿化": 3})
    at.run()
    assert_healthy(at)
    assert any("绿化" in table.value.to_string() for table in at.dataframe)


def test_employment_records_a_dated_update_on_the_board_and_a_refusal_keeps_the_input(world):
    """The results form refuses intents above applicants with both stages and numbers and
    keeps what was typed; the corrected update moves the funnel as of its day only."""
    at = logged_in(world, "employment")
    at.switch_page("pages/jobfair.py").run()
    assert_healthy(at)
    with session_factory(world)() as session:
        pid = session.scalar(select(FairPosition.id).where(FairPosition.title == "装配工"))
    at.radio(key="fair_section").set_value("result").run()
    at.date_input(key="upd_day").set_value(dt.date(2022, 4, 1))
    at.number_input(key=f"upd_intents_{pid}").set_value(35)
    at.number_input(key=f"upd_hired_{pid}").set_value(9)
    _button(at, "登记").click().run()
    assert_healthy(at)
    assert any("“达成意向”35 人多于“投递简历”30 人" in e.value for e in at.error)
    assert at.number_input(key=f"upd_intents_{pid}").value == 35
    at.number_input(key=f"upd_intents_{pid}").set_value(12)
    _button(at, "登记").click().run()
    assert_healthy(at)
    assert "已登记 2022-04-01 的招聘结果。" in [s.value for s in at.success]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["入职"] == "9" and metrics["招满率"] == "45.0%"
    at.date_input(key="fair_as_of").set_value(dt.date(2022, 3, 31)).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["入职"] == "8" and metrics["招满率"] == "40.0%"


# --- work queues, 催办 / 督办 and notifications (issue 16 items 4 and 5) --------------------

def _escalate(engine, *, due_in: int | None = None) -> dict:
    """Run `escalate` for today; `due_in` first moves 停车's due date to today + that."""
    from crm.services import escalation

    with session_factory(engine).begin() as session:
        if due_in is not None:
            parking = session.scalar(select(Appeal).where(Appeal.code == "SQ-001"))
            parking.due_date = today() + dt.timedelta(days=due_in)
        return escalation.escalate(session, actor=SYSTEM)


def _links(at: AppTest) -> str:
    return "\n".join(df.value.to_string() for df in at.dataframe)


def test_a_liaison_sees_the_returned_appeal_with_its_reason_and_a_link_to_it(world):
    from crm.services import appeals

    with session_factory(world).begin() as session:
        parking = session.scalar(select(Appeal).where(Appeal.code == "SQ-001"))
        appeals.return_appeal(session, parking.id, actor=actor(world, "handler_jj"),
                              reason="不属于本单位职责，请改派")
    at = logged_in(world, "liaison_jbc")
    assert_healthy(at)
    text = page_text(at)
    assert "被退单 (1)" in text and "不属于本单位职责，请改派" in text
    assert "/appeal?code=SQ-001" in _links(at)
    assert "区交巡警支队" in text


def test_a_handler_sees_the_reminder_on_their_item_and_a_notification(world):
    assert _escalate(world, due_in=1)["remind"] == 1
    at = logged_in(world, "handler_jj")
    assert_healthy(at)
    text = page_text(at)
    assert "待签收 (1)" in text and "1日内到期" not in text
    assert "催办" in text and "/appeal?code=SQ-001" in _links(at)
    assert any("未读通知 1 条" in str(link.proto) for link in at.get("page_link"))
    at.switch_page("pages/notifications.py").run()
    assert_healthy(at)
    text = page_text(at)
    assert "未读 1 条" in text and "催办" in text and PARKING in text
    from crm.services import notifications

    with session_factory(world)() as session:
        mine = notifications.list_notifications(session, actor=actor(world, "handler_jj"))
    at.multiselect(key="notifications_pick").select(mine[0]["id"]).run()
    at.button(key="notifications_mark").click().run()
    assert_healthy(at)
    assert "已将 1 条通知标为已读。" in [s.value for s in at.success]
    assert "未读 0 条" in page_text(at) and "已读" in page_text(at)


def test_officials_see_the_supervision_list_and_can_clear_their_notifications(world):
    got = _escalate(world)
    assert got["supervise"] == 1                   # 停车 is 3 days overdue
    at = logged_in(world, "official")
    assert_healthy(at)
    text = page_text(at)
    assert "督办件（超期 3 日以上） (1)" in text and PARKING in text
    at.switch_page("pages/kpi.py").run()                 # the KPI drill-down flags it too
    at.selectbox(key="kpi_drill_measure").select("overdue").run()
    assert_healthy(at)
    drill = next(df.value for df in at.dataframe if "催办/督办" in df.value.columns)
    assert list(drill["催办/督办"]) == ["督办"]
    at.switch_page("pages/notifications.py").run()
    assert "督办" in page_text(at) and "/appeal?code=SQ-001" in _links(at)
    at.button(key="notifications_mark_all").click().run()
    assert_healthy(at)
    assert "已将 1 条通知标为已读。" in [s.value for s in at.success]
    at.toggle(key="notifications_unread_only").set_value(True).run()
    assert "暂无通知。" in page_text(at)
    # the liaison of the street heard of it too; the other street's did not
    with session_factory(world)() as session:
        from crm.services import notifications

        assert notifications.unread_count(session, actor=actor(world, "liaison_jbc")) == 1
        assert notifications.unread_count(session, actor=actor(world, "liaison_dsb")) == 0
