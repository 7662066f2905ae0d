"""走访: recording visits, policies delivered, appeals raised during a visit, imports, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm.errors import Forbidden, NotFound, ValidationError
from crm.models import Appeal, Assignment, Policy
from crm.services import dashboard, visits
from tests.conftest import RUN_TODAY

TODAY = RUN_TODAY
pytestmark = pytest.mark.usefixtures("district_clock")


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def served(session, world):
    """The world's cadre serves the world's 江北城街道 firm."""
    session.add(Assignment(kind="cadre_enterprise", person_id=world.cadre.person_id,
                           enterprise_id=world.firm.id, start_date=ago(100)))
    session.commit()
    return world


def policy_ids(session, n: int) -> list[int]:
    return list(session.scalars(select(Policy.id).order_by(Policy.id).limit(n)))


def test_a_cadre_records_a_visit_with_the_policies_delivered(session, served):
    ids = policy_ids(session, 2)
    visit = visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id,
                                way="onsite", visited_on=ago(1), notes=" 了解停车难 ",
                                policy_ids=ids)
    session.commit()
    assert (visit.person_id, visit.recorded_by_id, visit.notes) == \
        (served.cadre.person_id, served.cadre.id, "了解停车难")
    listed = visits.list_visits(session, actor=served.cadre)
    assert len(listed) == 1 and listed[0]["policies"].count("、") == 1
    assert listed[0]["appeals"] == 0


def test_an_appeal_raised_during_a_visit_is_logged_and_linked(session, served):
    visit = visits.record_visit(
        session, actor=served.cadre, enterprise_id=served.firm.id, way="meeting",
        appeals=[{"category_id": served.traffic.id, "title": "写字楼周边车辆乱停乱放",
                  "description": "早晚高峰", "contact_name": "刘经理"}])
    session.commit()
    appeal = session.scalar(select(Appeal).where(Appeal.visit_id == visit.id))
    assert (appeal.status, appeal.channel, appeal.enterprise_id, appeal.created_by_id) == \
        ("received", "meeting", served.firm.id, served.cadre.id)
    later = visits.raise_appeal(session, visit.id, actor=served.cadre,
                                category_id=served.traffic.id, title="停车位不足")
    assert later.visit_id == visit.id
    assert visits.list_visits(session, actor=served.cadre)[0]["appeals"] == 2


def test_a_visit_with_an_unusable_appeal_is_refused_whole(session, served):
    with pytest.raises(ValidationError):
        visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id,
                            way="onsite", appeals=[{"category_id": served.traffic.id,
                                                    "title": "  "}])


def test_a_cadre_cannot_record_a_visit_to_a_firm_they_do_not_serve(session, served):
    with pytest.raises(NotFound):
        visits.record_visit(session, actor=served.cadre, enterprise_id=served.other_firm.id,
                            way="phone")


@pytest.mark.parametrize("who", ["lead", "official"])
def test_handlers_and_officials_do_not_record_visits(session, served, who):
    with pytest.raises(Forbidden):
        visits.record_visit(session, actor=getattr(served, who), enterprise_id=served.firm.id,
                            way="phone")


def test_a_visit_in_the_future_or_by_an_unknown_way_is_refused(session, served):
    with pytest.raises(ValidationError):
        visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id,
                            way="onsite", visited_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id,
                            way="email")


def test_a_liaison_records_a_cadres_visit_or_their_own(session, served):
    theirs = visits.record_visit(session, actor=served.liaison, enterprise_id=served.firm.id,
                                 way="phone", person_id=served.cadre.person_id)
    own = visits.record_visit(session, actor=served.liaison, enterprise_id=served.firm.id,
                              way="onsite")
    assert theirs.person_id == served.cadre.person_id
    assert own.person_id is None and own.recorded_by_id == served.liaison.id
    with pytest.raises(NotFound):
        visits.record_visit(session, actor=served.liaison, enterprise_id=served.other_firm.id,
                            way="onsite")


def test_visit_lists_follow_the_scope(session, served):
    visits.record_visit(session, actor=served.admin, enterprise_id=served.firm.id, way="onsite",
                        person_id=served.cadre.person_id, visited_on=ago(3))
    visits.record_visit(session, actor=served.admin, enterprise_id=served.other_firm.id,
                        way="onsite", visited_on=ago(40))
    session.commit()
    assert [v["enterprise"] for v in visits.list_visits(session, actor=served.liaison)] \
        == [served.firm.name]
    assert [v["enterprise"] for v in visits.list_visits(session, actor=served.other_liaison)] \
        == [served.other_firm.name]
    assert len(visits.list_visits(session, actor=served.official)) == 2
    month = ago(40).strftime("%Y-%m")
    assert served.other_firm.name in [v["enterprise"] for v in visits.list_visits(
        session, actor=served.official, month=month)]


def test_the_export_reads_like_the_visit_log(session, served):
    visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id, way="phone",
                        visited_on=ago(2))
    rows = visits.export_rows(session, actor=served.official)
    assert rows[0]["走访方式"] == "电话" and rows[0]["统一社会信用代码"] == served.firm.uscc


def test_a_cadres_firms_say_when_the_next_visit_is_due(session, served):
    visits.record_visit(session, actor=served.cadre, enterprise_id=served.firm.id, way="phone",
                        visited_on=ago(80))
    session.commit()
    [firm] = dashboard.cadre_firms(session, actor=served.cadre)
    assert (firm["last_visit"], firm["days_since_visit"], firm["due_on"], firm["stale"]) == \
        (ago(80), 80, ago(80) + dt.timedelta(days=90), False)
    visits_none = dashboard.cadre_firms(session, actor=served.cadre, today=TODAY
                                        + dt.timedelta(days=11))
    assert visits_none[0]["stale"] is True


def test_an_admin_keeps_the_policy_list_and_a_retired_policy_is_no_longer_offered(
        session, served):
    from crm.services import policies

    added = policies.add_policy(session, " 科技型企业 研发补助 ", "区科技局", actor=served.admin)
    assert added.title == "科技型企业 研发补助"
    with pytest.raises(ValidationError):
        policies.add_policy(session, "科技型企业 研发补助", actor=served.admin)
    with pytest.raises(Forbidden):
        policies.add_policy(session, "另一项政策", actor=served.liaison)
    policies.update_policies(session, {added.id: {"active": False}}, actor=served.admin)
    offered = [p["title"] for p in visits.policies(session, actor=served.cadre)]
    assert "科技型企业 研发补助" not in offered and len(offered) == 6
