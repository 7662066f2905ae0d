"""KPIs against a hand-computed set of appeals, on SQLite and PostgreSQL.

The fixture (all times 2026, JB = 江北城街道, DSB = 大石坝街道; due = due_date;
"resp" = accepted within 1 day of dispatch; days = replied date − received date):

code JB1  archived   recv 01-05 09:00 due 01-12 disp 01-05 10:00 acc 01-06 09:00 (resp ✓)
          replied 01-10 (on time, 5 d)  satisfied,   solved
code JB2  callback   recv 01-06 09:00 due 01-13 disp 01-06 10:00 acc 01-07 10:00 (exactly
          1 day: resp ✓) replied 01-13 18:00 (the due day: on time, 7 d)  basic, solved
code JB3  callback   recv 01-07 09:00 due 01-14 disp 01-07 10:00 acc 01-08 10:00:01 (resp ✗)
          replied 01-16 (late, 9 d)  unsatisfied, not solved
code JB4  replied    recv 01-08 09:00 due 01-15 +5 days approved extension → due 01-20;
          disp 01-08 10:00 acc 01-08 11:00 (resp ✓) replied 01-18 (after the original due,
          before the new one: on time, 10 d)  no callback yet
code JB5  dispatched recv 01-09 09:00 due 01-16 disp 01-09 10:00 never accepted (resp ✗) open
code JB6  received   recv 01-20 09:00 due 01-27 not dispatched, open
code JB7  merged     recv 01-10 (replied late, unsatisfied …) — excluded from everything
code DSB1 archived   recv 01-05 09:00 due 01-12 disp 01-05 10:00 acc 01-05 12:00 (resp ✓)
          replied 01-05 17:00 (on time, 0 d)  satisfied, solved
code DSB2 callback   recv 01-06 09:00 due 01-13 disp 01-06 10:00 acc 01-06 12:00 (resp ✓)
          replied 01-08 (on time, 2 d)  basic, not solved
code DSB3 accepted   recv 02-03 09:00 due 02-10 disp 02-03 10:00 acc 02-05 10:00 (resp ✗) open

District (9 appeals, JB7 merged is out):
  replied 6 (JB1-4, DSB1-2); open 3 (JB5, JB6, DSB3)
  closed on time 5/6 = 0.8333 (JB3 late)
  valid callbacks 5: satisfied 2, basic 2, unsatisfied 1
  satisfaction (2 + 0.9·2)/5 = 3.8/5 = 0.76; with w = 1.0: 4/5 = 0.8
  resolution 3/5 = 0.6 (JB1, JB2, DSB1)
  response: dispatched 8 (all but JB6), within a day 5 (JB1, JB2, JB4, DSB1, DSB2) = 0.625
  composite 0.1·0.625 + 0.5·0.6 + 0.4·0.76 = 0.0625 + 0.3 + 0.304 = 0.6665
            (w = 1.0: 0.0625 + 0.3 + 0.32 = 0.6825)
  overdue as of 01-20: JB5 (due 01-16) only = 1; as of 02-15: JB5, JB6, DSB3 = 3
  days to reply [0, 2, 5, 7, 9, 10]: median rank ceil(3) = 3rd → 5; p90 rank ceil(5.4) = 6th → 10
江北城 (6): replied 4, open 2, on time 3/4 = 0.75, callbacks 3: satisfaction 1.9/3 = 0.6333,
  resolution 2/3 = 0.6667, response 3/5 = 0.6, composite 0.06 + 0.33333 + 0.25333 = 0.6467,
  days [5, 7, 9, 10]: median 2nd → 7, p90 ceil(3.6) = 4th → 10
大石坝 (3): replied 2, open 1, on time 2/2 = 1.0, callbacks 2: satisfaction 1.9/2 = 0.95,
  resolution 1/2 = 0.5, response 2/3 = 0.6667, composite 0.06667 + 0.25 + 0.38 = 0.6967,
  days [0, 2]: median 1st → 0, p90 ceil(1.8) = 2nd → 2
Ranking: 大石坝 1, 江北城 2; the other ten streets have no appeals, no score, no rank.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crm import migrate
from crm.access import SYSTEM
from crm.db import make_engine, session_factory
from crm.errors import Forbidden
from crm.models import Appeal, Category, Street
from crm.services import appeals, kpi, kpi_facts
from crm.services.reference import init_reference_data, set_setting
from crm.services.users import actor_of, add_user
from tests.services.conftest import make_firm

ROOT = Path(__file__).resolve().parents[2]
JB, DSB = "江北城街道", "大石坝街道"
AS_OF = dt.date(2026, 1, 20)


def T(month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second)


def D(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


def add_fixture_appeals(session, jb_firm, dsb_firm) -> None:
    """The ten appeals of the module docstring (nine count)."""
    street = dict(session.execute(select(Street.name, Street.id)).all())
    category = session.scalar(select(Category.id).where(Category.name == "交通"))

    def add(code, firm, status, received, due, *, dispatched=None, accepted=None,
            replied=None, satisfaction=None, solved=None, extension_days=0):
        session.add(Appeal(
            code=code, enterprise_id=firm.id, street_id=firm.street_id, category_id=category,
            channel="visit", title=f"诉求 {code}", status=status, received_at=received,
            due_date=due, extension_days=extension_days, dispatched_at=dispatched,
            accepted_at=accepted, replied_at=replied, solved=solved,
            callback_at=replied + dt.timedelta(days=1) if satisfaction else None,
            satisfaction=satisfaction, callback_solved=solved if satisfaction else None))

    assert jb_firm.street_id == street[JB] and dsb_firm.street_id == street[DSB]
    add("KPI-JB1", jb_firm, "archived", T(1, 5), D(1, 12), dispatched=T(1, 5, 10),
        accepted=T(1, 6, 9), replied=T(1, 10, 15), satisfaction="satisfied", solved=True)
    add("KPI-JB2", jb_firm, "callback", T(1, 6), D(1, 13), dispatched=T(1, 6, 10),
        accepted=T(1, 7, 10), replied=T(1, 13, 18), satisfaction="basic", solved=True)
    add("KPI-JB3", jb_firm, "callback", T(1, 7), D(1, 14), dispatched=T(1, 7, 10),
        accepted=T(1, 8, 10, 0, 1), replied=T(1, 16), satisfaction="unsatisfied",
        solved=False)
    add("KPI-JB4", jb_firm, "replied", T(1, 8), D(1, 15) + dt.timedelta(days=5),
        extension_days=5, dispatched=T(1, 8, 10), accepted=T(1, 8, 11), replied=T(1, 18, 10))
    add("KPI-JB5", jb_firm, "dispatched", T(1, 9), D(1, 16), dispatched=T(1, 9, 10))
    add("KPI-JB6", jb_firm, "received", T(1, 20), D(1, 27))
    add("KPI-JB7", jb_firm, "merged", T(1, 10), D(1, 11), dispatched=T(1, 10, 10),
        replied=T(1, 30), satisfaction="unsatisfied", solved=False)
    add("KPI-DSB1", dsb_firm, "archived", T(1, 5), D(1, 12), dispatched=T(1, 5, 10),
        accepted=T(1, 5, 12), replied=T(1, 5, 17), satisfaction="satisfied", solved=True)
    add("KPI-DSB2", dsb_firm, "callback", T(1, 6), D(1, 13), dispatched=T(1, 6, 10),
        accepted=T(1, 6, 12), replied=T(1, 8), satisfaction="basic", solved=False)
    add("KPI-DSB3", dsb_firm, "accepted", T(2, 3), D(2, 10), dispatched=T(2, 3, 10),
        accepted=T(2, 5, 10))
    session.flush()


DISTRICT = {"appeals_total": 9, "appeals_replied": 6, "appeals_open": 3,
            "closed_on_time_rate": 0.8333, "satisfaction_rate": 0.76, "resolution_rate": 0.6,
            "response_rate": 0.625, "composite_score": 0.6665, "overdue_open": 1,
            "median_days_to_reply": 5, "p90_days_to_reply": 10}
JIANGBEICHENG = {"appeals_total": 6, "appeals_replied": 4, "appeals_open": 2,
                 "closed_on_time_rate": 0.75, "satisfaction_rate": 0.6333,
                 "resolution_rate": 0.6667, "response_rate": 0.6, "composite_score": 0.6467,
                 "overdue_open": 1, "median_days_to_reply": 7, "p90_days_to_reply": 10}
DASHIBA = {"appeals_total": 3, "appeals_replied": 2, "appeals_open": 1,
           "closed_on_time_rate": 1.0, "satisfaction_rate": 0.95, "resolution_rate": 0.5,
           "response_rate": 0.6667, "composite_score": 0.6967, "overdue_open": 0,
           "median_days_to_reply": 0, "p90_days_to_reply": 2}
EMPTY = {"appeals_total": 0, "appeals_replied": 0, "appeals_open": 0,
         "closed_on_time_rate": None, "satisfaction_rate": None, "resolution_rate": None,
         "response_rate": None, "composite_score": None, "overdue_open": 0,
         "median_days_to_reply": None, "p90_days_to_reply": None}


@pytest.fixture
def data(session, world):
    add_fixture_appeals(session, world.firm, world.other_firm)
    session.commit()
    return world


def street_id(session, name: str) -> int:
    return session.scalar(select(Street.id).where(Street.name == name))


def test_district_numbers_match_the_hand_computation(session, data):
    assert kpi.compute(session, as_of=AS_OF) == DISTRICT
    assert set(kpi.compute(session, as_of=AS_OF)) == set(kpi.KEYS)


def test_street_filter_gives_each_streets_numbers(session, data):
    assert kpi.compute(session, as_of=AS_OF, street_id=street_id(session, JB)) == JIANGBEICHENG
    assert kpi.compute(session, as_of=AS_OF, street_id=street_id(session, DSB)) == DASHIBA


def test_a_liaison_sees_only_their_street_and_officials_everything(session, data):
    assert kpi.compute(session, actor=data.liaison, as_of=AS_OF) == JIANGBEICHENG
    assert kpi.compute(session, actor=data.other_liaison, as_of=AS_OF) == DASHIBA
    assert kpi.compute(session, actor=data.official, as_of=AS_OF) == DISTRICT
    # a handler holds no "kpi.read" (crm.access): refused, not an empty page
    with pytest.raises(Forbidden):
        kpi.compute(session, actor=data.outsider, as_of=AS_OF)


def test_a_period_without_appeals_has_no_rates(session, data):
    assert kpi.compute(session, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31),
                       as_of=AS_OF) == EMPTY


def test_period_dates_are_inclusive(session, data):
    january = kpi.compute(session, date_from=D(1, 1), date_to=D(1, 31), as_of=AS_OF)
    assert january["appeals_total"] == 8  # DSB3 (received 02-03) is out
    # JB6 was received at 09:00 on the last day of the period: it counts
    one_day = kpi.compute(session, date_from=D(1, 20), date_to=D(1, 20), as_of=AS_OF)
    assert one_day == {**EMPTY, "appeals_total": 1, "appeals_open": 1}
    assert kpi.compute(session, date_from=D(2, 1), as_of=AS_OF)["appeals_total"] == 1
    assert kpi.compute(session, date_to=D(1, 5), as_of=AS_OF)["appeals_total"] == 2


def test_basic_satisfied_weight_is_a_setting(session, data):
    set_setting(session, "kpi.basic_satisfied_weight", 1.0)
    session.commit()
    result = kpi.compute(session, as_of=AS_OF)
    assert result["satisfaction_rate"] == 0.8           # (2 + 1.0·2) / 5
    assert result["composite_score"] == 0.6825          # 0.0625 + 0.3 + 0.32


def test_composite_weights_are_a_setting(session, data):
    set_setting(session, "kpi.weights", {"response": 0.3, "resolution": 0.35,
                                         "satisfaction": 0.35})
    session.commit()
    # 0.3·0.625 + 0.35·0.6 + 0.35·0.76 = 0.1875 + 0.21 + 0.266
    assert kpi.compute(session, as_of=AS_OF)["composite_score"] == 0.6635


def test_sign_limit_is_a_setting(session, data):
    set_setting(session, "kpi.sign_limit_days", 2)
    session.commit()
    # now JB3 (1 day + 1 s) and DSB3 (exactly 2 days) count too: 7 / 8
    assert kpi.compute(session, as_of=AS_OF)["response_rate"] == 0.875


def test_an_approved_extension_moves_the_due_date(session, data):
    jb4 = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB4"))
    assert jb4.replied_at.date() > D(1, 15) and jb4.replied_at.date() <= jb4.due_date
    only_jb4 = kpi.compute(session, date_from=D(1, 8), date_to=D(1, 8), as_of=AS_OF)
    assert only_jb4["closed_on_time_rate"] == 1.0
    assert only_jb4["satisfaction_rate"] is None  # no callback yet
    # without the extension it would have been late
    jb4.due_date = D(1, 15)
    session.commit()
    assert kpi.compute(session, date_from=D(1, 8), date_to=D(1, 8),
                       as_of=AS_OF)["closed_on_time_rate"] == 0.0


def test_overdue_open_is_judged_on_the_as_of_date(session, data):
    assert kpi.compute(session, as_of=D(1, 16))["overdue_open"] == 0  # due 01-16 is not late yet
    assert kpi.compute(session, as_of=D(1, 17))["overdue_open"] == 1
    assert kpi.compute(session, as_of=D(2, 15))["overdue_open"] == 3


def test_merged_appeals_count_nowhere(session, data):
    merged = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB7"))
    merged.status = "received"
    session.commit()
    assert kpi.compute(session, as_of=AS_OF)["appeals_total"] == 10  # it was excluded before
    merged.status = "merged"
    session.commit()
    assert kpi.compute(session, as_of=AS_OF) == DISTRICT


def without_id(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_by_street_ranks_every_street_including_empty_ones(session, data):
    rows = without_id(kpi.by_street(session, as_of=AS_OF))
    assert len(rows) == session.query(Street).count() == 12
    assert rows[0] == {"street": DSB, **DASHIBA, "rank": 1}
    assert rows[1] == {"street": JB, **JIANGBEICHENG, "rank": 2}
    for row in rows[2:]:
        assert {k: v for k, v in row.items() if k != "street"} == {**EMPTY, "rank": None}
    empty_order = session.scalars(select(Street.name).where(Street.name.not_in([JB, DSB]))
                                  .order_by(Street.sort_order, Street.name)).all()
    assert [r["street"] for r in rows[2:]] == list(empty_order)


def test_by_street_within_a_street_or_a_scope(session, data):
    rows = kpi.by_street(session, as_of=AS_OF, street_id=street_id(session, JB))
    assert without_id(rows) == [{"street": JB, **JIANGBEICHENG, "rank": 1}]
    assert rows[0]["id"] == street_id(session, JB)
    # A liaison's ranking holds their own street only: other streets are out of scope.
    scoped = kpi.by_street(session, actor=data.liaison, as_of=AS_OF)
    assert without_id(scoped) == [{"street": JB, **JIANGBEICHENG, "rank": 1}]


def test_grouped_by_month_category_and_unit(session, data):
    months = kpi.grouped(session, "month", as_of=AS_OF)
    assert [(m["month"], m["appeals_total"]) for m in months] == [("2026-01", 8), ("2026-02", 1)]
    # January without DSB3: response 5/7 = 0.7143; composite 0.07143 + 0.3 + 0.304 = 0.6754
    assert months[0]["response_rate"] == 0.7143 and months[0]["composite_score"] == 0.6754
    assert months[0]["rank"] == 1
    # February: DSB3 was signed late (response 0/1) and has no callback: no score, no rank
    assert months[1]["response_rate"] == 0.0 and months[1]["composite_score"] is None
    assert months[1]["rank"] is None
    categories = kpi.compute(session, group_by="category", as_of=AS_OF)
    traffic = next(c for c in categories if c["category"] == "交通")
    assert {k: traffic[k] for k in kpi.KEYS} == DISTRICT and traffic["rank"] == 1
    assert kpi.grouped(session, "unit", as_of=AS_OF) == []  # no lead units set
    with pytest.raises(ValueError):
        kpi.grouped(session, "planet")


@pytest.mark.parametrize(("hist", "median", "p90"), [
    ([], None, None),
    ([(3, 1)], 3, 3),
    ([(1, 1), (2, 1)], 1, 2),
    ([(d, 1) for d in range(1, 11)], 5, 9),     # ranks ceil(5) = 5, ceil(9) = 9
    ([(0, 5), (4, 4), (30, 1)], 0, 4),         # n = 10: 5th → 0, 9th → 4
    ([(0, 5), (4, 4), (30, 2)], 4, 30),        # n = 11: 6th → 4, ceil(9.9) = 10th → 30
])
def test_nearest_rank_percentiles(hist, median, p90):
    assert kpi.nearest_rank(hist, 0.5) == median
    assert kpi.nearest_rank(hist, 0.9) == p90


# --- the command line --------------------------------------------------------------------

def crm(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRM_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "crm", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)
        add_fixture_appeals(session, make_firm(session, 1, JB), make_firm(session, 2, DSB))
    engine.dispose()
    return url


def test_cli_kpi_json(cli_url):
    result = crm("kpi", "--as-of", "2026-01-20", "--json", url=cli_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == set(kpi.KEYS) | {"by_street"}
    assert {k: out[k] for k in kpi.KEYS} == DISTRICT
    assert len(out["by_street"]) == 12
    assert all(set(row) == set(kpi.KEYS) | {"street"} for row in out["by_street"])
    assert out["by_street"][0] == {"street": DSB, **DASHIBA}
    assert JB in result.stdout  # ensure_ascii=False


def test_cli_kpi_street_and_period(cli_url):
    result = crm("kpi", "--street", "江北城", "--from", "2026-01-01", "--to", "2026-01-31",
                 "--as-of", "2026-01-20", "--json", url=cli_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {k: out[k] for k in kpi.KEYS} == JIANGBEICHENG
    assert out["by_street"] == [{"street": JB, **JIANGBEICHENG}]


def test_cli_kpi_table(cli_url):
    result = crm("kpi", "--as-of", "2026-01-20", url=cli_url)
    assert result.returncode == 0, result.stderr
    assert "closed_on_time_rate" in result.stdout and "0.8333" in result.stdout
    assert DSB in result.stdout


@pytest.mark.parametrize("args", [("--from", "2026-13-01"), ("--to", "yesterday"),
                                  ("--as-of", "2026/01/20"), ("--street", "火星")])
def test_cli_kpi_bad_input_is_one_line_and_exit_2(cli_url, args):
    result = crm("kpi", *args, "--json", url=cli_url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_cli_kpi_rollups_check_and_rebuild(cli_url):
    assert crm("kpi-rollups", "--check", url=cli_url).returncode == 0
    engine = make_engine(cli_url)
    with engine.begin() as c:  # an edit behind the app's back
        c.execute(text("UPDATE appeal SET satisfaction = 'unsatisfied' WHERE code = 'KPI-DSB1'"))
    engine.dispose()
    check = crm("kpi-rollups", "--check", url=cli_url)
    assert check.returncode == 1 and "cells differ" in check.stdout
    rebuilt = crm("kpi-rollups", url=cli_url)
    assert rebuilt.returncode == 0 and "rebuilt kpi_day_cell" in rebuilt.stdout
    assert crm("kpi-rollups", "--check", url=cli_url).returncode == 0
    out = json.loads(crm("kpi", "--as-of", "2026-01-20", "--json", url=cli_url).stdout)
    assert out["satisfaction_rate"] < DISTRICT["satisfaction_rate"]


def test_a_read_only_session_leaves_the_rollups_built_for_everyone(cli_url):
    engine = make_engine(cli_url)
    with session_factory(engine).begin() as s:
        kpi_facts.invalidate(s)
    with session_factory(engine)() as reader:  # never committed, like a page or the CLI
        assert kpi.compute(reader, as_of=AS_OF) == DISTRICT
        reader.rollback()
    with session_factory(engine)() as s:
        assert kpi_facts.is_fresh(s) and kpi_facts.differences(s) == []
    engine.dispose()


def test_cli_kpi_rollups_fold_moves_the_writers_deltas_into_the_tables(cli_url):
    engine = make_engine(cli_url)
    with session_factory(engine)() as s:
        kpi_facts.fold(s)
    with session_factory(engine).begin() as s:
        firm = s.scalar(select(Appeal.enterprise_id).limit(1))
        category = s.scalar(select(Category.id).limit(1))
        actor = actor_of(add_user(s, "folder", role="admin", password="secret123",
                                  actor=SYSTEM))
        for i in range(3):
            appeals.log_appeal(s, actor=actor, enterprise_id=firm, category_id=category,
                               title=f"折叠 {i}")
    with session_factory(engine)() as s:
        assert kpi_facts.has_pending(s)
    folded = crm("kpi-rollups", "--fold", url=cli_url)
    assert folded.returncode == 0, folded.stderr
    assert folded.stdout.startswith("folded 3 pending KPI deltas"), folded.stdout
    with session_factory(engine)() as s:
        assert not kpi_facts.has_pending(s) and kpi_facts.differences(s) == []
    assert crm("kpi-rollups", "--fold", url=cli_url).stdout.startswith("folded 0 ")
    engine.dispose()
