"""Enterprises.plan_bulk (new firms planned column-wise) leaves exactly what the row planner
leaves: the same counts, reasons, notes, firms, contacts, chambers, memberships and
provenance, for rosters with and without a street column, over firms already on file, and
for a liaison."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import text

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import Chamber, Enterprise
from crm.services.users import actor_of, add_user
from crm.uscc import random_uscc
from etl.app import import_file
from tests.etl.conftest import BAD, run_import, xlsx

STREETS = ["观音桥", "石马河", "大石坝街道", "江北城街道办事处", "鱼嘴镇", None, "不存在街道"]
ADDRESSES = ["重庆市江北区观音桥街道建新北路1号", "江北区鱼嘴镇某路", "渝中区解放碑",
             None, "重庆市江北区石马河街道洋河路8号"]
BRANDS = "华鑫瑞祥泰恒盛达重庆长江银行乐和大石朝阳信合传车"
# a chamber on file, new ones, several in a cell, and one the awkward rows name too
CHAMBERS = [None, "江北区工商联", "江北区青年商会", "江北区青年商会、江北区女企业家商会", None,
            "江北区工商联，江北区楼宇商会", "江北区个体劳动者协会"]


def _roster(rng: random.Random, stored: list[tuple[str, str]], *, street_column: bool
            ) -> list[list]:
    """A title line, a header and ~260 rows: new firms of every shape, and the awkward
    ones (a code or a name twice, a stored firm's code or name, a bad code, no name)."""
    header = ["统一社会信用代码", "企业名称", "所属镇街", "注册地址", "企业规模",
              "注册资本（万元）", "成立日期", "四上企业", "联系人", "联系电话"]
    rows: list[list] = []
    for i in range(240):
        code = random_uscc(rng)
        name = "重庆" + "".join(rng.choice(BRANDS) for _ in range(3)) + f"{i}科技有限公司"
        rows.append([code, name, STREETS[i % len(STREETS)], ADDRESSES[i % len(ADDRESSES)],
                     ("小型", "微型", None, "巨型")[i % 4],
                     ("100余万元", 50, None, "约30万美元", "1,000")[i % 5],
                     (dt.date(2015, 6, 1), None, "2018年3月1日")[i % 3],
                     ("是", "否", None)[i % 3],
                     (f"联系人{i}", None, f"经理{i % 4}")[i % 3],
                     (f"1380000{i:04d}", None, "12345")[i % 3 if i % 7 else 1]])
    for i, row in enumerate(rows):
        row.append(CHAMBERS[i % len(CHAMBERS)])
    new = rng.sample(rows, 12)
    rows.append([new[0][0], new[0][1] + "（更名）", "观音桥", None, None, None, None, None,
                 "刘经理", "13900000000", "江北区个体劳动者协会"])  # a code twice: updates
    rows.append([random_uscc(rng), new[1][1], "观音桥", None, None, None, None, None, None,
                 None, "江北区渝商会"])                             # a name twice: refused
    rows.append([new[2][0], new[2][1], None, None, "中型", None, None, None, new[2][8],
                 "023-6789 1234", None])                          # the same firm again
    stored_firm = [stored[0][0], stored[0][1], "石马河", None, "大型", None, None, None,
                   "王经理", None, "江北区个体劳动者协会"]         # a stored firm: updates
    rows.append([random_uscc(rng), stored[1][1], None, None, None, None, None, None, None,
                 None, None])                                      # a stored name: refused
    rows.append([stored[2][0], stored[2][1], None, None, None, None, None, None, None,
                 None, None])                                      # unchanged
    rows.append([BAD, "重庆坏码有限公司", None, None, None, None, None, None, None, None,
                 "江北区个体劳动者协会"])
    rows.append([random_uscc(rng), None, "观音桥", None, None, None, None, None, None, None,
                 None])
    rng.shuffle(rows)
    # first to name a new chamber: the new firms naming it wait for the row planner
    rows.insert(0, stored_firm)
    header.append("所属商会")
    if not street_column:
        header.pop(2)
        rows = [r[:2] + r[3:] for r in rows]
    return [["江北区企业名录（测试）"], header, *rows]


def _state(session) -> dict:
    """What the imports left, by natural keys (ids differ between two runs)."""
    def rows(sql: str) -> list:
        return sorted(tuple(map(str, r)) for r in session.execute(text(sql)))

    cols = [c.name for c in Enterprise.__table__.columns
            if c.name not in ("id", "created_at", "updated_at")]
    firm_of = dict(session.execute(text("SELECT id, uscc FROM enterprise")).all())
    contact_of = {cid: (firm_of[fid], name) for cid, fid, name in session.execute(
        text("SELECT id, enterprise_id, name FROM contact"))}
    chamber_of = dict(session.execute(text("SELECT id, name FROM chamber")).all())
    provenance = []
    for entity, rid, row, action, previous, span, kind in session.execute(text(
            "SELECT r.entity, r.record_id, r.row_number, r.action, r.previous, r.span, b.kind "
            "FROM import_record r JOIN import_batch b ON b.id = r.batch_id")):
        for k in range(span):  # a run stands for span records from span rows
            key = {"enterprise": firm_of, "chamber": chamber_of}.get(entity, contact_of).get(
                rid + k)
            if entity == "chamber_member":  # its key, by names
                link = previous if isinstance(previous, dict) else json.loads(previous)
                key = previous = (chamber_of[link["chamber_id"]], firm_of[link["enterprise_id"]])
            provenance.append(tuple(map(str, (kind, entity, key, row + k, action, previous))))
    return {
        "enterprise": rows(f"SELECT {', '.join('e.' + c for c in cols)}, s.name FROM "
                           "enterprise e LEFT JOIN street s ON s.id = e.street_id"),
        "contact": rows("SELECT e.uscc, c.name, c.phone, c.title, c.is_primary FROM contact c "
                        "JOIN enterprise e ON e.id = c.enterprise_id"),
        "provenance": sorted(provenance),
        "chamber": rows("SELECT name, confirmed FROM chamber"),
        "members": rows("SELECT c.name, e.uscc FROM chamber_member m JOIN chamber c ON "
                        "c.id = m.chamber_id JOIN enterprise e ON e.id = m.enterprise_id"),
        "batches": rows("SELECT kind, rows_read, inserted, updated, unchanged, rejected, "
                        "status FROM import_batch"),
    }


@pytest.fixture
def stored(engine, tmp_path) -> list[tuple[str, str]]:
    """Three firms on file before the rosters come."""
    rng = random.Random(5)
    firms = [(random_uscc(rng), f"重庆已在册{i}号有限公司") for i in range(3)]
    with session_factory(engine).begin() as s:
        s.add(Chamber(name="江北区工商联"))
    report = run_import(engine, "enterprises", xlsx(
        tmp_path / "stored.xlsx", [["统一社会信用代码", "企业名称", "所属镇街", "联系人"],
                                   *[[c, n, "观音桥", "老联系人"] for c, n in firms]]))
    assert report.inserted == 3
    return firms


def test_the_column_wise_planner_leaves_what_the_row_planner_leaves(engine, stored, tmp_path,
                                                                   monkeypatch):
    from etl.engine import Context, Kind
    from etl.kinds.enterprises import Enterprises

    rng = random.Random(11)
    paths = [xlsx(tmp_path / "with-streets.xlsx", _roster(rng, stored, street_column=True)),
             xlsx(tmp_path / "no-streets.xlsx", _roster(rng, stored, street_column=False)),
             xlsx(tmp_path / "liaison.xlsx", _roster(rng, stored, street_column=True))]
    with session_factory(engine).begin() as s:
        liaison = actor_of(add_user(s, "gyq", role="liaison", street="观音桥街道",
                                    password=None, actor=SYSTEM))
    in_bulk = []
    add_bulk = Context.add_bulk
    monkeypatch.setattr(Context, "add_bulk", lambda self, table, columns, rows: (
        in_bulk.extend(rows) if table.name == "enterprise" else None,
        add_bulk(self, table, columns, rows))[1])
    results = []
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(Enterprises, "plan_bulk", Kind.plan_bulk)
        with session_factory(engine)() as s:
            reports = [import_file(s, path, "enterprises", actor=actor)
                       for path, actor in zip(paths, (None, None, liaison), strict=True)]
            results.append(([(r.summary(), [(w.row, w.column, w.value, w.message())
                                             for w in r.warnings]) for r in reports],
                             _state(s)))
            s.rollback()
        if bulk:
            planned = len(in_bulk)
    assert planned > 400, "most new firms planned column-wise"
    assert not in_bulk[planned:], "the row planner's run planned nothing column-wise"
    (bulk_reports, bulk_state), (row_reports, row_state) = results
    assert bulk_reports == row_reports
    assert bulk_state == row_state
    first = bulk_reports[0][0]
    assert first["updated"] >= 2 and first["unchanged"] >= 1 and first["rejected"] >= 3
    assert any("暂不归属镇街" in w[3] for w in bulk_reports[1][1])  # no street, none in address
    assert bulk_reports[2][0]["rejected"] > 50  # the liaison's other streets
    unconfirmed = [name for name, confirmed in bulk_state["chamber"]
                   if confirmed in ("0", "False")]
    assert len(bulk_state["members"]) > 300 and len(unconfirmed) >= 4
    assert sum("新商会" in w[3] for report in bulk_reports for w in report[1]) \
        == len(unconfirmed)  # one note each, on the row that first named it
