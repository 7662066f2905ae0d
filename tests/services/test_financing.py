"""Chamber financing through the services: a need put on file, matched by the engine,
followed along the pipeline to the money; the rules refuse what breaks them, a need's
status follows from its matches (in Python and in SQL alike), and a chamber's clerk
reaches their member firms only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.auth import Actor
from crm.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from crm.i18n import error_text
from crm.lifecycle import FINANCING, NEED_STATUSES, need_status
from crm.models import Appeal, Category, Chamber, FinancingMatch, FinancingNeed, chamber_member
from crm.services import financing as fin
from crm.services.users import actor_of, add_user
from tests.services.conftest import make_firm

DAY = dt.date(2026, 5, 6)


@dataclass
class Desk:
    clerk: Actor        # 大石坝街道商会
    other_clerk: Actor  # 观音桥商会
    member: int         # a firm of the 大石坝 chamber (制造业, small)
    outsider: int       # a firm of no chamber
    cheap: int          # product ids
    dear: int
    mortgage_only: int


@pytest.fixture
def desk(session, world) -> Desk:
    dsb = Chamber(name="大石坝街道商会")
    gyq = Chamber(name="观音桥商会")
    session.add_all([dsb, gyq])
    session.flush()

    def clerk(name, chamber):
        return actor_of(add_user(session, name, role="chamber", chamber=chamber,
                                 password="secret123", actor=SYSTEM))

    member = make_firm(session, 31, "大石坝街道", "重庆齐祥灯饰有限公司2")
    member.industry, member.size = "制造业", "small"
    outsider = make_firm(session, 32, "大石坝街道")
    session.execute(chamber_member.insert().values(chamber_id=dsb.id, enterprise_id=member.id))
    products = {}
    for name, bank, rate, collateral in (("小微快贷", "重庆农商行", "0.0385", ["credit"]),
                                         ("经营贷", "重庆银行", "0.05", ["credit", "guarantee"]),
                                         ("抵押贷", "建设银行", "0.035", ["mortgage"])):
        products[name] = fin.save_bank_product(
            session, actor=world.admin, bank=bank, name=name, amount_min=10, amount_max=500,
            rate_min=Decimal(rate), term_min=6, term_max=36, collateral=collateral).id
    d = Desk(clerk("dsb", "大石坝街道商会"), clerk("gyq", "观音桥商会"), member.id, outsider.id,
             products["小微快贷"], products["经营贷"], products["抵押贷"])
    session.commit()
    return d


def _need(session, desk, **kw) -> FinancingNeed:
    fields = dict(amount=100, requested_on=DAY, purpose="补充流动资金", term_months=12,
                  collateral="credit")
    fields.update(kw)
    return fin.add_financing_need(session, actor=desk.clerk, enterprise_id=desk.member, **fields)


def _status(session, need_id: int) -> str:
    need = session.get(FinancingNeed, need_id)
    session.refresh(need)
    python = need_status(need.withdrawn_on is not None, [m.status for m in need.matches])
    sql = session.scalar(select(fin.need_status_sql()).where(FinancingNeed.id == need_id))
    assert python == sql, (python, sql)
    return python


def test_a_need_goes_from_proposal_to_money_and_its_status_follows(session, world, desk):
    need = _need(session, desk, amount_approx=True)
    assert need.chamber_id == session.scalar(select(Chamber.id).where(
        Chamber.name == "大石坝街道商会"))  # a clerk's need is their chamber's
    assert _status(session, need.id) == "open"
    [entry] = fin.match_needs(session, actor=desk.clerk, top=5)
    assert [m["product_id"] for m in entry["matches"]] == [desk.cheap, desk.dear]  # not 抵押
    assert entry["matches"][0]["reasons"][0] == "额度匹配（10–500万元）"
    match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    assert match.status == "recommended" and match.score == entry["matches"][0]["score"]
    assert _status(session, need.id) == "proposed"
    # what is proposed is not proposed again
    [entry] = fin.match_needs(session, actor=desk.clerk, top=5)
    assert [m["product_id"] for m in entry["matches"]] == [desk.dear]
    for action, kw, status in (("contact", {}, "in_progress"), ("apply", {}, "in_progress"),
                               ("approve", {"amount": 120, "on": dt.date(2026, 6, 1)},
                                "approved"),
                               ("disburse", {"amount": "120", "on": dt.date(2026, 6, 10)},
                                "funded")):
        match = fin.move_match(session, actor=desk.clerk, match_id=match.id, action=action,
                               version=match.version, **kw)
        assert _status(session, need.id) == status
    assert match.approved_amount == Decimal("120.00") and match.approved_on == dt.date(2026, 6, 1)
    assert match.disbursed_on == dt.date(2026, 6, 10)
    assert [(e.from_status, e.to_status, e.actor_id) for e in match.events] == [
        (None, "recommended", desk.clerk.id), ("recommended", "contacted", desk.clerk.id),
        ("contacted", "applied", desk.clerk.id), ("applied", "approved", desk.clerk.id),
        ("approved", "disbursed", desk.clerk.id)]
    assert fin.match_needs(session, actor=desk.clerk) == []  # a funded need is not open
    [loan] = fin.loans(session, actor=desk.clerk, enterprise_id=desk.member)
    assert loan["disbursed_amount"] == Decimal("120.00") and loan["bank"] == "重庆农商行"


def test_the_pipeline_refuses_steps_out_of_order_and_bad_amounts(session, world, desk):
    need = _need(session, desk)
    match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    with pytest.raises(InvalidTransition) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="disburse",
                       amount=10)
    assert error_text(err.value) == "该匹配当前为“已推荐”，不能“已放款”。"
    with pytest.raises(InvalidTransition):
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="reject",
                       reason="x")  # the bank declines what was applied for or discussed
    fin.move_match(session, actor=desk.clerk, match_id=match.id, action="apply")
    with pytest.raises(ValidationError) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="approve",
                       amount=0)
    assert err.value.key == "financing.amount_needed"
    with pytest.raises(ValidationError) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="reject",
                       reason="  ")
    assert err.value.key == "field.needed"
    with pytest.raises(ValidationError) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="approve",
                       amount=50, on=DAY - dt.timedelta(days=1))
    assert err.value.key == "financing.date_before_need"
    fin.move_match(session, actor=desk.clerk, match_id=match.id, action="approve", amount=50)
    with pytest.raises(ValidationError) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="disburse",
                       amount=60)
    assert err.value.key == "financing.disbursed_over_approved"
    assert "50" in error_text(err.value)
    session.refresh(match)
    assert match.status == "approved" and match.disbursed_amount is None


def test_a_stale_move_is_refused_and_nothing_is_lost(session, world, desk):
    need = _need(session, desk)
    match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    seen = match.version
    fin.move_match(session, actor=desk.clerk, match_id=match.id, action="contact",
                   version=seen)
    with pytest.raises(Conflict):
        fin.move_match(session, actor=world.admin, match_id=match.id, action="apply",
                       version=seen)
    session.refresh(match)
    assert match.status == "contacted" and len(match.events) == 2


def test_a_rejected_match_leaves_the_need_open_for_another_product(session, world, desk):
    need = _need(session, desk)
    first = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    fin.move_match(session, actor=desk.clerk, match_id=first.id, action="apply")
    fin.move_match(session, actor=desk.clerk, match_id=first.id, action="reject",
                   reason="经营流水不足")
    assert _status(session, need.id) == "declined"
    [entry] = fin.match_needs(session, actor=desk.clerk)
    assert [m["product_id"] for m in entry["matches"]] == [desk.dear]
    second = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.dear)
    assert _status(session, need.id) == "proposed"
    fin.move_match(session, actor=desk.clerk, match_id=second.id, action="contact")
    assert _status(session, need.id) == "in_progress"


def test_a_product_failing_a_filter_cannot_be_proposed_by_hand(session, world, desk):
    need = _need(session, desk)
    with pytest.raises(ValidationError) as err:
        fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.mortgage_only)
    assert err.value.key == "financing.filter_failed"
    assert error_text(err.value) == "该产品不符合此需求：产品不接受该担保方式。"
    fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    with pytest.raises(ValidationError) as err:
        fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    assert err.value.key == "financing.proposed_already"


def test_a_withdrawn_need_stops_its_pipeline(session, world, desk):
    need = _need(session, desk)
    match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    fin.withdraw_need(session, actor=desk.clerk, need_id=need.id, reason="已通过其他渠道解决",
                      version=need.version)
    assert _status(session, need.id) == "withdrawn"
    assert FINANCING.allowed(match, desk.clerk) == []
    with pytest.raises(InvalidTransition) as err:
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="contact")
    assert err.value.key == "financing.need_withdrawn"
    with pytest.raises(ValidationError):
        fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.dear)


def test_every_status_rule_agrees_in_python_and_sql(session, world, desk):
    """Each derived status, made for real, read both ways (see `_status`)."""
    seen = set()
    for n, steps in enumerate(([], ["recommended"], ["contacted"], ["applied", "rejected"],
                               ["approved"], ["disbursed", "rejected"], ["rejected"],
                               ["withdrawn"])):
        need = _need(session, desk, requested_on=DAY + dt.timedelta(days=n))
        for i, status in enumerate(s for s in steps if s != "withdrawn"):
            product = (desk.cheap, desk.dear)[i]
            session.add(FinancingMatch(need_id=need.id, product_id=product, status=status))
        if "withdrawn" in steps:
            need.withdrawn_on = DAY
        session.flush()
        seen.add(_status(session, need.id))
    assert seen == set(NEED_STATUSES)


def test_a_chamber_clerk_reaches_member_firms_only(session, world, desk):
    need = _need(session, desk)
    with pytest.raises(NotFound):  # not a member: not even seen
        fin.add_financing_need(session, actor=desk.clerk, enterprise_id=desk.outsider,
                               amount=10, requested_on=DAY)
    assert fin.list_needs(session, actor=desk.other_clerk) == []
    assert fin.match_needs(session, actor=desk.other_clerk) == []
    with pytest.raises(Forbidden):
        fin.get_need(session, actor=desk.other_clerk, need_id=need.id)
    match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
    with pytest.raises(Forbidden):
        fin.move_match(session, actor=desk.other_clerk, match_id=match.id, action="contact")
    with pytest.raises(Forbidden):  # officials read, they do not move the pipeline
        fin.move_match(session, actor=world.official, match_id=match.id, action="contact")
    assert [n["need_id"] for n in fin.list_needs(session, actor=world.official)] == [need.id]
    assert fin.list_needs(session, actor=world.liaison) == []  # another street's firm
    assert [n["need_id"] for n in fin.list_needs(session, actor=world.other_liaison)] == [
        need.id]  # the firm's street's liaison follows it, read-only
    with pytest.raises(Forbidden):
        fin.move_match(session, actor=world.other_liaison, match_id=match.id, action="contact")


def test_a_liaison_turns_a_financing_appeal_into_a_need(session, world, desk):
    category = session.scalar(select(Category).where(Category.name == "融资"))
    appeal = Appeal(code="QF-FIN-1", enterprise_id=world.firm.id, street_id=world.firm.street_id,
                    category_id=category.id, channel="visit", status="received",
                    title="企业急需流动资金", description="d",
                    received_at=dt.datetime(2026, 4, 30, 9), due_date=dt.date(2026, 5, 25))
    traffic = Appeal(code="QF-FIN-2", enterprise_id=world.firm.id,
                     street_id=world.firm.street_id, category_id=world.traffic.id,
                     channel="visit", status="received", title="t", description="d",
                     received_at=dt.datetime(2026, 4, 30, 9), due_date=dt.date(2026, 5, 25))
    session.add_all([appeal, traffic])
    session.flush()
    need = fin.need_from_appeal(session, actor=world.liaison, appeal_id=appeal.id, amount=80)
    assert (need.enterprise_id, need.appeal_id, need.requested_on, need.purpose) == (
        world.firm.id, appeal.id, dt.date(2026, 4, 30), "企业急需流动资金")
    with pytest.raises(ValidationError) as err:
        fin.need_from_appeal(session, actor=world.liaison, appeal_id=traffic.id, amount=80)
    assert error_text(err.value) == "该诉求类别为“交通”，不是融资类，不能转为融资需求。"
    with pytest.raises(Forbidden):  # another street's liaison
        fin.need_from_appeal(session, actor=world.other_liaison, appeal_id=appeal.id,
                             amount=80)
    with pytest.raises(ValidationError) as err:  # one firm, one day, one purpose
        fin.need_from_appeal(session, actor=world.admin, appeal_id=appeal.id, amount=80)
    assert err.value.key == "financing.need_on_file"


def test_outcomes_on_file_teach_the_engine(session, world, desk):
    """Two firms of the same industry and size turned down by the cheaper bank: the next
    need of that kind gets the dearer bank first, and the reason says why."""
    for n in range(2):
        need = _need(session, desk, requested_on=DAY - dt.timedelta(days=30 + n))
        match = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.cheap)
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="apply")
        fin.move_match(session, actor=desk.clerk, match_id=match.id, action="reject",
                       reason="负债率偏高")
        other = fin.propose(session, actor=desk.clerk, need_id=need.id, product_id=desk.dear)
        fin.move_match(session, actor=desk.clerk, match_id=other.id, action="apply")
        fin.move_match(session, actor=desk.clerk, match_id=other.id, action="approve",
                       amount=100)
    fresh = _need(session, desk)
    [entry] = fin.match_needs(session, actor=desk.clerk, need_id=fresh.id)
    assert [m["product_id"] for m in entry["matches"]] == [desk.dear, desk.cheap]
    assert "该行同类企业获批 2/2" in entry["matches"][0]["reasons"]
    assert "该行同类企业获批 0/2" in entry["matches"][1]["reasons"]


def test_a_meeting_records_who_came(session, world, desk):
    bank = fin.save_bank(session, actor=world.admin, name="重庆三峡银行")
    meeting = fin.save_meeting(session, actor=desk.clerk, held_on=DAY, title="银企沟通会",
                               place="大石坝街道便民服务中心", bank_ids=[bank.id],
                               enterprise_ids=[desk.member])
    need = _need(session, desk, meeting_id=meeting.id)
    [row] = fin.list_meetings(session, actor=desk.clerk)
    assert (row["banks"], row["firms"], row["needs"], row["chamber"]) == (
        ["重庆三峡银行"], ["重庆齐祥灯饰有限公司2"], 1, "大石坝街道商会")
    assert fin.list_meetings(session, actor=desk.other_clerk) == []
    assert need.meeting_id == meeting.id
    with pytest.raises(NotFound):  # a firm outside the chamber cannot be put on its list
        fin.save_meeting(session, actor=desk.clerk, held_on=DAY, title="x",
                         enterprise_ids=[desk.outsider])


def test_the_catalogue_refuses_bad_ranges_and_stale_edits(session, world, desk):
    with pytest.raises(ValidationError) as err:
        fin.save_bank_product(session, actor=desk.clerk, bank="重庆银行", name="坏产品",
                              amount_min=500, amount_max=10)
    assert err.value.key == "financing.bad_range"
    product = session.get(fin.BankProduct, desk.dear)
    seen = product.version
    fin.save_bank_product(session, actor=desk.clerk, bank_id=product.bank_id, name="经营贷",
                          product_id=product.id, version=seen, amount_min=20, amount_max=800)
    with pytest.raises(Conflict):
        fin.save_bank_product(session, actor=world.admin, bank_id=product.bank_id,
                              name="经营贷", product_id=product.id, version=seen,
                              amount_min=1, amount_max=2)
    session.refresh(product)
    assert (product.amount_min, product.amount_max) == (Decimal("20.00"), Decimal("800.00"))


def test_a_need_heard_on_a_visit_is_put_on_file_with_the_visit(session, world, desk):
    from crm.models import Assignment, Person
    from crm.services import visits

    cadre = session.get(Person, world.cadre.person_id)
    session.add(Assignment(kind="cadre_enterprise", person_id=cadre.id,
                           enterprise_id=world.firm.id, start_date=dt.date(2026, 1, 1)))
    session.flush()
    saved = visits.save_visit(session, actor=world.cadre, enterprise_id=world.firm.id,
                              way="onsite", visited_on=DAY, notes="走访了解到资金需求",
                              financing={"amount": 200, "purpose": "购置设备",
                                         "term_months": 24})
    [need_id] = saved["financing_needs"]
    need = session.get(FinancingNeed, need_id)
    assert (need.visit_id, need.requested_on, need.amount, need.created_by) == (
        saved["visit_id"], DAY, Decimal("200.00"), world.cadre.id)
    with pytest.raises(ValidationError):  # a bad need refuses the whole visit form
        visits.save_visit(session, actor=world.cadre, enterprise_id=world.firm.id,
                          way="phone", visited_on=DAY, financing={"amount": 0})
