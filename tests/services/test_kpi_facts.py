"""The KPI rollup tables stay equal to the appeals they count, on every kind of write.

`kpi_facts.differences()` compares both tables with a fresh GROUP BY over
`appeal`; `kpi.compute(source=...)` must give the same numbers from either source.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.models import Appeal, Setting
from crm.models.kpi import kpi_day_cell, kpi_day_street
from crm.services import appeals as svc
from crm.services import kpi, kpi_facts
from crm.services.reference import set_setting
from tests.services.test_kpi import AS_OF, DISTRICT, add_fixture_appeals

DIMENSIONS = (None, "street", "unit", "category", "month")


def same_from_both_sources(session, **kw) -> None:
    for dim in DIMENSIONS:
        rolled = kpi.compute(session, group_by=dim, source="rollups", **kw)
        direct = kpi.compute(session, group_by=dim, source="appeals", **kw)
        assert rolled == direct, dim


def test_a_migrated_database_has_built_rollups(session):
    assert kpi_facts.differences(session) == []
    assert session.get(Setting, kpi_facts.MARKER).value == {"sign_limit_days": 1.0}


def test_every_service_action_keeps_the_rollups_exact(session, world):
    w = world
    a = svc.log_appeal(session, actor=w.liaison, enterprise_id=w.firm.id,
                       category_id=w.traffic.id, title="停车乱")
    b = svc.log_appeal(session, actor=w.liaison, enterprise_id=w.firm.id,
                       category_id=w.traffic.id, title="停车乱 again")
    session.commit()
    steps = [
        lambda: svc.dispatch(session, a.id, actor=w.liaison,
                             lead_unit_id=w.unit("区交巡警支队"),
                             co_unit_ids=[w.unit("区人力社保局")]),
        lambda: svc.return_appeal(session, a.id, actor=w.lead, reason="错派"),
        lambda: svc.dispatch(session, a.id, actor=w.liaison, lead_unit_id=w.unit("区交巡警支队")),
        lambda: svc.reassign(session, a.id, actor=w.liaison, lead_unit_id=w.unit("区人力社保局")),
        lambda: svc.accept(session, a.id, actor=w.co),
        lambda: svc.request_extension(session, a.id, actor=w.co, days=5, reason="现场协调"),
        lambda: svc.decide_extension(session, a.id, actor=w.liaison, approve=True),
        lambda: svc.reply(session, a.id, actor=w.co, reply_text="已处理", solved=True),
        lambda: svc.callback(session, a.id, actor=w.liaison, satisfaction="unsatisfied",
                             solved=False),
        lambda: svc.reopen(session, a.id, actor=w.liaison),
        lambda: svc.accept(session, a.id, actor=w.co),
        lambda: svc.reply(session, a.id, actor=w.co, reply_text="再处理", solved=True),
        lambda: svc.callback(session, a.id, actor=w.liaison, satisfaction="basic", solved=True),
        lambda: svc.merge(session, b.id, actor=w.liaison, into_id=a.id),
        lambda: svc.archive(session, a.id, actor=w.liaison),
    ]
    seen = []
    for step in steps:
        step()
        session.commit()
        assert kpi_facts.differences(session) == []
        seen.append(kpi.compute(session)["appeals_total"])
    assert seen[-1] == 1 and seen[0] == 2  # the merged duplicate stops counting
    same_from_both_sources(session)


def test_the_hand_computed_fixture_from_both_sources(session, data_appeals):
    assert kpi.compute(session, as_of=AS_OF, source="rollups") == DISTRICT
    assert kpi.compute(session, as_of=AS_OF, source="appeals") == DISTRICT
    same_from_both_sources(session, as_of=AS_OF)
    same_from_both_sources(session, as_of=AS_OF, date_from=dt.date(2026, 1, 6),
                           date_to=dt.date(2026, 1, 8))
    traffic = data_appeals.traffic.id
    same_from_both_sources(session, as_of=AS_OF, category_id=traffic)
    same_from_both_sources(session, as_of=AS_OF, actor=data_appeals.liaison)


@pytest.fixture
def data_appeals(session, world):
    add_fixture_appeals(session, world.firm, world.other_firm)
    session.commit()
    return world


def test_a_rolled_back_write_leaves_the_rollups_as_they_were(session, data_appeals):
    before = session.execute(select(func.sum(kpi_day_street.c.n_total))).scalar()
    appeal = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB6"))
    svc.dispatch(session, appeal.id, actor=data_appeals.liaison,
                 lead_unit_id=data_appeals.unit("区交巡警支队"))
    session.add(Appeal(code="X-1", enterprise_id=data_appeals.firm.id,
                       category_id=data_appeals.traffic.id, channel="visit", title="x",
                       status="received", received_at=dt.datetime(2026, 1, 2, 9),
                       due_date=dt.date(2026, 1, 9)))
    session.flush()
    assert session.execute(select(func.sum(kpi_day_street.c.n_total))).scalar() == before + 1
    session.rollback()
    assert session.execute(select(func.sum(kpi_day_street.c.n_total))).scalar() == before
    assert kpi_facts.differences(session) == []


def test_deleting_an_appeal_takes_it_out(session, data_appeals):
    session.delete(session.scalar(select(Appeal).where(Appeal.code == "KPI-DSB1")))
    session.commit()
    assert kpi_facts.differences(session) == []
    assert kpi.compute(session, as_of=AS_OF)["appeals_total"] == DISTRICT["appeals_total"] - 1


def test_replies_after_a_month_get_exact_percentiles(session, world):
    received = dt.datetime(2026, 3, 2, 9)
    for n, days in enumerate((40, 45, 50, 3)):
        session.add(Appeal(code=f"LONG-{n}", enterprise_id=world.firm.id,
                           street_id=world.firm.street_id, category_id=world.traffic.id,
                           channel="visit", title="慢", status="replied", received_at=received,
                           due_date=dt.date(2026, 3, 9),
                           replied_at=received + dt.timedelta(days=days)))
    session.commit()
    for source in ("rollups", "appeals"):
        numbers = kpi.compute(session, source=source)
        # nearest rank over 3, 40, 45, 50: median = 2nd = 40, p90 = 4th = 50
        assert (numbers["median_days_to_reply"], numbers["p90_days_to_reply"]) == (40, 50)
    assert session.execute(select(func.sum(kpi_day_street.c.d_over))).scalar() == 3
    same_from_both_sources(session)


def test_a_new_signing_limit_rebuilds_on_the_next_read(session, data_appeals):
    assert kpi.compute(session, as_of=AS_OF)["response_rate"] == 0.625
    set_setting(session, "kpi.sign_limit_days", 3)
    session.commit()
    # JB3 (signed one day and one second after dispatch) and DSB3 (two days) now count
    assert kpi.compute(session, as_of=AS_OF)["response_rate"] == 0.875
    assert session.get(Setting, kpi_facts.MARKER).value == {"sign_limit_days": 3.0}
    assert kpi_facts.differences(session) == []


def test_stale_rollups_are_left_alone_and_rebuilt_by_the_next_read(session, data_appeals):
    kpi_facts.invalidate(session)
    session.execute(kpi_day_street.delete())
    session.execute(kpi_day_cell.delete())
    session.commit()
    assert kpi_facts.differences(session) != []
    # writes while stale apply no deltas (the rebuild will count them)
    svc.log_appeal(session, actor=data_appeals.liaison, enterprise_id=data_appeals.firm.id,
                   category_id=data_appeals.traffic.id, title="新")
    session.commit()
    assert session.execute(select(func.count()).select_from(kpi_day_street)).scalar() == 0
    assert kpi.compute(session, as_of=AS_OF)["appeals_total"] == DISTRICT["appeals_total"] + 1
    assert kpi_facts.differences(session) == []


def test_differences_name_the_cell_that_drifted(session, data_appeals):
    session.execute(kpi_day_street.update().values(n_total=kpi_day_street.c.n_total + 1))
    problems = kpi_facts.differences(session)
    assert problems and all("kpi_day_street" in p and "n_total" in p for p in problems)


def test_handler_scope_reads_the_appeals_and_rollups_refuse_it(session, data_appeals):
    numbers = kpi.compute(session, actor=data_appeals.lead, as_of=AS_OF)
    assert numbers["appeals_total"] == 0  # the fixture dispatches to no unit
    with pytest.raises(ValueError):
        kpi.compute(session, actor=data_appeals.lead, source="rollups")
