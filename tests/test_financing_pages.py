"""The financing pages in AppTest, on the small world of tests/test_app_pages.py plus a
second bank and two open needs: the chamber's board (propose, every step to the money,
a stale step refused with the input kept, a new need, a withdrawal), the catalogue,
meetings, the KPIs and their drill-down, an appeal of category 融资 made a need, and the
firm page's needs and loans — as the chamber, an official, an admin, and roles the
pages refuse."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.db import session_factory, today
from crm.models import (
    Appeal,
    Bank,
    BankMeeting,
    BankProduct,
    Chamber,
    FinancingMatch,
    FinancingMatchEvent,
    FinancingNeed,
    User,
)
from crm.services import financing
from tests.test_app_pages import (  # noqa: F401 - `world` is a fixture
    LIGHTING,
    PAGES,
    SECURITIES,
    _firm_id,
    actor,
    assert_healthy,
    logged_in,
    page_text,
    world,
)

REFUSED = "您的角色无权打开此页面。"
NEW_NEED = "购置检测设备"


@pytest.fixture
def fin(world):
    """A second bank and product; an urgent open need of the chamber's member firm and an
    open need of a firm outside the chamber."""
    with session_factory(world).begin() as s:
        bank = Bank(name="重庆银行")
        s.add(bank)
        s.flush()
        s.add(BankProduct(bank_id=bank.id, name="好企贷", amount_min=Decimal(10),
                          amount_max=Decimal(500), active=True))
        chamber_id = s.scalar(select(Chamber.id).where(Chamber.name == "大石坝街道商会"))
        mine = financing.add_financing_need(
            s, actor=SYSTEM, enterprise_id=_firm_id(world, LIGHTING), amount=80,
            requested_on=today() - dt.timedelta(days=3), purpose=NEW_NEED, term_months=12,
            collateral="credit", urgency="high", chamber_id=chamber_id)
        other = financing.add_financing_need(
            s, actor=SYSTEM, enterprise_id=_firm_id(world, SECURITIES), amount=300,
            requested_on=today() - dt.timedelta(days=2), purpose="营业部装修")
        ids = {"need": mine.id, "other": other.id, "chamber": chamber_id,
               "products": dict(s.execute(select(BankProduct.name, BankProduct.id)).all())}
    return world, ids


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _board(world, username: str = "chamber_dsb"):
    at = logged_in(world, username)
    at.switch_page("pages/financing.py").run()
    assert_healthy(at)
    return at


def _match(engine, need_id: int) -> FinancingMatch:
    with session_factory(engine)() as s:
        return s.scalars(select(FinancingMatch).where(FinancingMatch.need_id == need_id)).one()


def test_a_chamber_proposes_and_walks_a_match_to_the_money(fin):
    world, ids = fin
    at = _board(world)
    assert NEW_NEED in page_text(at) and "紧急" in page_text(at)
    assert _metric(at, "已放款") == "100.0 万元"
    product = ids["products"]["好企贷"]
    at.button(key=f"fin_propose_{ids['need']}_{product}").click().run()
    assert_healthy(at)
    assert "已推荐：重庆银行 · 好企贷" in page_text(at)
    match = _match(world, ids["need"])
    assert match.status == "recommended"
    # exactly the steps the state machine allows from here
    keys = {b.key for b in at.button if re.fullmatch(rf"fin_[a-z]+_{match.id}", b.key or "")}
    assert keys == {f"fin_contact_{match.id}", f"fin_apply_{match.id}"}
    for step in ("contact", "apply"):
        at.button(key=f"fin_{step}_{match.id}").click().run()
        assert_healthy(at)
    assert _match(world, ids["need"]).status == "applied"
    at.number_input(key=f"fin_approve_{match.id}_amount").set_value(80.0)
    at.button(key=f"fin_approve_{match.id}_go").click().run()
    assert_healthy(at)
    assert _metric(at, "已获批") == "180.0 万元"
    at.number_input(key=f"fin_disburse_{match.id}_amount").set_value(75.0)
    at.date_input(key=f"fin_disburse_{match.id}_on").set_value(today())
    at.button(key=f"fin_disburse_{match.id}_go").click().run()
    assert_healthy(at)
    assert _metric(at, "已放款") == "175.0 万元"
    done = _match(world, ids["need"])
    assert (done.status, done.approved_amount, done.disbursed_amount, done.disbursed_on) == (
        "disbursed", Decimal("80.00"), Decimal("75.00"), today())
    with session_factory(world)() as s:
        clerk = s.scalar(select(User.id).where(User.username == "chamber_dsb"))
        events = s.execute(select(FinancingMatchEvent.to_status, FinancingMatchEvent.actor_id)
                           .where(FinancingMatchEvent.match_id == done.id)
                           .order_by(FinancingMatchEvent.id)).all()
    assert events == [(s_, clerk) for s_ in ("recommended", "contacted", "applied", "approved",
                                             "disbursed")]
    assert NEW_NEED not in page_text(at)  # funded: off the board


def test_a_step_someone_else_took_meanwhile_is_refused_and_the_input_kept(fin):
    world, ids = fin
    with session_factory(world).begin() as s:
        m = financing.propose(s, actor=SYSTEM, need_id=ids["need"],
                              product_id=ids["products"]["好企贷"])
        financing.move_match(s, actor=SYSTEM, match_id=m.id, action="apply")
        match_id = m.id
    at = _board(world)
    with session_factory(world).begin() as s:  # another clerk approves it first
        financing.move_match(s, actor=SYSTEM, match_id=match_id, action="approve", amount=60)
    at.number_input(key=f"fin_approve_{match_id}_amount").set_value(55.0)
    at.button(key=f"fin_approve_{match_id}_go").click().run()
    assert not at.exception
    assert "该记录已被他人修改，请刷新后重试。" in [e.value for e in at.error]
    assert at.number_input(key=f"fin_approve_{match_id}_amount").value == 55.0
    assert _match(world, ids["need"]).approved_amount == Decimal("60.00")
    at.run()  # the next look shows the match as it is now: approved, to disburse
    assert_healthy(at)
    assert at.button(key=f"fin_disburse_{match_id}_go") is not None
    assert "获批 60.0 万元" in page_text(at)


def test_a_refused_step_says_why_in_chinese(fin):
    world, ids = fin
    with session_factory(world).begin() as s:
        m = financing.propose(s, actor=SYSTEM, need_id=ids["need"],
                              product_id=ids["products"]["好企贷"])
        financing.move_match(s, actor=SYSTEM, match_id=m.id, action="apply")
        financing.move_match(s, actor=SYSTEM, match_id=m.id, action="approve", amount=50)
        match_id = m.id
    at = _board(world)
    at.number_input(key=f"fin_disburse_{match_id}_amount").set_value(70.0)
    at.button(key=f"fin_disburse_{match_id}_go").click().run()
    assert "放款金额不能超过获批金额（50.00 万元）。" in [e.value for e in at.error]
    assert _match(world, ids["need"]).status == "approved"


def test_the_chamber_sees_its_members_needs_only_and_an_official_reads_all(fin):
    world, ids = fin
    at = _board(world)
    assert NEW_NEED in page_text(at) and "营业部装修" not in page_text(at)
    at = _board(world, "official")
    text = page_text(at)
    assert NEW_NEED in text and "营业部装修" in text and "只读" in text
    assert not [b for b in at.button if (b.key or "").startswith("fin_")]
    assert "已放款 100.0 万元" in text  # the district's money, the official's headline


def test_a_chamber_puts_a_need_on_file_for_a_member_firm_and_withdraws_it(fin):
    world, ids = fin
    at = _board(world)
    at.text_input(key="fin_firm_query").input("齐祥").run()
    firm = _firm_id(world, LIGHTING)
    at.selectbox(key="fin_add_firm").set_value(firm)
    at.number_input(key="fin_add_amount").set_value(120.0)
    at.text_input(key="fin_add_purpose").input("扩大生产规模")
    at.selectbox(key="fin_add_collateral").set_value("mortgage")
    at.button(key="fin_add_go").click().run()
    assert_healthy(at)
    assert f"已登记 {LIGHTING} 的融资需求。" in page_text(at)
    with session_factory(world)() as s:
        need = s.scalars(select(FinancingNeed).where(FinancingNeed.purpose == "扩大生产规模")
                         ).one()
    assert (need.amount, need.collateral, need.chamber_id, need.requested_on) == (
        Decimal("120.00"), "mortgage", ids["chamber"], today())
    at.text_input(key=f"fin_wd_reason_{need.id}").input("已通过股东借款解决")
    at.button(key=f"fin_wd_go_{need.id}").click().run()
    assert_healthy(at)
    with session_factory(world)() as s:
        gone = s.get(FinancingNeed, need.id)
        assert (gone.withdrawn_on, gone.withdrawn_reason) == (today(), "已通过股东借款解决")
    assert "扩大生产规模" not in page_text(at)


def test_a_need_without_an_amount_is_refused_with_the_reason(fin):
    world, ids = fin
    at = _board(world)
    at.text_input(key="fin_firm_query").input("齐祥").run()
    at.selectbox(key="fin_add_firm").set_value(_firm_id(world, LIGHTING))
    at.button(key="fin_add_go").click().run()
    assert "融资金额须大于零。" in [e.value for e in at.error]


@pytest.mark.parametrize(("username", "page"), [
    ("handler_jj", "financing"), ("employment", "financing"),
    ("official", "bank_products"), ("liaison_dsb", "bank_products"),
    ("cadre_jbc", "bank_products"), ("handler_jj", "meetings"), ("employment", "meetings"),
    ("employment", "financing_kpi"), ("handler_jj", "financing_kpi"),
])
def test_a_role_without_the_capability_is_refused_the_page(fin, username, page):
    world, _ = fin
    at = logged_in(world, username, script=str(PAGES / f"{page}.py"))
    assert not at.exception
    assert REFUSED in [e.value for e in at.error]
    assert not at.dataframe and not at.metric


def test_the_catalogue_adds_a_product_of_a_new_bank_and_refuses_a_stale_edit(fin):
    world, ids = fin
    at = logged_in(world, "chamber_dsb")
    at.switch_page("pages/bank_products.py").run()
    assert_healthy(at)
    at.selectbox(key="bp_new_bank").set_value(0)
    at.text_input(key="bp_new_new_bank").input("兴业银行重庆分行")
    at.text_input(key="bp_new_name").input("供应链金融")
    at.number_input(key="bp_new_amin").set_value(100.0)
    at.number_input(key="bp_new_amax").set_value(5000.0)
    at.number_input(key="bp_new_rmin").set_value(4.0)
    at.multiselect(key="bp_new_collateral").set_value(["pledge"])
    at.multiselect(key="bp_new_sizes").set_value(["large", "medium"])
    at.button(key="bp_save").click().run()
    assert_healthy(at)
    assert "已保存：供应链金融" in page_text(at)
    with session_factory(world)() as s:
        p = s.scalars(select(BankProduct).where(BankProduct.name == "供应链金融")).one()
        assert (p.bank.name, p.amount_min, p.amount_max, p.rate_min, p.collateral, p.sizes) \
            == ("兴业银行重庆分行", Decimal("100.00"), Decimal("5000.00"), Decimal("0.0400"),
                ["pledge"], ["large", "medium"])
    pid = ids["products"]["好企贷"]
    at.selectbox(key="bp_pick").set_value(pid).run()
    with session_factory(world).begin() as s:  # someone else edits it meanwhile
        financing.save_bank_product(s, actor=SYSTEM, bank_id=s.get(BankProduct, pid).bank_id,
                                    name="好企贷", amount_max=800, product_id=pid)
    at.number_input(key=f"bp_{pid}_amax").set_value(900.0)
    at.button(key="bp_save").click().run()
    assert "该记录已被他人修改，请刷新后重试。" in [e.value for e in at.error]
    with session_factory(world)() as s:
        assert s.get(BankProduct, pid).amount_max == Decimal("800.00")


def test_a_chamber_records_a_meeting_with_banks_and_member_firms(fin):
    world, ids = fin
    at = logged_in(world, "chamber_dsb")
    at.switch_page("pages/meetings.py").run()
    assert_healthy(at)
    with session_factory(world)() as s:
        bank = s.scalar(select(Bank.id).where(Bank.name == "重庆银行"))
    at.text_input(key="meet_firm_query").input("齐祥").run()
    at.text_input(key="meet_title").input("大石坝街道银企对接会")
    at.text_input(key="meet_place").input("街道便民服务中心")
    at.multiselect(key="meet_banks").set_value([bank])
    at.multiselect(key="meet_firms").set_value([_firm_id(world, LIGHTING)])
    at.button(key="meet_save").click().run()
    assert_healthy(at)
    text = page_text(at)
    assert "已记录：大石坝街道银企对接会" in text and "街道便民服务中心" in text and \
        "重庆银行" in text and LIGHTING in text
    with session_factory(world)() as s:
        meeting = s.scalars(select(BankMeeting)).one()
        assert meeting.chamber_id == ids["chamber"]
    official = logged_in(world, "official")
    official.switch_page("pages/meetings.py").run()
    assert "大石坝街道银企对接会" in page_text(official)


def test_the_kpi_numbers_drill_down_to_their_records(fin):
    world, ids = fin
    at = logged_in(world, "official")
    at.switch_page("pages/financing_kpi.py").run()
    assert_healthy(at)
    assert _metric(at, "融资需求") == "3"
    assert _metric(at, "需求金额（万元）") == "480.0"
    assert _metric(at, "放款金额（万元）") == "100.0"
    assert _metric(at, "获批率") == "100.0%"
    at.selectbox(key="fkpi_measure").set_value("amount_disbursed").run()
    assert_healthy(at)
    assert "共 1 条，合计 100.0 万元。" in page_text(at)
    assert LIGHTING in at.dataframe[-1].value.to_string()
    # every row of the tables is a drill target: the bank that lent is one
    assert "重庆农村商业银行" in at.selectbox(key="fkpi_target").options
    at.selectbox(key="fkpi_bank").set_value(
        next(k for k, v in financing_kpi_banks(world).items() if v == "重庆银行")).run()
    assert _metric(at, "放款金额（万元）") == "0.0"
    chamber = logged_in(world, "chamber_dsb")
    chamber.switch_page("pages/financing_kpi.py").run()
    assert_healthy(chamber)
    assert _metric(chamber, "融资需求") == "2"  # the member firm's needs only


def financing_kpi_banks(engine) -> dict[int, str]:
    with session_factory(engine)() as s:
        return dict(s.execute(select(Bank.id, Bank.name)).all())


def test_an_appeal_about_financing_becomes_a_need(fin):
    world, ids = fin
    with session_factory(world)() as s:
        appeal = s.scalars(select(Appeal).where(Appeal.code == "SQ-003")).one()
        other = s.scalars(select(Appeal).where(Appeal.code == "SQ-001")).one()
    at = logged_in(world, "liaison_dsb")
    at.switch_page("pages/appeal.py").run()
    at.text_input(key="detail_code_input").input(appeal.code).run()
    assert_healthy(at)
    at.number_input(key="fin_appeal_amount").set_value(30.0)
    at.button(key="fin_appeal_go").click().run()
    assert_healthy(at)
    with session_factory(world)() as s:
        need = s.scalars(select(FinancingNeed).where(FinancingNeed.appeal_id == appeal.id)).one()
    assert (need.amount, need.purpose, need.requested_on) == (
        Decimal("30.00"), "流动资金周转困难", appeal.received_at.date())
    assert f"已转为融资需求（编号 {need.id}）。" in page_text(at)
    # an appeal about something else offers no such form
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/appeal.py").run()
    at.text_input(key="detail_code_input").input(other.code).run()
    assert_healthy(at)
    assert "转为融资需求" not in [e.label for e in at.expander]


def test_the_firm_page_shows_a_chamber_its_members_needs_and_loans(fin):
    world, ids = fin
    at = logged_in(world, "chamber_dsb")
    at.switch_page("pages/enterprises.py").run()
    at.selectbox(key="ent_pick").set_value(_firm_id(world, LIGHTING)).run()
    assert_healthy(at)
    text = page_text(at)
    for expected in ("采购原材料", NEW_NEED, "已放款", "渝快贷", "重庆农村商业银行"):
        assert expected in text, expected


def test_the_board_reads_in_english(fin):
    world, ids = fin
    at = logged_in(world, "chamber_dsb")
    at.selectbox(key="lang").set_value("en").run()
    for page in ("financing", "bank_products", "meetings", "financing_kpi"):
        at.switch_page(f"pages/{page}.py").run()
        assert_healthy(at)
    at.switch_page("pages/financing.py").run()
    assert "Financing board" in page_text(at)
    assert _metric(at, "Disbursed") == "100.0 × 10k yuan"
    assert actor(world, "chamber_dsb").chamber_id == ids["chamber"]


def test_the_chamber_menu_has_the_financing_pages_and_no_appeals():
    from crm.access import ROLE_PAGES
    from crm.ui.navigation import screens_for

    assert ROLE_PAGES["chamber"] == ("home", "enterprises", "notifications", "financing",
                                     "bank_products", "meetings", "financing_kpi")
    sections = {s.name: s.section for s in screens_for("chamber")}
    assert {sections[p] for p in ("financing", "bank_products", "meetings", "financing_kpi")} \
        == {"nav.section.financing"}
    assert "bank_products" not in ROLE_PAGES["official"]
    assert {"financing", "meetings", "financing_kpi"} <= set(ROLE_PAGES["official"])


def test_a_meeting_without_a_title_is_refused_naming_the_field_in_words(fin):
    world, _ = fin
    at = logged_in(world, "chamber_dsb")
    at.switch_page("pages/meetings.py").run()
    at.text_input(key="meet_place").input("街道便民服务中心")
    at.button(key="meet_save").click().run()
    assert "“名称”不能为空。" in [e.value for e in at.error]
    assert at.text_input(key="meet_place").value == "街道便民服务中心"  # the input is kept
    with session_factory(world)() as s:
        assert s.scalars(select(BankMeeting)).first() is None


def test_a_need_raised_at_a_meeting_counts_on_the_meetings_list(fin):
    world, ids = fin
    with session_factory(world).begin() as s:
        clerk = actor(world, "chamber_dsb")
        meeting = financing.save_meeting(s, actor=clerk, held_on=today(), title="三季度银企对接会")
        meeting_id = meeting.id
    at = _board(world)
    at.text_input(key="fin_firm_query").input("齐祥").run()
    at.selectbox(key="fin_add_firm").set_value(_firm_id(world, LIGHTING))
    at.number_input(key="fin_add_amount").set_value(200.0)
    at.text_input(key="fin_add_purpose").input("厂房装修改造")
    at.selectbox(key="fin_add_meeting").set_value(meeting_id)
    at.button(key="fin_add_go").click().run()
    assert_healthy(at)
    with session_factory(world)() as s:
        need = s.scalars(select(FinancingNeed).where(FinancingNeed.purpose == "厂房装修改造")
                         ).one()
        assert need.meeting_id == meeting_id
    at.switch_page("pages/meetings.py").run()
    table = at.dataframe[0].value
    assert table.loc[table["会议名称"] == "三季度银企对接会", "会上提出的需求"].tolist() == [1]
