"""The KPI rollup tables stay equal to the appeals they count, on every kind of write.

`kpi_facts.differences()` compares both tables with a fresh GROUP BY over
`appeal`; `kpi.compute(source=...)` must give the same numbers from either source.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.errors import Forbidden
from crm.models import Appeal
from crm.models.kpi import HIST, kpi_day_cell, kpi_day_street, kpi_delta, kpi_state
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
    state = session.execute(select(kpi_state)).one()
    assert state.built and state.sign_limit_days == 1.0


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
    kpi_facts.fold(session)  # as the first reader would: the counts in the tables
    session.commit()
    return world


def test_every_write_bumps_the_revision_the_cache_keys_on(session, data_appeals):
    before = kpi_facts.revision(session)
    svc.log_appeal(session, actor=data_appeals.liaison, enterprise_id=data_appeals.firm.id,
                   category_id=data_appeals.traffic.id, title="新")
    session.commit()
    after = kpi_facts.revision(session)
    assert after > before
    # a progress note changes no KPI: the revision stays
    appeal = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB6"))
    svc.add_note(session, appeal.id, actor=data_appeals.liaison, note="催办")
    session.commit()
    assert kpi_facts.revision(session) == after


def counted(session) -> int:
    """Appeals the rollups count: their rows plus the writers' pending deltas."""
    return sum(session.execute(select(func.coalesce(func.sum(t.c.n_total), 0))).scalar()
               for t in (kpi_day_street, kpi_delta))


def test_a_rolled_back_write_leaves_the_rollups_as_they_were(session, data_appeals):
    before = counted(session)
    appeal = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB6"))
    svc.dispatch(session, appeal.id, actor=data_appeals.liaison,
                 lead_unit_id=data_appeals.unit("区交巡警支队"))
    session.add(Appeal(code="X-1", enterprise_id=data_appeals.firm.id,
                       category_id=data_appeals.traffic.id, channel="visit", title="x",
                       status="received", received_at=dt.datetime(2026, 1, 2, 9),
                       due_date=dt.date(2026, 1, 9)))
    session.flush()
    assert counted(session) == before + 1
    session.rollback()
    assert counted(session) == before
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


def test_a_reply_dated_before_receipt_is_in_no_histogram_column(session, world):
    """Data the app refuses but an old system may hold: the flush hooks count it as the SQL
    rebuild does (replied, in no days-to-reply column), so the two never drift."""
    received = dt.datetime(2026, 3, 2, 9)
    session.add(Appeal(code="BACKDATED", enterprise_id=world.firm.id,
                       street_id=world.firm.street_id, category_id=world.traffic.id,
                       channel="visit", title="倒填", status="replied", received_at=received,
                       due_date=dt.date(2026, 3, 9), replied_at=received - dt.timedelta(days=2)))
    session.commit()
    assert kpi_facts.differences(session) == []
    kpi_facts.fold(session)  # the hook's delta into the table
    session.commit()
    day = session.execute(select(kpi_day_street).where(
        kpi_day_street.c.day == received.date())).mappings().one()
    assert day["n_replied"] == 1 and sum(day[h] for h in HIST) == 0


def test_a_new_signing_limit_rebuilds_on_the_next_read(session, data_appeals):
    assert kpi.compute(session, as_of=AS_OF)["response_rate"] == 0.625
    set_setting(session, "kpi.sign_limit_days", 3)
    session.commit()
    # JB3 (signed one day and one second after dispatch) and DSB3 (two days) now count
    assert kpi.compute(session, as_of=AS_OF)["response_rate"] == 0.875
    assert session.execute(select(kpi_state.c.sign_limit_days)).scalar() == 3.0
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


def test_a_handler_reads_no_kpis_from_either_source(session, data_appeals):
    # crm.access grants "kpi.read" to officials, admins and liaisons only; the rollups
    # could not express a unit's scope anyway (`_uses_rollups`).
    for source in ("appeals", "rollups"):
        with pytest.raises(Forbidden):
            kpi.compute(session, actor=data_appeals.lead, as_of=AS_OF, source=source)


def test_previous_period_is_the_same_span_before():
    D = dt.date
    assert kpi.previous_period(D(2026, 10, 1), D(2026, 10, 31)) == (D(2026, 9, 1), D(2026, 9, 30))
    assert kpi.previous_period(D(2026, 3, 1), D(2026, 3, 31)) == (D(2026, 2, 1), D(2026, 2, 28))
    assert kpi.previous_period(D(2026, 7, 1), D(2026, 9, 30)) == (D(2026, 4, 1), D(2026, 6, 30))
    assert kpi.previous_period(D(2026, 1, 1), D(2026, 12, 31)) == (D(2025, 1, 1), D(2025, 12, 31))
    assert kpi.previous_period(D(2026, 1, 10), D(2026, 1, 19)) == (D(2025, 12, 31), D(2026, 1, 9))
    assert kpi.month_bounds("2024-02") == (D(2024, 2, 1), D(2024, 2, 29))


