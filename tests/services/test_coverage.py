"""Coverage numbers against a district small enough to count by hand.

TODAY is fixed; N (coverage.not_visited_days) is the default 90. Firms, with
the world's two firms (F0 in 江北城街道, G0 in 大石坝街道: no building, no cadre,
never visited):

江北城街道
  B1: F1 四上, cadre A, visited 5/29/30 days ago by A
      F2        cadre A, visited 100 days ago
      F3 四上, no cadre now (C served it until last year), never visited
  B2: F4        cadre B, visited exactly 90 days ago (still counts as visited)
      F6        cadre B, but the firm is inactive: counted nowhere
  --  F5        no cadre (an office owns it), visited 10 days ago by C
大石坝街道
  B3: F7 四上, cadre D, visited 91 days ago
  --  F8        no cadre, never visited
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.errors import Forbidden, ValidationError
from crm.models import Assignment, Building, Street, Visit
from crm.services import coverage
from crm.services.reference import set_setting
from crm.services.users import actor_of, add_user
from tests.services.conftest import make_firm

TODAY = dt.date(2026, 11, 15)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def district(session, world):
    streets = {s.name: s.id for s in session.scalars(select(Street))}
    jbc, dsb = streets["江北城街道"], streets["大石坝街道"]
    b1, b2, b3 = (Building(street_id=jbc, name="江北嘴国际金融中心"),
                  Building(street_id=jbc, name="江北嘴金融城2号"),
                  Building(street_id=dsb, name="大石坝科技园"))
    session.add_all([b1, b2, b3])
    session.flush()
    cadres = {}
    for name, street in (("A", "江北城街道"), ("B", "江北城街道"), ("C", "江北城街道"),
                         ("D", "大石坝街道")):
        cadres[name] = actor_of(add_user(session, f"cadre_{name}", role="cadre", street=street,
                                         display_name=f"干部{name}", actor=SYSTEM))
    firms = {"F0": world.firm, "G0": world.other_firm}
    for n, (key, street, building, above) in enumerate((
            ("F1", "江北城街道", b1, True), ("F2", "江北城街道", b1, False),
            ("F3", "江北城街道", b1, True), ("F4", "江北城街道", b2, False),
            ("F5", "江北城街道", None, False), ("F6", "江北城街道", b2, False),
            ("F7", "大石坝街道", b3, True), ("F8", "大石坝街道", None, False)), start=10):
        firm = make_firm(session, n, street, name=f"重庆{key}有限公司")
        firm.building_id = building.id if building else None
        firm.is_above_scale = above
        firms[key] = firm
    firms["F6"].active = False

    def assign(firm, cadre, start, end=None):
        session.add(Assignment(kind="cadre_enterprise", person_id=cadres[cadre].person_id,
                               enterprise_id=firms[firm].id, start_date=start, end_date=end))

    assign("F1", "A", days_ago(400))
    assign("F2", "A", days_ago(400))
    assign("F3", "C", days_ago(700), days_ago(350))
    assign("F4", "B", days_ago(300))
    assign("F6", "B", days_ago(300))
    assign("F7", "D", days_ago(300))
    # An office owning a firm is not a cadre: F5 stays uncovered.
    session.add(Assignment(kind="office_enterprise", unit_id=world.unit("区金融办"),
                           enterprise_id=firms["F5"].id, start_date=days_ago(300)))

    def visit(firm, cadre, ago):
        session.add(Visit(enterprise_id=firms[firm].id, way="onsite", visited_on=days_ago(ago),
                          person_id=cadres[cadre].person_id))

    for ago in (5, 29, 30):
        visit("F1", "A", ago)
    visit("F2", "A", 100)
    visit("F4", "B", 90)
    visit("F5", "C", 10)
    visit("F7", "D", 91)
    session.commit()
    return {"firms": firms, "cadres": cadres, "jbc": jbc, "dsb": dsb,
            "buildings": {"B1": b1.id, "B2": b2.id, "B3": b3.id}}


def numbers(row: dict) -> tuple:
    return (row["firms_total"], row["firms_covered"], row["above_scale_total"],
            row["above_scale_covered"], row["firms_without_cadre"], row["not_visited"])


def names(result: dict) -> set[str]:
    return {row["name"].removeprefix("重庆").removesuffix("有限公司") for row in result["rows"]}


def test_the_district_summary_matches_the_hand_count(session, world, district):
    summary = coverage.summary(session, actor=world.official, today=TODAY)
    assert summary == {
        "firms_total": 9, "firms_covered": 4, "coverage_rate": pytest.approx(4 / 9),
        "above_scale_total": 3, "above_scale_covered": 2,
        "above_scale_coverage_rate": pytest.approx(2 / 3),
        "firms_without_cadre": 5, "not_visited": 6, "not_visited_days": 90,
        "visits_last_30_days": 3,  # F1 at 5 and 29 days and F5 at 10; 30 days ago is out
    }


def test_the_matrix_counts_each_street_and_building(session, world, district):
    rows = coverage.matrix(session, actor=world.official, today=TODAY)
    got = [(r["level"], r["street"], r["building"], numbers(r)) for r in rows]
    assert got == [
        ("street", "江北城街道", None, (6, 3, 2, 1, 3, 3)),
        ("building", "江北城街道", "江北嘴国际金融中心", (3, 2, 2, 1, 1, 2)),
        ("building", "江北城街道", "江北嘴金融城2号", (1, 1, 0, 0, 0, 0)),
        ("building", "江北城街道", None, (2, 0, 0, 0, 2, 1)),
        ("street", "大石坝街道", None, (3, 1, 1, 1, 2, 3)),
        ("building", "大石坝街道", "大石坝科技园", (1, 1, 1, 1, 0, 1)),
        ("building", "大石坝街道", None, (2, 0, 0, 0, 2, 2)),
    ]
    jbc = rows[0]
    assert jbc["coverage_rate"] == pytest.approx(0.5)
    assert rows[3]["building_id"] == coverage.NO_BUILDING
    assert rows[2]["above_scale_coverage_rate"] is None  # no 四上 firm in B2


def test_the_overview_summary_is_the_sum_of_the_matrix(session, world, district):
    both = coverage.overview(session, actor=world.official, today=TODAY)
    assert both["summary"] == coverage.summary(session, actor=world.official, today=TODAY)
    assert both["matrix"] == coverage.matrix(session, actor=world.official, today=TODAY)


def test_each_number_drills_down_to_the_firms_behind_it(session, world, district):
    def drill(measure, **kw):
        return coverage.firm_list(session, actor=world.official, measure=measure, today=TODAY,
                                  **kw)

    not_visited = drill("not_visited")
    assert not_visited["total"] == 6
    assert names(not_visited) == {"F2", "F3", "F7", "F8", "江北嘴证券服务", "齐祥灯饰"}
    assert names(drill("covered")) == {"F1", "F2", "F4", "F7"}
    assert names(drill("above_scale_uncovered")) == {"F3"}
    assert names(drill("above_scale_covered")) == {"F1", "F7"}
    assert names(drill("uncovered", building_id=district["buildings"]["B1"])) == {"F3"}
    no_building = drill("all", street_id=district["jbc"], building_id=coverage.NO_BUILDING)
    assert no_building["total"] == 2 and "F5" in names(no_building)
    rows = {r["name"]: r for r in drill("all", building_id=district["buildings"]["B1"])["rows"]}
    f1 = rows["重庆F1有限公司"]
    assert (f1["cadre"], f1["last_visit"], f1["days_since_visit"]) == ("干部A", days_ago(5), 5)
    assert rows["重庆F3有限公司"]["cadre"] is None  # C's assignment ended: history, not cover
    # the least recently visited first, never-visited at the top
    assert [r["name"] for r in drill("all", building_id=district["buildings"]["B1"])["rows"]] \
        == ["重庆F3有限公司", "重庆F2有限公司", "重庆F1有限公司"]


def test_a_drill_down_is_capped_but_tells_the_total(session, world, district):
    result = coverage.firm_list(session, actor=world.official, measure="all", limit=2,
                                today=TODAY)
    assert result["total"] == 9 and len(result["rows"]) == 2


def test_an_unknown_measure_is_refused(session, world, district):
    with pytest.raises(ValidationError):
        coverage.firm_list(session, actor=world.official, measure="everything")


def test_the_not_visited_window_is_a_setting(session, world, district):
    set_setting(session, coverage.NOT_VISITED_KEY, 95)
    session.flush()
    summary = coverage.summary(session, actor=world.official, today=TODAY)
    assert (summary["not_visited_days"], summary["not_visited"]) == (95, 5)  # F7 at 91 counts


def test_a_liaison_sees_their_street_only(session, world, district):
    summary = coverage.summary(session, actor=world.liaison, today=TODAY)
    assert numbers(summary) == (6, 3, 2, 1, 3, 3)
    assert summary["visits_last_30_days"] == 3
    assert {r["street"] for r in coverage.matrix(session, actor=world.liaison, today=TODAY)} \
        == {"江北城街道"}
    other = coverage.summary(session, actor=world.liaison, street_id=district["dsb"],
                             today=TODAY)
    assert numbers(other) == (0, 0, 0, 0, 0, 0)
    assert other["coverage_rate"] is None and other["above_scale_coverage_rate"] is None
    assert "F7" not in names(coverage.firm_list(session, actor=world.liaison, today=TODAY))
    assert [s["id"] for s in coverage.streets(session, actor=world.liaison)] == [district["jbc"]]


def test_an_official_may_narrow_to_one_street(session, world, district):
    summary = coverage.summary(session, actor=world.official, street_id=district["dsb"],
                               today=TODAY)
    assert numbers(summary) == (3, 1, 1, 1, 2, 3)
    assert summary["visits_last_30_days"] == 0


def test_a_cadre_sees_the_coverage_of_their_own_firms(session, world, district):
    a = district["cadres"]["A"]
    summary = coverage.summary(session, actor=a, today=TODAY)
    assert numbers(summary) == (2, 2, 1, 1, 0, 1)


@pytest.mark.parametrize("who", ["lead", "outsider"])
def test_a_handler_may_not_read_coverage(session, world, district, who):
    with pytest.raises(Forbidden):
        coverage.summary(session, actor=getattr(world, who))


def test_visits_per_cadre_per_month_include_cadres_who_visited_nobody(session, world, district):
    result = coverage.visits_by_cadre(session, actor=world.official, months=2, today=TODAY)
    assert result["months"] == ["2026-10", "2026-11"]
    got = [(r["cadre"], r["firms"], r["total"], r["by_month"]) for r in result["rows"]]
    assert got == [
        ("干部A", 2, 3, {"2026-10": 2, "2026-11": 1}),   # Oct 16 and 17, Nov 10
        ("干部C", 0, 1, {"2026-10": 0, "2026-11": 1}),   # serves nobody now, visited F5
        ("干部B", 1, 0, {"2026-10": 0, "2026-11": 0}),   # F6 is inactive: one firm, not two
        ("干部D", 1, 0, {"2026-10": 0, "2026-11": 0}),
    ]


def test_visits_per_cadre_follow_the_scope(session, world, district):
    rows = coverage.visits_by_cadre(session, actor=world.other_liaison, months=3,
                                    today=TODAY)["rows"]
    assert [(r["cadre"], r["firms"], r["total"]) for r in rows] == [("干部D", 1, 0)]


def test_the_month_list_crosses_the_new_year():
    assert coverage.last_months(dt.date(2026, 2, 3), 4) == ["2025-11", "2025-12", "2026-01",
                                                            "2026-02"]


def test_an_empty_district_has_no_rates(session, world):
    summary = coverage.summary(session, actor=world.official, street_id=999, today=TODAY)
    assert summary["firms_total"] == 0 and summary["coverage_rate"] is None
    assert coverage.matrix(session, actor=world.official, street_id=999, today=TODAY) == []
