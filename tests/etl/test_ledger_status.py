"""A status that contradicts the dates is settled by the reply date, with a warning; over
generated ledgers every appeal counts exactly once as replied or as open, whichever
planner (column-wise or row by row) took its row, on first import and on update."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm.db import session_factory
from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal
from crm.services import kpi, kpi_facts
from etl.engine import run
from etl.kinds.appeals import Appeals, settle_status
from tests.etl.conftest import A, B, counts, run_import, xlsx

HEADER = ["诉求编号", "统一社会信用代码", "诉求类别", "诉求标题", "受理时间", "承办单位",
          "办理状态", "答复时间", "满意度"]
START = dt.datetime(2022, 1, 3, 9, 0)


class RowByRow(Appeals):
    """The same kind with its column-wise planner off: every row goes through `plan`."""

    def plan_bulk(self, ctx, columns, rows, numbers, notes):
        self._setup(ctx)
        return rows


def _import(engine, path, kind=None):
    with session_factory(engine).begin() as s:
        return run(s, kind or Appeals(), path)


def test_the_rule():
    assert settle_status(None, True, False, None) == ("replied", None)
    assert settle_status(None, True, False, "satisfied") == ("callback", None)
    assert settle_status(None, False, True, "satisfied") == ("dispatched", None)
    assert settle_status("dispatched", True, True, None) == \
        ("replied", "etl.status_open_but_replied")
    assert settle_status("received", True, False, "basic") == \
        ("callback", "etl.status_open_but_replied")
    assert settle_status("replied", False, False, None) == \
        ("received", "etl.status_closed_no_reply")
    assert settle_status("callback", False, True, "satisfied") == \
        ("dispatched", "etl.status_closed_no_reply")
    assert settle_status("merged", False, False, None) == ("merged", None)
    assert settle_status("accepted", False, True, None) == ("accepted", None)


def test_contradicting_rows_are_settled_with_a_warning_on_both_paths(engine, firms, tmp_path):
    rows = [HEADER,
            ["P-1", A, "交通", "挂起却有答复", "2022-03-01", "区交巡警支队", "pending",
             "2022-03-04", None],
            ["P-2", A, "交通", "受理却有答复", "2022-03-01", None, "已受理", "2022-03-02", "满意"],
            ["P-3", B, "交通", "办结却无答复", "2022-03-01", "区交巡警支队", "已办结", None, None],
            ["P-4", B, "交通", "回访却无答复", "2022-03-01", None, "已回访", None, "满意"],
            ["P-5", B, "交通", "正常", "2022-03-01", None, "已办结", "2022-03-03", None]]
    for kind, prefix in ((None, "C"), (RowByRow(), "R")):
        ledger = [HEADER] + [[f"{prefix}{r[0]}", *r[1:]] for r in rows[1:]]
        report = _import(engine, xlsx(tmp_path / f"{prefix}.xlsx", ledger), kind)
        assert counts(report) == (5, 5, 0, 0, 0), report.errors
        assert [(w.row, w.column, w.value, w.message("en")) for w in report.warnings] == [
            (2, "办理状态", "pending",
             "the status says open but the row has a reply date: imported as replied"),
            (3, "办理状态", "已受理",
             "the status says open but the row has a reply date: imported as replied"),
            (4, "办理状态", "已办结",
             "the status says replied but the row has no reply date: imported as open"),
            (5, "办理状态", "已回访",
             "the status says replied but the row has no reply date: imported as open")]
        again = _import(engine, xlsx(tmp_path / f"{prefix}.xlsx", ledger), kind)
        assert counts(again) == (5, 0, 0, 5, 0)  # settled the same way: unchanged, noted
        assert [(w.row, w.key) for w in again.warnings] == \
            [(w.row, w.key) for w in report.warnings]
        with session_factory(engine)() as s:
            got = dict(s.execute(select(Appeal.external_ref, Appeal.status)
                                 .where(Appeal.external_ref.like(f"{prefix}P-%"))).all())
        assert got == {f"{prefix}P-1": "replied", f"{prefix}P-2": "callback",
                       f"{prefix}P-3": "dispatched", f"{prefix}P-4": "received",
                       f"{prefix}P-5": "replied"}


def test_a_reply_date_added_later_closes_a_stored_open_appeal(engine, firms, tmp_path):
    first = [HEADER, ["U-1", A, "交通", "后补答复", "2022-03-01", None, "已受理", None, None]]
    assert counts(run_import(engine, "appeals", xlsx(tmp_path / "a.xlsx", first)))[1] == 1
    later = [[h for h in HEADER if h != "办理状态"],  # no status column at all
             ["U-1", A, "交通", "后补答复", "2022-03-01", None, "2022-03-05", None]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "b.xlsx", later))
    assert counts(report)[2] == 1 and [w.key for w in report.warnings] == \
        ["etl.status_open_but_replied"]
    with session_factory(engine)() as s:
        assert s.scalar(select(Appeal.status).where(Appeal.external_ref == "U-1")) == "replied"
        assert kpi_facts.differences(s) == []


WORDS = ["pending", "Closed", "已受理", "待派单", "已派单", "办理中", "已签收", "已办结", "已答复",
         "已回访", "已归档", "已并单", None]
ROW = st.tuples(st.sampled_from(WORDS), st.integers(0, 60), st.none() | st.integers(0, 30),
                st.sampled_from([None, "满意", "不满意"]), st.booleans())
_RUN = itertools.count()


def _ledger(prefix: str, rows) -> list[list]:
    out = [HEADER]
    for i, (word, day, reply, satisfaction, lead) in enumerate(rows):
        received = START + dt.timedelta(days=day)
        out.append([f"{prefix}-{i}", (A, B)[i % 2], "交通", f"第{i}件", received,
                    "区交巡警支队" if lead else None, word,
                    None if reply is None else received + dt.timedelta(days=reply),
                    satisfaction])
    return out


def _check_invariant(engine) -> None:
    with session_factory(engine)() as s:
        kept = Appeal.status != "merged"
        both = s.scalar(select(func.count()).where(kept, Appeal.replied_at.is_not(None),
                                                   Appeal.status.in_(OPEN_STATUSES)))
        neither = s.scalar(select(func.count()).where(kept, Appeal.replied_at.is_(None),
                                                      Appeal.status.not_in(OPEN_STATUSES)))
        assert (both, neither) == (0, 0)
        assert kpi_facts.differences(s) == []
        for source in ("rollups", "appeals"):
            numbers = kpi.compute(s, source=source)
            assert numbers["appeals_replied"] + numbers["appeals_open"] == \
                numbers["appeals_total"]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.lists(ROW, min_size=1, max_size=12), second=st.lists(ROW, max_size=12))
def test_replied_plus_open_is_total_over_generated_ledgers(engine, firms, tmp_path, first,
                                                           second):
    n = next(_RUN)
    states = {}
    for kind, path in ((None, "C"), (RowByRow(), "R")):
        prefix = f"G{n}{path}"
        report = _import(engine, xlsx(tmp_path / f"{prefix}.xlsx", _ledger(prefix, first)),
                         kind)
        assert report.rejected == 0, report.errors
        _check_invariant(engine)
        # a second ledger updating the same appeals (rows the first did not have, new)
        update = [r if k >= len(first) else (r[0], first[k][1], *r[2:])
                  for k, r in enumerate(second)]
        report = _import(engine, xlsx(tmp_path / f"{prefix}2.xlsx", _ledger(prefix, update)),
                         kind)
        _check_invariant(engine)
        with session_factory(engine)() as s:
            states[path] = {code.split("-", 1)[1]: (status, replied, kpi_status) for
                            code, status, replied, kpi_status in s.execute(
                                select(Appeal.external_ref, Appeal.status, Appeal.replied_at,
                                       Appeal.satisfaction)
                                .where(Appeal.external_ref.like(f"{prefix}-%")))}
    assert states["C"] == states["R"]  # the column-wise path and the row path agree
