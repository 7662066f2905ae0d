"""The real Chongqing registry (22,524 rows, CC BY-NC-SA, read beside the checkout, never
copied): every valid code is accepted, every bad row is reported with its reason.

Counts were measured once and pinned; tests/test_uscc.py checks the same codes against an
independent oracle (22,495 valid, 29 shifted rows with mojibake in the code column).
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select

from crm.db import session_factory
from crm.models import Enterprise, ImportRecord, Street
from tests.etl.conftest import REGISTRY, counts, run_import


@pytest.fixture
def registry():
    if not REGISTRY.is_file():
        reason = f"real registry export not found at {REGISTRY}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return REGISTRY


def test_the_real_registry_imports_every_valid_code_and_reports_every_bad_row(engine,
                                                                             registry):
    started = time.perf_counter()
    report = run_import(engine, "enterprises", registry)
    seconds = time.perf_counter() - started
    assert counts(report) == (22_524, 22_495, 0, 0, 29)
    assert report.mapping.unmapped == ["企业类型", "所在省份", "地区"]
    # The rejected rows are the shifted ones: address text (mojibake) in the code column.
    assert {e.column for e in report.errors} == {"统一社会信用代码"}
    assert len({e.row for e in report.errors}) == 29
    assert all("\ufffd" in e.value and "应为 18 位" in e.message() for e in report.errors)
    assert min(e.row for e in report.errors) == 15_628
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 22_495
        # one provenance record per firm (a run of firms from consecutive rows: one row)
        assert s.scalar(select(func.sum(ImportRecord.span))) == 22_495
        # Streets come from addresses that name a Jiangbei street or town, else stay empty.
        by_street = dict(s.execute(select(Street.name, func.count(Enterprise.id))
                                   .join(Enterprise, Enterprise.street_id == Street.id)
                                   .group_by(Street.name)).all())
        assert sum(by_street.values()) == s.scalar(
            select(func.count()).select_from(Enterprise).where(Enterprise.street_id.is_not(None)))
        assert by_street["观音桥街道"] > 0
    print(f"registry import: {seconds:.1f} s")  # noqa: T201 - shown with pytest -s
    again = run_import(engine, "enterprises", registry)
    assert counts(again) == (22_524, 0, 0, 22_495, 29)