@pytest.mark.parametrize(("key", "measure"), [
    ("appeals_total", "total"), ("appeals_replied", "replied"), ("appeals_open", "open"),
    ("overdue_open", "overdue"),
])
def test_drilling_into_a_count_lists_exactly_that_many_appeals(session, data_appeals, key,
                                                                measure):
    numbers = kpi.compute(session, as_of=AS_OF)
    result = kpi.drill(session, measure, actor=data_appeals.official, as_of=AS_OF)
    assert result["count"] == numbers[key] == len(result["rows"])


def test_drilling_into_rates_lists_their_numerators_and_the_misses(session, data_appeals):
    w, codes = data_appeals, {}
    for measure in ("late", "unsatisfied", "unsolved", "not_responded", "basic", "callbacks"):
        rows = kpi.drill(session, measure, actor=w.official, as_of=AS_OF)["rows"]
        codes[measure] = sorted(r["code"] for r in rows)
    # From the fixture: JB3 was replied after its due date; JB4 within its extension.
    assert codes["late"] == ["KPI-JB3"]
    assert codes["unsatisfied"] == ["KPI-JB3"]
    assert codes["unsolved"] == ["KPI-DSB2", "KPI-JB3"]
    assert codes["not_responded"] == ["KPI-DSB3", "KPI-JB3", "KPI-JB5"]
    assert codes["basic"] == ["KPI-DSB2", "KPI-JB2"]
    assert len(codes["callbacks"]) == 5  # the merged JB7's callback does not count
    jb = kpi.drill(session, "total", actor=w.official, as_of=AS_OF,
                   street_id=w.firm.street_id)["count"]
    assert jb == 6
    assert kpi.drill(session, "total", actor=w.official, as_of=AS_OF,
                     month="2026-02")["count"] == 1
    # a liaison drills within their street only
    assert kpi.drill(session, "total", actor=w.other_liaison, as_of=AS_OF)["count"] == 3
    with pytest.raises(ValueError):
        kpi.drill(session, "everything", actor=w.official)


def test_overview_has_both_periods_the_ranking_and_the_trend(session, data_appeals):
    o = kpi.overview(session, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 28),
                     as_of=AS_OF, actor=data_appeals.official)
    assert o["previous_period"] == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert o["current"]["appeals_total"] == 1 and o["previous"]["appeals_total"] == 8
    assert len(o["by_street"]) == 12
    assert [m["month"] for m in o["trend"]] == ["2026-01", "2026-02"]


def test_a_bulk_write_outside_the_orm_is_brought_along_by_snapshots(session, data_appeals):
    ids = session.scalars(select(Appeal.id).where(Appeal.code.in_(["KPI-JB5", "KPI-DSB1"]))
                          ).all()
    before = kpi_facts.snapshot(session, ids)
    # what an importer does: plain UPDATE and INSERT statements, no ORM objects
    session.execute(Appeal.__table__.update().where(Appeal.id.in_(ids)).values(
        satisfaction="unsatisfied", callback_solved=False, replied_at=dt.datetime(2026, 1, 25)))
    session.execute(Appeal.__table__.insert().values(
        code="BULK-1", enterprise_id=data_appeals.firm.id, street_id=data_appeals.firm.street_id,
        category_id=data_appeals.traffic.id, channel="import", title="导入", status="received",
        received_at=dt.datetime(2026, 1, 3, 9), due_date=dt.date(2026, 1, 10), version=1,
        extension_days=0, reopen_count=0, priority="normal", description=""))
    assert kpi_facts.differences(session) != []
    new_id = session.scalar(select(Appeal.id).where(Appeal.code == "BULK-1"))
    kpi_facts.apply_changes(session, before, kpi_facts.snapshot(session, [*ids, new_id]))
    assert kpi_facts.differences(session) == []


def test_the_hooks_are_on_in_a_process_that_imports_only_the_appeal_service(tmp_path):
    """A liaison logging appeals in a fresh app process that never opened a KPI page."""
    import os
    import subprocess
    import sys
    import textwrap

    from crm.config import ROOT
    from crm.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "CRM_DATABASE_URL": url}
    init = subprocess.run([sys.executable, "-m", "crm", "init-db"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    script = textwrap.dedent(f"""
        import sys
        from sqlalchemy import select
        from crm.db import make_engine, session_factory
        from crm.models import Category, Enterprise, Street
        from crm.services import appeals
        from crm.access import SYSTEM
        from crm.services.users import actor_of, add_user
        from crm.uscc import complete
        engine = make_engine("{url}")
        with session_factory(engine).begin() as s:
            street = s.scalar(select(Street.id).where(Street.name == "江北城街道"))
            firm = Enterprise(uscc=complete("91500105MA000001"), name="企业", street_id=street)
            s.add(firm)
            s.flush()
            liaison = actor_of(add_user(s, "li", role="liaison", street="江北城街道", actor=SYSTEM))
            category = s.scalar(select(Category.id).where(Category.name == "交通"))
            appeals.log_appeal(s, actor=liaison, enterprise_id=firm.id, category_id=category,
                               title="停车")
        print("crm.services.kpi_facts" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    engine = make_engine(url)
    with session_factory(engine)() as s:
        assert kpi_facts.differences(s) == []
    engine.dispose()
