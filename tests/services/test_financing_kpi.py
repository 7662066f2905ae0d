"""Financing KPIs on a hand-made district whose every number is worked out below.

Period 2026-01-01 … 2026-03-31. Chambers 一 (firms F1, F2) and 二 (F3); banks 一 (P1)
and 二 (P2). Needs (万元) and their matches:

    N1 F1 一 100 01-10  M1 P1 approved 80 01-20, disbursed 80 02-05   M2 P2 rejected
    N2 F2 一  50 02-01  M3 P2 approved 50 02-15
    N3 F3 二 200 02-10  M4 P1 approved 150 03-01, disbursed 120 03-11  M5 P2 applied
    N4 F1 —   30 03-05  (raised by a cadre: no chamber), no match
    N5 F3 二  70 2025-12-20 (before the period)  M6 P1 approved 70 01-05, disbursed 70 01-15
    N6 F2 一  40 04-10 (after the period), no match
    N7 F2 一  20 03-01  M7 P2 approved 20 03-02, disbursed 20 03-04

Days to money (needs raised in the period): N1 26, N3 29, N7 3.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.errors import Forbidden, ValidationError
from crm.models import (
    Bank,
    BankProduct,
    Chamber,
    FinancingMatch,
    FinancingNeed,
    Street,
    chamber_member,
)
from crm.services import financing_kpi
from crm.services.users import actor_of, add_user
from tests.services.conftest import make_firm

D = dt.date
PERIOD = {"date_from": D(2026, 1, 1), "date_to": D(2026, 3, 31)}


@pytest.fixture
def fin(session):
    street = session.scalar(select(Street.id).where(Street.name == "大石坝街道"))
    ids: dict[str, int] = {}
    for key, name in (("C1", "一商会"), ("C2", "二商会")):
        chamber = Chamber(name=name, street_id=street)
        session.add(chamber)
        session.flush()
        ids[key] = chamber.id
    for key, name in (("B1", "一银行"), ("B2", "二银行")):
        bank = Bank(name=name)
        session.add(bank)
        session.flush()
        ids[key] = bank.id
    for key, bank in (("P1", "B1"), ("P2", "B2")):
        product = BankProduct(bank_id=ids[bank], name=f"测试贷{key}")
        session.add(product)
        session.flush()
        ids[key] = product.id
    for n, (key, chamber) in enumerate((("F1", "C1"), ("F2", "C1"), ("F3", "C2")), start=1):
        firm = make_firm(session, 900 + n, "大石坝街道", f"融资测试{key}有限公司")
        ids[key] = firm.id
        session.execute(chamber_member.insert().values(chamber_id=ids[chamber],
                                                       enterprise_id=firm.id))
    for key, firm, chamber, amount, day in (
            ("N1", "F1", "C1", 100, D(2026, 1, 10)), ("N2", "F2", "C1", 50, D(2026, 2, 1)),
            ("N3", "F3", "C2", 200, D(2026, 2, 10)), ("N4", "F1", None, 30, D(2026, 3, 5)),
            ("N5", "F3", "C2", 70, D(2025, 12, 20)), ("N6", "F2", "C1", 40, D(2026, 4, 10)),
            ("N7", "F2", "C1", 20, D(2026, 3, 1))):
        need = FinancingNeed(enterprise_id=ids[firm], chamber_id=ids.get(chamber),
                             amount=Decimal(amount), requested_on=day, purpose=f"用途{key}")
        session.add(need)
        session.flush()
        ids[key] = need.id
    for key, need, product, status, approved, approved_on, paid, paid_on in (
            ("M1", "N1", "P1", "disbursed", 80, D(2026, 1, 20), 80, D(2026, 2, 5)),
            ("M2", "N1", "P2", "rejected", None, None, None, None),
            ("M3", "N2", "P2", "approved", 50, D(2026, 2, 15), None, None),
            ("M4", "N3", "P1", "disbursed", 150, D(2026, 3, 1), 120, D(2026, 3, 11)),
            ("M5", "N3", "P2", "applied", None, None, None, None),
            ("M6", "N5", "P1", "disbursed", 70, D(2026, 1, 5), 70, D(2026, 1, 15)),
            ("M7", "N7", "P2", "disbursed", 20, D(2026, 3, 2), 20, D(2026, 3, 4))):
        match = FinancingMatch(
            need_id=ids[need], product_id=ids[product], status=status,
            approved_amount=None if approved is None else Decimal(approved),
            approved_on=approved_on, disbursed_amount=None if paid is None else Decimal(paid),
            disbursed_on=paid_on, rejected_reason="征信逾期" if status == "rejected" else None)
        session.add(match)
        session.flush()
        ids[key] = match.id
    actors = {}
    for login, role, chamber in (("fk_c1", "chamber", "一商会"), ("fk_c2", "chamber", "二商会"),
                                 ("fk_off", "official", None), ("fk_adm", "admin", None),
                                 ("fk_li", "liaison", None), ("fk_li_jbc", "liaison", None),
                                 ("fk_hd", "handler", None), ("fk_emp", "employment", None)):
        street_name = {"fk_li": "大石坝街道", "fk_li_jbc": "江北城街道"}.get(login)
        actors[login] = actor_of(add_user(session, login, role=role, chamber=chamber,
                                          street=street_name, actor=SYSTEM,
                                          unit="区交巡警支队" if role == "handler" else None))
    session.commit()
    return ids, actors


def test_the_totals_of_the_period(session, fin):
    ids, actors = fin
    data = financing_kpi.summary(session, actor=actors["fk_off"], **PERIOD)
    assert data["totals"] == {
        "needs": 5, "amount_needed": 400.0, "amount_approved": 370.0,
        "amount_disbursed": 290.0, "approved": 4, "decided": 5, "approval_rate": 0.8,
        "median_days_to_money": 26, "mean_days_to_money": 19.3}


def test_by_chamber_the_rows_add_up_to_the_totals(session, fin):
    ids, actors = fin
    data = financing_kpi.summary(session, actor=actors["fk_adm"], **PERIOD)
    rows = {r["chamber"]: r for r in data["by_chamber"]}
    assert list(rows) == ["一商会", "二商会", None]
    assert {k: rows["一商会"][k] for k in financing_kpi.KEYS} == {
        "needs": 3, "amount_needed": 170.0, "amount_approved": 150.0,
        "amount_disbursed": 100.0, "approved": 3, "decided": 4, "approval_rate": 0.75,
        "median_days_to_money": 14.5, "mean_days_to_money": 14.5}
    assert {k: rows["二商会"][k] for k in financing_kpi.KEYS} == {
        "needs": 1, "amount_needed": 200.0, "amount_approved": 220.0,
        "amount_disbursed": 190.0, "approved": 1, "decided": 1, "approval_rate": 1.0,
        "median_days_to_money": 29, "mean_days_to_money": 29.0}
    assert rows[None]["needs"] == 1 and rows[None]["amount_needed"] == 30.0
    assert rows[None]["approval_rate"] is None and rows[None]["median_days_to_money"] is None
    for key in ("needs", "amount_needed", "amount_approved", "amount_disbursed", "decided"):
        assert sum(r[key] for r in rows.values()) == data["totals"][key], key


def test_by_bank_with_its_approval_rate(session, fin):
    ids, actors = fin
    rows = {r["bank"]: r for r in
            financing_kpi.summary(session, actor=actors["fk_off"], **PERIOD)["by_bank"]}
    assert list(rows) == ["一银行", "二银行"]
    assert {k: rows["一银行"][k] for k in financing_kpi.KEYS} == {
        "needs": 2, "amount_needed": 300.0, "amount_approved": 300.0,
        "amount_disbursed": 270.0, "approved": 2, "decided": 2, "approval_rate": 1.0,
        "median_days_to_money": 27.5, "mean_days_to_money": 27.5}
    assert {k: rows["二银行"][k] for k in financing_kpi.KEYS} == {
        "needs": 4, "amount_needed": 370.0, "amount_approved": 70.0,
        "amount_disbursed": 20.0, "approved": 2, "decided": 3, "approval_rate": 0.6667,
        "median_days_to_money": 3, "mean_days_to_money": 3.0}


def test_by_month_each_amount_in_the_month_of_its_own_date(session, fin):
    ids, actors = fin
    rows = financing_kpi.summary(session, actor=actors["fk_off"], **PERIOD)["by_month"]
    assert [(r["month"], r["needs"], r["amount_needed"], r["amount_approved"],
             r["amount_disbursed"], r["approval_rate"], r["median_days_to_money"])
            for r in rows] == [
        ("2026-01", 1, 100.0, 150.0, 70.0, 0.5, 26),
        ("2026-02", 2, 250.0, 50.0, 80.0, 1.0, 29),
        ("2026-03", 2, 50.0, 170.0, 140.0, 1.0, 3)]


def test_filters_narrow_every_number(session, fin):
    ids, actors = fin
    by_bank = financing_kpi.summary(session, actor=actors["fk_off"], bank_id=ids["B2"],
                                    **PERIOD)
    assert by_bank["totals"]["amount_disbursed"] == 20.0
    assert by_bank["totals"]["needs"] == 4
    assert [r["bank"] for r in by_bank["by_bank"]] == ["二银行"]
    by_chamber = financing_kpi.summary(session, actor=actors["fk_off"],
                                       chamber_id=ids["C2"], **PERIOD)
    assert by_chamber["totals"]["amount_approved"] == 220.0
    assert [r["chamber"] for r in by_chamber["by_chamber"]] == ["二商会"]
    march = financing_kpi.summary(session, actor=actors["fk_off"],
                                  date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert march["totals"]["needs"] == 2 and march["totals"]["amount_disbursed"] == 140.0
    assert [r["month"] for r in march["by_month"]] == ["2026-03"]


def test_a_chamber_clerk_counts_their_member_firms_only(session, fin):
    ids, actors = fin
    mine = financing_kpi.summary(session, actor=actors["fk_c1"], **PERIOD)["totals"]
    # F1 and F2's needs: N1, N2, N4 (raised by no chamber, but F1 is a member), N7
    assert (mine["needs"], mine["amount_needed"], mine["amount_approved"],
            mine["amount_disbursed"], mine["approved"], mine["decided"]) \
        == (4, 200.0, 150.0, 100.0, 3, 4)
    theirs = financing_kpi.summary(session, actor=actors["fk_c2"], **PERIOD)["totals"]
    assert (theirs["needs"], theirs["amount_approved"], theirs["amount_disbursed"]) \
        == (1, 220.0, 190.0)
    rows = financing_kpi.drill(session, "amount_disbursed", actor=actors["fk_c2"], **PERIOD)
    assert {r["firm"] for r in rows["rows"]} == {"融资测试F3有限公司"}


def test_a_liaison_counts_their_streets_firms(session, fin):
    ids, actors = fin
    mine = financing_kpi.summary(session, actor=actors["fk_li"], **PERIOD)["totals"]
    assert (mine["needs"], mine["amount_disbursed"]) == (5, 290.0)  # every firm is 大石坝's
    elsewhere = financing_kpi.summary(session, actor=actors["fk_li_jbc"], **PERIOD)["totals"]
    assert (elsewhere["needs"], elsewhere["amount_disbursed"], elsewhere["decided"]) == (
        0, 0.0, 0)


@pytest.mark.parametrize("login", ["fk_hd", "fk_emp"])
def test_roles_without_financing_read_are_refused(session, fin, login):
    ids, actors = fin
    with pytest.raises(Forbidden):
        financing_kpi.summary(session, actor=actors[login], **PERIOD)
    with pytest.raises(Forbidden):
        financing_kpi.drill(session, "needs", actor=actors[login], **PERIOD)


def test_the_drill_down_names_the_records_behind_a_number(session, fin):
    ids, actors = fin
    off = actors["fk_off"]
    paid = financing_kpi.drill(session, "amount_disbursed", actor=off, **PERIOD)
    assert [r["match_id"] for r in paid["rows"]] == [ids["M6"], ids["M1"], ids["M7"],
                                                     ids["M4"]]
    assert paid["total"] == 290.0 and paid["count"] == 4
    m4 = paid["rows"][-1]
    assert (m4["firm"], m4["chamber"], m4["bank"], m4["product"], m4["amount"],
            m4["approved_amount"], m4["disbursed_amount"], m4["disbursed_on"],
            m4["days_to_money"]) == ("融资测试F3有限公司", "二商会", "一银行", "测试贷P1",
                                     200.0, 150.0, 120.0, D(2026, 3, 11), 29)
    waits = financing_kpi.drill(session, "days_to_money", actor=off, chamber_id=ids["C1"],
                                **PERIOD)
    assert [(r["need_id"], r["days_to_money"]) for r in waits["rows"]] == [
        (ids["N1"], 26), (ids["N7"], 3)]
    decided = financing_kpi.drill(session, "decided", actor=off, bank_id=ids["B2"], **PERIOD)
    assert [(r["match_id"], r["status"]) for r in decided["rows"]] == [
        (ids["M2"], "rejected"), (ids["M3"], "approved"), (ids["M7"], "disbursed")]
    assert decided["rows"][0]["rejected_reason"] == "征信逾期"
    january = financing_kpi.drill(session, "amount_approved", actor=off, month="2026-01",
                                  **PERIOD)
    assert january["total"] == 150.0
    nobody = financing_kpi.drill(session, "needs", actor=off, none_chamber=True, **PERIOD)
    assert [r["need_id"] for r in nobody["rows"]] == [ids["N4"]]


def test_every_number_of_every_row_drills_to_records_that_make_it(session, fin):
    """The drill-down and the summary count the same records, row by row."""
    ids, actors = fin
    for login in ("fk_off", "fk_c1"):
        actor = actors[login]
        data = financing_kpi.summary(session, actor=actor, **PERIOD)
        groups = [({}, data["totals"])]
        groups += [({"chamber_id": r["chamber_id"]} if r["chamber_id"] is not None
                    else {"none_chamber": True}, r) for r in data["by_chamber"]]
        groups += [({"bank_id": r["bank_id"]}, r) for r in data["by_bank"]]
        groups += [({"month": r["month"]}, r) for r in data["by_month"]]
        for filters, row in groups:
            for measure, key, part in (("needs", "needs", "count"),
                                       ("amount_needed", "amount_needed", "total"),
                                       ("amount_approved", "amount_approved", "total"),
                                       ("amount_disbursed", "amount_disbursed", "total"),
                                       ("approved", "approved", "count"),
                                       ("decided", "decided", "count")):
                got = financing_kpi.drill(session, measure, actor=actor, **filters, **PERIOD)
                assert got[part] == row[key], (login, filters, measure)
            waits = financing_kpi.drill(session, "days_to_money", actor=actor, **filters,
                                        **PERIOD)
            days = sorted(r["days_to_money"] for r in waits["rows"])
            assert (days[len(days) // 2] if len(days) % 2 else
                    (sum(days[len(days) // 2 - 1:len(days) // 2 + 1]) / 2 if days else None)
                    ) == row["median_days_to_money"], (login, filters)


def test_bad_input_is_refused_with_the_field(session, fin):
    ids, actors = fin
    with pytest.raises(ValidationError) as err:
        financing_kpi.drill(session, "profit", actor=actors["fk_off"])
    assert err.value.params["field"] == "measure"
    with pytest.raises(ValidationError):
        financing_kpi.summary(session, actor=actors["fk_off"], date_from=D(2026, 3, 1),
                              date_to=D(2026, 1, 1))


def test_without_a_period_everything_on_file_counts(session, fin):
    ids, actors = fin
    data = financing_kpi.summary(session, actor=actors["fk_off"])
    assert data["totals"]["needs"] == 7 and data["totals"]["amount_needed"] == 510.0
    assert data["by_month"][0]["month"] == "2025-12" and data["by_month"][-1]["month"] == \
        "2026-04"
