"""包联: assigning firms and buildings, the one-active-cadre rule, reassignment with history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.access import SYSTEM
from crm.errors import Forbidden, NotFound, ValidationError
from crm.models import Assignment, AuditLog, Building, Person, Street
from crm.services import assignment_queries, assignments
from crm.services.users import actor_of, add_user
from tests.conftest import RUN_TODAY
from tests.services.conftest import make_firm

TODAY = RUN_TODAY
pytestmark = pytest.mark.usefixtures("district_clock")


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def people(session, world):
    """Two more cadres of 江北城街道 and one of 大石坝街道, as logins with a person each."""
    made = {name: actor_of(add_user(session, name, role="cadre", street=street,
                                    display_name=display, actor=SYSTEM))
            for name, street, display in (("wang", "江北城街道", "王干部"),
                                          ("zhang", "江北城街道", "张干部"),
                                          ("li_dsb", "大石坝街道", "李干部"))}
    session.commit()
    return made


def history(session, enterprise_id: int) -> list[tuple]:
    rows = session.execute(
        select(Person.name, Assignment.start_date, Assignment.end_date)
        .join(Person, Assignment.person_id == Person.id)
        .where(Assignment.enterprise_id == enterprise_id, Assignment.kind == "cadre_enterprise")
        .order_by(Assignment.start_date, Assignment.id)).all()
    return [tuple(r) for r in rows]


def test_a_liaison_assigns_a_cadre_of_their_street_to_a_firm_of_their_street(
        session, world, people):
    a = assignments.assign_cadre(session, actor=world.liaison, enterprise_id=world.firm.id,
                                 person_id=people["wang"].person_id, start_date=ago(10))
    session.commit()
    assert (a.kind, a.start_date, a.end_date, a.created_by_id) == \
        ("cadre_enterprise", ago(10), None, world.liaison.id)
    assert assignments.active_cadre(session, world.firm.id).person_id == people["wang"].person_id


def test_a_firm_served_by_someone_is_refused_with_their_name(session, world, people):
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=people["wang"].person_id, start_date=ago(30))
    with pytest.raises(ValidationError) as err:
        assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                                 person_id=people["zhang"].person_id)
    assert err.value.key == "assignment.has_cadre" and err.value.params["name"] == "王干部"


def test_replacing_a_cadre_closes_the_old_assignment_the_day_before(session, world, people):
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=people["wang"].person_id, start_date=ago(30))
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=people["zhang"].person_id, start_date=ago(5),
                             replace=True)
    session.commit()
    assert history(session, world.firm.id) == [("王干部", ago(30), ago(6)),
                                               ("张干部", ago(5), None)]


def test_assigning_the_same_cadre_again_changes_nothing(session, world, people):
    first = assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                                     person_id=people["wang"].person_id, start_date=ago(3))
    again = assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                                     person_id=people["wang"].person_id)
    assert again.id == first.id
    assert len(history(session, world.firm.id)) == 1


def test_the_database_itself_refuses_a_second_active_cadre(session, world, people):
    for who in ("wang", "zhang"):
        session.add(Assignment(kind="cadre_enterprise", person_id=people[who].person_id,
                               enterprise_id=world.firm.id, start_date=ago(1)))
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_assignment_cannot_start_in_the_future(session, world, people):
    with pytest.raises(ValidationError, match="future"):
        assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                                 person_id=people["wang"].person_id,
                                 start_date=TODAY + dt.timedelta(days=1))


def test_a_liaison_cannot_reach_another_streets_firms_or_people(session, world, people):
    with pytest.raises(NotFound):
        assignments.assign_cadre(session, actor=world.liaison, enterprise_id=world.other_firm.id,
                                 person_id=people["wang"].person_id)
    with pytest.raises(Forbidden):
        assignments.assign_cadre(session, actor=world.liaison, enterprise_id=world.firm.id,
                                 person_id=people["li_dsb"].person_id)


@pytest.mark.parametrize("who", ["cadre", "official", "lead"])
def test_only_admins_and_liaisons_assign(session, world, people, who):
    with pytest.raises(Forbidden):
        assignments.assign_cadre(session, actor=getattr(world, who),
                                 enterprise_id=world.firm.id,
                                 person_id=people["wang"].person_id)


def test_ending_an_assignment_keeps_it_as_history(session, world, people):
    a = assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                                 person_id=people["wang"].person_id, start_date=ago(20))
    assignments.end_assignment(session, a.id, actor=world.liaison, end_date=ago(2))
    session.commit()
    assert history(session, world.firm.id) == [("王干部", ago(20), ago(2))]
    assert assignments.active_cadre(session, world.firm.id) is None
    with pytest.raises(ValidationError):
        assignments.end_assignment(session, a.id, actor=world.admin)


def _firms(session, n: int, street: str = "江北城街道", start: int = 100):
    return [make_firm(session, start + i, street) for i in range(n)]


def test_a_cadre_who_leaves_hands_everything_to_the_successor_in_one_step(
        session, world, people):
    wang, zhang = people["wang"].person_id, people["zhang"].person_id
    firms = _firms(session, 3)
    jbc = session.scalar(select(Street.id).where(Street.name == "江北城街道"))
    tower = Building(street_id=jbc, name="江北嘴国际金融中心")
    session.add(tower)
    session.flush()
    for firm in firms[:2]:
        assignments.assign_cadre(session, actor=world.admin, enterprise_id=firm.id,
                                 person_id=wang, start_date=ago(100))
    # the third firm was Wang's once and is Zhang's already: history that must not move
    session.add(Assignment(kind="cadre_enterprise", person_id=wang, enterprise_id=firms[2].id,
                           start_date=ago(300), end_date=ago(200)))
    assignments.assign_building(session, actor=world.admin, building_id=tower.id,
                                person_id=wang, start_date=ago(100))
    session.commit()

    moved = assignments.reassign_all(session, actor=world.liaison, from_person_id=wang,
                                     to_person_id=zhang, on_date=ago(1))
    session.commit()

    assert moved == {"firms": 2, "buildings": 1}
    for firm in firms[:2]:
        assert history(session, firm.id) == [("王干部", ago(100), ago(2)),
                                             ("张干部", ago(1), None)]
    assert history(session, firms[2].id) == [("王干部", ago(300), ago(200))]
    buildings = session.execute(select(Assignment.person_id, Assignment.end_date)
                                .where(Assignment.building_id == tower.id)
                                .order_by(Assignment.id)).all()
    assert [tuple(b) for b in buildings] == [(wang, ago(2)), (zhang, None)]
    assert session.scalar(select(func.count()).select_from(Assignment)
                          .where(Assignment.person_id == wang,
                                 Assignment.end_date.is_(None))) == 0
    log = session.scalar(select(AuditLog).where(AuditLog.action == "assignment.reassign_all"))
    assert log.entity_id == wang and log.detail["firms"] == 2


def test_a_handover_on_the_day_an_assignment_began_keeps_the_dates_ordered(
        session, world, people):
    wang, zhang = people["wang"].person_id, people["zhang"].person_id
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=wang)
    assignments.reassign_all(session, actor=world.admin, from_person_id=wang,
                             to_person_id=zhang)
    session.commit()
    assert history(session, world.firm.id) == [("王干部", TODAY, TODAY), ("张干部", TODAY, None)]


def test_a_liaison_hands_over_only_their_own_streets_firms(session, world, people):
    wang, zhang = people["wang"].person_id, people["zhang"].person_id
    # An admin once gave Wang a firm in 大石坝街道 too.
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.other_firm.id,
                             person_id=wang, start_date=ago(10))
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=wang, start_date=ago(10))
    moved = assignments.reassign_all(session, actor=world.liaison, from_person_id=wang,
                                     to_person_id=zhang)
    assert moved == {"firms": 1, "buildings": 0}
    assert assignments.active_cadre(session, world.other_firm.id).person_id == wang


def test_a_handover_to_oneself_is_refused(session, world, people):
    with pytest.raises(ValidationError):
        assignments.reassign_all(session, actor=world.admin,
                                 from_person_id=people["wang"].person_id,
                                 to_person_id=people["wang"].person_id)


def test_many_firms_at_once_reports_those_served_by_someone_else(session, world, people):
    firms = _firms(session, 4)
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=firms[0].id,
                             person_id=people["zhang"].person_id, start_date=ago(5))
    result = assignments.assign_firms(session, [f.id for f in firms] + [world.other_firm.id],
                                      actor=world.liaison, person_id=people["wang"].person_id)
    assert (result.created, result.unchanged, result.closed) == (3, 0, 0)
    assert [(e.row, e.key) for e in result.errors] == [(1, "assignment.has_cadre"),
                                                       (5, "assignment.firm_not_found")]
    again = assignments.assign_firms(session, [f.id for f in firms[1:]], actor=world.liaison,
                                     person_id=people["wang"].person_id)
    assert (again.created, again.unchanged, again.errors) == (0, 3, [])


def test_a_buildings_firms_can_be_found_and_assigned_together(session, world, people):
    jbc = session.scalar(select(Street.id).where(Street.name == "江北城街道"))
    tower = Building(street_id=jbc, name="江北嘴国际金融中心")
    session.add(tower)
    session.flush()
    firms = _firms(session, 3)
    for firm in firms[:2]:
        firm.building_id = tower.id
    session.flush()
    listed = assignment_queries.firms_to_assign(session, actor=world.liaison, building_id=tower.id)
    assert sorted(f["id"] for f in listed) == sorted(f.id for f in firms[:2])
    assignments.assign_firms(session, [f["id"] for f in listed], actor=world.liaison,
                             person_id=people["wang"].person_id)
    assert assignment_queries.firms_to_assign(session, actor=world.liaison, building_id=tower.id,
                                       uncovered_only=True) == []


def test_the_list_and_the_export_follow_the_scope(session, world, people):
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.firm.id,
                             person_id=people["wang"].person_id, start_date=ago(5))
    assignments.assign_cadre(session, actor=world.admin, enterprise_id=world.other_firm.id,
                             person_id=people["li_dsb"].person_id, start_date=ago(5))
    mine = assignment_queries.list_assignments(session, actor=world.liaison)
    assert [r["enterprise"] for r in mine] == [world.firm.name]
    everything = assignment_queries.export_rows(session, actor=world.official)
    assert len(everything) == 2
    assert everything[0].keys() >= {"统一社会信用代码", "企业名称", "包联干部", "开始日期"}
    assert {r["包联方式"] for r in everything} == {"干部一对一"}
    own = assignment_queries.list_assignments(session, actor=people["wang"])
    assert own[0]["person"] == "王干部"


def test_people_and_buildings_offered_to_a_liaison_are_their_streets(session, world, people):
    offered = assignment_queries.people(session, actor=world.liaison)
    assert {p["name"] for p in offered} >= {"王干部", "张干部"}
    assert "李干部" not in {p["name"] for p in offered}
    assert assignment_queries.people(session, actor=world.lead) == []
