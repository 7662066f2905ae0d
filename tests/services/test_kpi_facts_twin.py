"""The two ways a write counts what appeals contribute to the KPI rollups are one rule.

`kpi_facts.contributions` (column-wise, numpy and Arrow: bulk imports, rebuild checks,
flushes of more than a few appeals) and `kpi_facts.row_contribution` (plain Python: the
one to sixteen appeals of a single write, issue 18.6) must give the same key and the same
measures for every appeal, and `_delta_rows` the same rows on both of its paths. Hypothesis
generates appeals at the edges: merged and open states, replies before receipt and after
a month, acceptance exactly at the signing limit, missing dates and units.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.lifecycle import APPEAL
from crm.models.kpi import MEASURES
from crm.services import kpi_facts

STATUSES = sorted(APPEAL.states)
BASE = dt.datetime(2026, 1, 1, 8, 30)


def _moment(days: float | None) -> dt.datetime | None:
    return None if days is None else BASE + dt.timedelta(days=days)


offsets = st.one_of(st.none(), st.floats(min_value=-3, max_value=60, allow_nan=False),
                    st.sampled_from([0.0, 1.0, 30.0, 31.0, 31.5]))


@st.composite
def appeals(draw) -> dict:
    received = draw(st.floats(min_value=0, max_value=40, allow_nan=False))
    dispatched = draw(offsets)
    sign_gap = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=3, allow_nan=False),
                              st.just(1.0)))
    return {
        "received_at": _moment(received),
        "street_id": draw(st.one_of(st.none(), st.integers(1, 4))),
        "lead_unit_id": draw(st.one_of(st.none(), st.integers(1, 4))),
        "category_id": draw(st.integers(1, 3)),
        "status": draw(st.sampled_from(STATUSES)),
        "replied_at": _moment(None if (r := draw(offsets)) is None else received + r),
        "due_date": draw(st.one_of(st.none(), st.builds(
            lambda d: (BASE + dt.timedelta(days=d)).date(), st.integers(0, 60)))),
        "satisfaction": draw(st.sampled_from([None, "satisfied", "basic", "unsatisfied"])),
        "callback_solved": draw(st.sampled_from([None, True, False])),
        "dispatched_at": _moment(dispatched),
        "accepted_at": None if dispatched is None or sign_gap is None
        else _moment(dispatched + sign_gap),
    }


@settings(max_examples=400, deadline=None)
@given(st.lists(appeals(), min_size=1, max_size=12), st.sampled_from([1.0, 0.5, 2.0]))
def test_one_appeal_counts_the_same_in_python_and_in_numpy(rows, sign_days):
    columns = {f: [r.get(f) for r in rows] for f in kpi_facts.FIELDS}
    kept, keys, measures = kpi_facts.contributions(columns, sign_days)
    for i, row in enumerate(rows):
        counted = kpi_facts.row_contribution(row, sign_days)
        if not kept[i]:
            assert counted is None
            continue
        assert counted is not None
        key, python_measures = counted
        assert key == tuple(int(k) for k in keys[i])
        assert python_measures == [int(m) for m in measures[i]], dict(
            (name, (p, int(n))) for name, p, n in zip(MEASURES, python_measures, measures[i],
                                                      strict=True) if p != n)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(appeals(), st.sampled_from([1, -1])), min_size=1, max_size=16),
       st.sampled_from([1.0, 2.0]))
def test_a_writes_delta_rows_are_the_same_on_both_paths(signed, sign_days):
    small = kpi_facts._delta_rows(signed, sign_days)
    with pytest.MonkeyPatch.context() as patch:  # hypothesis reruns: no function fixture
        patch.setattr(kpi_facts, "_SMALL", 0)  # every batch takes the column-wise path
        wide = kpi_facts._delta_rows(signed, sign_days)
    key = lambda r: (r["day"], r["street_id"], r["unit_id"], r["category_id"])  # noqa: E731
    assert sorted(small, key=key) == sorted(wide, key=key)


def test_the_python_path_is_taken_for_a_single_write(monkeypatch):
    """Not a timing: the small path must actually be the one a write uses (else the twin
    above guards nothing in production)."""
    row = {"received_at": BASE, "status": "received", "category_id": 1, "street_id": 2}
    calls = []
    original = kpi_facts.row_contribution
    monkeypatch.setattr(kpi_facts, "row_contribution",
                        lambda *a: calls.append(a) or original(*a))
    rows = kpi_facts._delta_rows([(row, 1)], 1.0)
    assert len(calls) == 1
    assert [(r["street_id"], r["category_id"], r["n_total"], r["n_open"]) for r in rows] \
        == [(2, 1, 1, 1)]
