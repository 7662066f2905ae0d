"""Job fairs: a fair, firms signing up, positions, and the funnel as dated updates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm import rules
from crm.access import SYSTEM
from crm.errors import Conflict, Forbidden, InvalidTransition, ValidationError
from crm.i18n import error_text
from crm.models import Enterprise, FairPositionUpdate, Street
from crm.services import hiring, jobfair_report, jobfairs
from crm.services.users import actor_of, add_user
from crm.uscc import complete

HELD = dt.date(2022, 3, 1)


@pytest.fixture
def fair(session):
    street = session.scalar(select(Street.id).where(Street.name == "鱼嘴镇"))
    firms = []
    for n, name in enumerate(("韩泰轮胎有限公司", "海尔电器有限公司"), start=1):
        firm = Enterprise(uscc=complete(f"91500105MA{n:06d}"), name=name, street_id=street)
        session.add(firm)
        firms.append(firm)
    session.flush()
    f = jobfairs.create_fair(session, actor=SYSTEM, name="2022年春风行动", held_on=HELD,
                             place="鱼嘴镇", street_id=street, kind="special")
    part = jobfairs.sign_up(session, f.id, firms[0].id, actor=SYSTEM)
    pos = jobfairs.save_position(session, part.id, actor=SYSTEM, title="成型工", headcount=20,
                                 pay_min=5500, pay_max=8500)
    session.commit()
    return {"fair": f, "firms": firms, "part": part, "pos": pos, "street": street}


def _update(session, pos, day, **counts):
    return jobfairs.record_update(session, pos.id, actor=SYSTEM, as_of=day, **counts)


def test_the_funnel_rule_names_the_first_pair_out_of_order():
    assert rules.funnel_break({"applicants": 50, "intents": 30, "medical_checks": 10,
                               "hired": 9, "retained_90d": 8}) is None
    assert rules.funnel_break({"applicants": 12, "intents": 20}) == ("applicants", 12,
                                                                     "intents", 20)
    assert rules.funnel_break({"applicants": 12, "hired": 20}) == ("applicants", 12, "hired", 20)
    assert rules.funnel_break({"hired": 5, "retained_90d": 6}) == ("hired", 5, "retained_90d", 6)
    assert rules.funnel_break({}) is None


def test_an_update_out_of_order_is_refused_naming_both_stages_and_numbers(session, fair):
    _update(session, fair["pos"], HELD, applicants=40, intents=20)
    session.commit()
    with pytest.raises(ValidationError) as err:
        _update(session, fair["pos"], HELD + dt.timedelta(days=7), medical_checks=25)
    session.rollback()
    assert err.value.key == "jobfair.funnel_order"
    zh, en = error_text(err.value, "zh"), error_text(err.value, "en")
    assert "体检" in zh and "25" in zh and "达成意向" in zh and "20" in zh
    assert en.startswith("medical checks (25) exceed intents (20)")
    # nothing changed: one update on file, as it was
    rows = session.scalars(select(FairPositionUpdate)).all()
    assert [(u.as_of, u.applicants, u.intents, u.medical_checks) for u in rows] == [
        (HELD, 40, 20, 0)]


def test_updates_are_dated_and_kept_and_the_funnel_reads_as_of_any_day(session, fair):
    pos = fair["pos"]
    _update(session, pos, HELD, applicants=58, intents=32)
    _update(session, pos, dt.date(2022, 3, 10), medical_checks=10)
    _update(session, pos, dt.date(2022, 4, 1), hired=9)
    session.commit()
    fid = fair["fair"].id

    def totals(day):
        return jobfair_report.fair_report(session, fid, actor=SYSTEM, as_of=day)["totals"]

    assert totals(dt.date(2022, 2, 28))["applicants"] == 0
    t = totals(dt.date(2022, 3, 5))
    assert (t["applicants"], t["intents"], t["medical_checks"], t["hired"]) == (58, 32, 0, 0)
    t = totals(dt.date(2022, 3, 31))
    assert (t["medical_checks"], t["hired"]) == (10, 0)
    t = totals(dt.date(2022, 4, 2))
    assert (t["applicants"], t["intents"], t["medical_checks"], t["hired"]) == (58, 32, 10, 9)
    assert t["fill_rate"] == pytest.approx(9 / 20)
    assert t["retained_90d"] is None and t["retention_pending"]
    assert len(jobfairs.position_history(session, pos.id, actor=SYSTEM)) == 3


def test_retention_is_pending_until_90_days_and_refused_before(session, fair):
    pos = fair["pos"]
    _update(session, pos, HELD, applicants=30, intents=20, medical_checks=10, hired=9)
    with pytest.raises(ValidationError) as err:
        _update(session, pos, HELD + dt.timedelta(days=89), retained_90d=8)
    assert err.value.key == "jobfair.retention_too_early"
    assert "2022-05-30" in error_text(err.value)
    session.rollback()
    _update(session, pos, HELD, applicants=30, intents=20, medical_checks=10, hired=9)
    _update(session, pos, HELD + dt.timedelta(days=90), retained_90d=8)
    session.commit()
    fid = fair["fair"].id
    early = jobfair_report.fair_report(session, fid, actor=SYSTEM, as_of=dt.date(2022, 5, 29))
    late = jobfair_report.fair_report(session, fid, actor=SYSTEM, as_of=dt.date(2022, 5, 30))
    assert early["totals"]["retained_90d"] is None
    assert late["totals"]["retained_90d"] == 8


def test_updates_before_the_fair_or_in_the_future_are_refused(session, fair):
    _refused("jobfair.update_before_fair", _update, session, fair["pos"],
             HELD - dt.timedelta(days=1), applicants=1)
    _refused("jobfair.update_in_future", _update, session, fair["pos"],
             dt.date.today() + dt.timedelta(days=3), applicants=1)


def test_fill_rate_on_a_hand_made_fair(session, fair):
    """Two firms, three positions (headcounts 20, 10, 5) hiring 9, 4 and 0: 13 / 35."""
    part2 = jobfairs.sign_up(session, fair["fair"].id, fair["firms"][1].id, actor=SYSTEM)
    p2 = jobfairs.save_position(session, part2.id, actor=SYSTEM, title="装配工", headcount=10,
                                pay_negotiable=True, requirements="初中以上")
    p3 = jobfairs.save_position(session, part2.id, actor=SYSTEM, title="质检员", headcount=5)
    _update(session, fair["pos"], HELD, applicants=58, intents=32, medical_checks=10, hired=9)
    _update(session, p2, HELD, applicants=12, intents=6, medical_checks=5, hired=4)
    _update(session, p3, HELD, applicants=3)
    session.commit()
    board = jobfair_report.fair_report(session, fair["fair"].id, actor=SYSTEM,
                                       as_of=dt.date(2022, 12, 31))
    t = board["totals"]
    assert (t["firms"], t["positions"], t["headcount"], t["hired"]) == (2, 3, 35, 13)
    assert t["fill_rate"] == pytest.approx(13 / 35)
    firms = {f["firm"]: f for f in board["firms"]}
    assert firms["海尔电器有限公司"]["fill_rate"] == pytest.approx(4 / 15)
    assert firms["韩泰轮胎有限公司"]["fill_rate"] == pytest.approx(9 / 20)
    negotiable = next(p for p in board["positions"] if p["title"] == "装配工")
    assert negotiable["pay_negotiable"] and negotiable["pay_min"] is None
    drop = {d["to"]: d for d in board["drop_off"]}
    assert drop["intents"]["lost"] == 73 - 38 and drop["hired"]["kept"] == pytest.approx(13 / 15)
    # after 90 days with no retention counted: unknown (None), not 0
    assert t["retained_90d"] is None and not t["retention_pending"]
    rows = jobfair_report.report(session, actor=SYSTEM, as_of=dt.date(2022, 12, 31))
    assert [(r["fair"], r["headcount"], r["hired"], round(r["fill_rate"], 4)) for r in rows] \
        == [("2022年春风行动", 35, 13, round(13 / 35, 4))]
    assert [r["count"] for r in jobfair_report.drill(
        session, fair["fair"].id, "hired", actor=SYSTEM, as_of=dt.date(2022, 12, 31))] == [9, 4]
    # a withdrawn firm's positions count for nothing
    jobfairs.move_participation(session, part2.id, "withdraw", actor=SYSTEM)
    t = jobfair_report.fair_report(session, fair["fair"].id, actor=SYSTEM,
                                   as_of=dt.date(2022, 12, 31))["totals"]
    assert (t["firms"], t["headcount"], t["hired"]) == (1, 20, 9)
    with pytest.raises(InvalidTransition):
        _update(session, p2, HELD, applicants=20)


def test_a_fair_without_headcount_has_no_fill_rate(session, fair):
    jobfairs.save_position(session, fair["part"].id, actor=SYSTEM, title="成型工",
                           headcount=0, position_id=fair["pos"].id)
    row = jobfair_report.report(session, actor=SYSTEM)[0]
    assert row["headcount"] == 0 and row["fill_rate"] is None


def _refused(key, fn, *args, **kw):
    with pytest.raises(ValidationError) as err:
        fn(*args, **kw)
    assert err.value.key == key


def test_fairs_and_positions_refuse_bad_input_and_stale_edits(session, fair):
    _refused("jobfair.duplicate", jobfairs.create_fair, session, actor=SYSTEM,
             name="2022年春风行动", held_on=HELD)
    _refused("jobfair.bad_kind", jobfairs.create_fair, session, actor=SYSTEM, name="x",
             held_on=HELD, kind="fair")
    _refused("jobfair.position_exists", jobfairs.save_position, session, fair["part"].id,
             actor=SYSTEM, title="成型工")
    _refused("financing.bad_range", jobfairs.save_position, session, fair["part"].id,
             actor=SYSTEM, title="电工", pay_min=9000, pay_max=6000)
    f = fair["fair"]
    jobfairs.edit_fair(session, f.id, actor=SYSTEM, version=f.version, name=f.name,
                       held_on=f.held_on, place="鱼嘴镇鱼复工业园区", kind="onsite")
    session.commit()
    _update(session, fair["pos"], HELD + dt.timedelta(days=3), applicants=4)
    _refused("jobfair.moved_past", jobfairs.edit_fair, session, f.id, actor=SYSTEM,
             version=f.version, name=f.name, held_on=HELD + dt.timedelta(days=5))
    session.rollback()
    with pytest.raises(Conflict):
        jobfairs.edit_fair(session, f.id, actor=SYSTEM, version=1, name=f.name,
                           held_on=f.held_on)


def test_a_liaison_sees_only_their_streets_firms_participation(session, fair):
    other = session.scalar(select(Street.id).where(Street.name == "观音桥街道"))
    firm = Enterprise(uscc=complete("91500105MA000099"), name="观音桥商贸有限公司",
                      street_id=other)
    session.add(firm)
    session.flush()
    part = jobfairs.sign_up(session, fair["fair"].id, firm.id, actor=SYSTEM)
    pos = jobfairs.save_position(session, part.id, actor=SYSTEM, title="销售", headcount=4)
    _update(session, pos, HELD, applicants=5, intents=2, medical_checks=2, hired=2)
    _update(session, fair["pos"], HELD, applicants=50, intents=30, medical_checks=10, hired=9)
    li = actor_of(add_user(session, "li_gyq", role="liaison", street="观音桥街道", actor=SYSTEM))
    li_yz = actor_of(add_user(session, "li_yz", role="liaison", street="鱼嘴镇", actor=SYSTEM))
    session.commit()
    mine = jobfair_report.report(session, actor=li, as_of=dt.date(2022, 12, 1))
    assert [(r["firms"], r["headcount"], r["hired"]) for r in mine] == [(1, 4, 2)]
    theirs = jobfair_report.report(session, actor=li_yz, as_of=dt.date(2022, 12, 1))
    assert [(r["firms"], r["headcount"], r["hired"]) for r in theirs] == [(1, 20, 9)]
    board = jobfair_report.fair_report(session, fair["fair"].id, actor=li,
                                       as_of=dt.date(2022, 12, 1))
    assert [p["firm"] for p in board["positions"]] == ["观音桥商贸有限公司"]
    with pytest.raises(Forbidden):
        jobfairs.record_update(session, pos.id, actor=li, as_of=HELD, applicants=6)


def test_hiring_needs_feed_the_invitation_list_and_signing_up_invites(session, fair):
    firm = fair["firms"][1]
    need = hiring.add_hiring_need(session, actor=SYSTEM, enterprise_id=firm.id,
                                  headcount=15, positions="装配工、注塑工",
                                  requested_on=dt.date(2022, 2, 10))
    session.commit()
    invite = hiring.invitation_list(session, fair["fair"].id, actor=SYSTEM)
    assert [(r["firm"], r["headcount"]) for r in invite] == [("海尔电器有限公司", 15)]
    jobfairs.sign_up(session, fair["fair"].id, firm.id, actor=SYSTEM)
    session.commit()
    session.refresh(need)
    assert need.status == "invited" and need.fair_id == fair["fair"].id
    assert hiring.invitation_list(session, fair["fair"].id, actor=SYSTEM) == []
    hiring.move_hiring_need(session, need.id, "meet", actor=SYSTEM)
    with pytest.raises(InvalidTransition):
        hiring.move_hiring_need(session, need.id, "invite", actor=SYSTEM)
    assert session.scalar(select(func.count()).select_from(FairPositionUpdate)) == 0


def test_the_fair_report_downloads_as_a_formatted_workbook(session, fair):
    import io

    from openpyxl import load_workbook

    from etl.app import jobfair_xlsx

    _update(session, fair["pos"], HELD, applicants=58, intents=32, medical_checks=10, hired=9)
    session.commit()
    data = jobfair_xlsx(session, fair["fair"].id, actor=SYSTEM, as_of=dt.date(2022, 4, 1))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["成效汇总", "参会企业", "岗位明细"]
    summary = wb["成效汇总"]
    assert summary["A1"].value == "2022年春风行动" and "2022-04-01" in summary["A2"].value
    cells = {row[0].value: row[1:] for row in summary.iter_rows(min_row=4)
             if row[0].value}
    assert cells["入职"][0].value == 9 and cells["招满率"][0].value == pytest.approx(0.45)
    assert cells["招满率"][0].number_format == "0.0%"
    assert cells["在岗90天"][0].value == "待满90天"
    assert cells["达成意向"][1].value == pytest.approx(32 / 58)
    positions = wb["岗位明细"]
    assert [c.value for c in positions[4]][:4] == ["韩泰轮胎有限公司", "成型工", 20, "5500-8500"]
