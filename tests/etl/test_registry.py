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


JIANGBEI = REGISTRY.with_name("jiangbei_enterprises_1980-2004.csv")


def test_jiangbei_addresses_name_streets_in_full_or_short(engine, registry):
    """Of the 1,395 Jiangbei rows, 69 addresses name a street in full (…观音桥街道…) and 174
    more only by its short form (…江北区观音桥建新北路…, …五里店17号…): 243 firms get a
    street (before short forms were read: 69). The rest name none (…建新北路… alone)."""
    if not JIANGBEI.is_file():
        pytest.skip(f"not found: {JIANGBEI}")
    report = run_import(engine, "enterprises", JIANGBEI)
    with session_factory(engine)() as s:
        placed = s.scalar(select(func.count()).where(Enterprise.street_id.is_not(None)))
        streets = dict(s.execute(select(Enterprise.address, Street.name)
                                 .join(Street, Street.id == Enterprise.street_id)).all())
    assert (placed, report.inserted, report.rejected) == (243, 1_395, 0)
    assert streets["重庆市江北区观音桥建新北路86号"] == "观音桥街道"
    assert streets["重庆市江北区五里店17号4幢3楼"] == "五里店街道"
    assert streets["重庆市江北区石马河乡大石坝村黑院墙合作社"] == "石马河街道"
    assert streets["重庆市江北区两路寸滩保税港区水港功能区综合大楼A栋7层709号房"] == "寸滩街道"
