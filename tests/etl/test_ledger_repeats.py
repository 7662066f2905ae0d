"""A key repeated in one file with different values is noted on the later row, naming the
earlier one; a strict run that refuses a row writes nothing and reports nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from crm.db import session_factory
from crm.models import Appeal, Enterprise
from tests.etl.conftest import BAD, A, B, counts, run_import, xlsx

HEADER = ["诉求编号", "统一社会信用代码", "诉求类别", "诉求标题", "受理时间", "办理状态"]


def test_a_repeated_key_with_different_values_is_noted_naming_both_rows(engine, firms,
                                                                         tmp_path):
    rows = [HEADER,
            ["R-1", A, "交通", "停车难", "2022-03-01", "已受理"],
            ["R-2", B, "交通", "别的", "2022-03-01", "已受理"],
            ["R-1", A, "交通", "停车难", "2022-03-01", "已受理"],   # the same: no note
            ["R-1", A, "融资", "停车难", "2022-03-01", "已派单"]]   # different: noted
    report = run_import(engine, "appeals", xlsx(tmp_path / "r.xlsx", rows))
    assert counts(report) == (4, 2, 1, 1, 0)
    assert [(w.row, w.message()) for w in report.warnings] == [
        (5, "与第 2 行是同一条记录，但“诉求类别、办理状态”不同：以本行为准")]
    with session_factory(engine)() as s:
        assert s.scalar(select(Appeal.status).where(Appeal.external_ref == "R-1")) == "dispatched"


def test_a_repeated_firm_in_a_roster_is_noted_too(engine, tmp_path):
    rows = [["企业名称", "统一社会信用代码", "地址"],
            ["齐祥灯饰", A, "江北区石马河路1号"], ["齐祥灯饰", A, "江北区石马河路2号"]]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "e.xlsx", rows))
    assert [(w.row, w.message("en")) for w in report.warnings
            if w.key == "etl.repeated_key"] == [
        (3, "the same record as row 2 with a different 地址: this row's value kept")]


def test_a_strict_run_that_refuses_a_row_reports_nothing_written(engine, db_url, tmp_path):
    rows = [["企业名称", "统一社会信用代码"], ["甲公司", A], ["乙公司", B], ["丙公司", BAD]]
    path = xlsx(tmp_path / "strict.xlsx", rows)
    report = run_import(engine, "enterprises", path, strict=True)
    assert (report.inserted, report.updated, report.rejected, report.written) == (0, 0, 1, False)
    out = subprocess.run([sys.executable, "-m", "crm", "import", "enterprises", str(path),
                          "--strict", "--json"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "CRM_DATABASE_URL": db_url}, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    summary = json.loads(out.stdout)
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == (0, 0, 1)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 0
