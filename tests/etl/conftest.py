"""Helpers for the import tests: spreadsheets built by hand, and imports in one transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from crm.db import session_factory
from crm.models import Chamber, Person, Street
from crm.uscc import complete
from etl.app import import_file

REGISTRY = (Path(__file__).resolve().parents[3]
            / "shared/realdata/cq-enterprise-registry/chongqing_enterprises_1980-2004.csv")

# Valid codes (both check characters computed), and the same code with its last character wrong.
A = complete("91500105MA5UA001")
B = complete("91500105MA5UB002")
C = complete("91500105MA5UC003")
D = complete("91500105MA5UD004")
BAD = A[:-1] + ("0" if A[-1] != "0" else "1")


def xlsx(path: Path, rows: list[list], *, merge: str | None = None,
         sheet: str = "Sheet1", extra_sheets: dict[str, list[list]] | None = None) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    for name, more in (extra_sheets or {}).items():
        other = book.create_sheet(name)
        for row in more:
            other.append(row)
    book.save(path)
    return path


def run_import(engine, kind: str, path: Path, **kw):
    """Import in its own transaction, committed (as the CLI and the app do)."""
    with session_factory(engine).begin() as session:
        return import_file(session, path, kind, **kw)


def errors(report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message()) for e in report.errors]


def counts(report) -> tuple[int, int, int, int, int]:
    return (report.rows_read, report.inserted, report.updated, report.unchanged,
            report.rejected)


ROSTER = [
    ["江北区重点企业名录"],
    ["填报单位：江北城街道", None, "填报日期：2022年3月1日"],
    ["序号", "企业名称", "统一社会信用代码", "所属镇街", "地址", "成立日期", "注册资本（万元）",
     "联系人", "联系电话"],
    [1, "重庆齐祥灯饰有限公司", A, "大石坝", "江北区大石坝街道石马河路1号", dt.date(2015, 6, 1),
     "100余万元", "刘经理", "138 1234 5678"],
    [2, "中信证券重庆江北嘴营业部", B, None, "重庆市江北区江北城街道江北嘴金融城3号",
     "2018年3月1日", 5000, "王经理", "(023)67891234"],
    [3, "重庆江北嘴数智科技有限公司", C, "江北城街道办事处", "江北城某路", 43160, "1,000",
     None, None],
    [4, "重庆渝中某公司", D, None, "渝中区解放碑", "2020.1.5", None, None, None],
]


@pytest.fixture
def firms(engine, tmp_path):
    """Four firms imported from a roster: A (大石坝), B (江北城, from the address), C, D."""
    report = run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", ROSTER))
    assert report.inserted == 4, report.errors
    return report


@pytest.fixture
def people(engine):
    """Two cadres and a chamber."""
    with session_factory(engine).begin() as s:
        jbc = s.scalar(select(Street.id).where(Street.name == "江北城街道"))
        s.add_all([Person(name="张干部", kind="cadre", street_id=jbc),
                   Person(name="李干部", kind="cadre", street_id=jbc),
                   Chamber(name="大石坝街道商会")])
