"""Importing appeal ledgers: firms by code or name, mixed dates, words mapped, units created."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, inspect, select, text

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import Appeal, AppealUnit, ImportRecord, Unit
from crm.models.kpi import kpi_day_cell
from crm.rules import appeal_code
from crm.services import kpi, kpi_facts
from crm.services.users import actor_of, add_user
from etl.app import import_file
from etl.rollback import batch_records, rollback_batch
from tests.etl.conftest import BAD, A, B, C, counts, errors, run_import, xlsx

LEDGER = [
    ["江北区企业诉求台账"],
    ["诉求编号", "统一社会信用代码", "企业名称", "诉求类别", "诉求标题", "诉求内容", "受理时间",
     "承办单位", "办理状态", "答复时间", "满意度", "联系电话"],
    ["SQ-1", A, None, "融资", "流动资金周转困难", "希望对接银行", dt.datetime(2022, 3, 1, 9, 30),
     "区金融办", "已办结", "2022年3月10日", None, "138 1234 5678"],
    ["SQ-2", None, "中信证券重庆江北嘴营业部", "交通", "车辆乱停乱放", None, "2022年3月2日",
     "区交巡警支队", "已回访", "2022/03/05", "基本满意", None],
    ["SQ-3", B, "重庆齐祥灯饰有限公司", "交通", "名称与代码不符", None, "2022-3-3", None, None,
     None, None, None],
    ["SQ-4", C, None, "绿化", "门前绿化带缺损", None, 44625, "区城市管理局（新）", "办理中",
     None, None, None],
    ["SQ-5", BAD, None, "其他", "代码有误", None, "2022.3.5", None, None, None, None, None],
    ["SQ-6", A, None, "用工", "招工难", None, "三月", None, None, None, None, None],
    [None, A, None, "政策咨询", "咨询研发费用加计扣除", "没有编号的一行", "2022年3月7日", None,
     "受理", None, None, None],
    ["SQ-8", A, None, "融资", "答复早于受理", None, "2022-03-08", "区金融办", "已办结",
     "2022-03-01", None, None],
    ["SQ-9", A, None, "融资", "满意度填错", None, "2022-03-09", "区金融办", "已回访",
     "2022-03-10", "还行吧", None],
    ["SQ-1", A, None, "融资", "流动资金周转困难", "希望对接银行", dt.datetime(2022, 3, 1, 9, 30),
     "区金融办", "已办结", "2022年3月10日", "满意", "138 1234 5678"],
    ["合计", "10件"],
]


def test_a_ledger_names_firms_by_code_or_name_and_maps_words_and_dates(engine, firms, tmp_path):
    report = run_import(engine, "appeals", xlsx(tmp_path / "ledger.xlsx", LEDGER))
    assert report.header_row == 2
    assert counts(report) == (10, 4, 1, 0, 5)
    assert errors(report) == [
        (5, "企业名称", f"企业名称“重庆齐祥灯饰有限公司”与统一社会信用代码 {B} 不一致"
         "（该代码属于“中信证券重庆江北嘴营业部”）"),
        (7, "统一社会信用代码", f"统一社会信用代码有误：第 18 位校验码应为“{A[-1]}”，"
         f"实际为“{BAD[-1]}”，请核对全部 18 位"),
        (8, "受理时间", "无法识别的日期"),
        (10, "答复时间", "答复时间早于受理时间"),
        (11, "满意度", "无法识别“还行吧”，可填：满意、基本满意、不满意"),
    ]
    assert [(w.row, w.column, w.message()) for w in report.warnings] == [
        (6, "诉求类别", "未知类别“绿化”（1 行），已归入“其他”；管理员可在基础数据中为它指定类别"),
        (6, "承办单位", "新单位“区城市管理局（新）”已创建，待管理员确认或合并"),
    ]
    # the cell each issue names, as written; refused rows whole, for the download
    assert [(e.row, e.value) for e in report.errors] == [
        (5, "重庆齐祥灯饰有限公司"), (7, BAD), (8, "三月"), (10, "2022-03-01"), (11, "还行吧")]
    assert [w.value for w in report.warnings] == ["绿化", "区城市管理局（新）"]
    assert report.rejected_rows[5][:3] == ["SQ-3", B, "重庆齐祥灯饰有限公司"]
    assert sorted(report.rejected_rows) == [5, 7, 8, 10, 11]
    with session_factory(engine)() as s:
        got = {a.external_ref: a for a in s.scalars(select(Appeal))}
        assert all(a.code == appeal_code(a.received_at, a.id) for a in got.values())
        one = got["SQ-1"]
        assert (one.status, one.satisfaction, one.channel, one.contact_phone) == \
            ("replied", "satisfied", "import", "13812345678")
        assert one.received_at == dt.datetime(2022, 3, 1, 9, 30)
        assert one.replied_at == dt.datetime(2022, 3, 10)
        assert one.due_date == dt.date(2022, 3, 16)           # 融资: 15 days
        assert one.lead_unit.name == "区金融办"
        assert s.scalar(select(AppealUnit.role).where(AppealUnit.appeal_id == one.id)) == "lead"
        two = got["SQ-2"]
        assert (two.status, two.satisfaction, two.enterprise.uscc) == ("callback", "basic", B)
        four = got["SQ-4"]
        assert four.category.name == "其他" and four.received_at == dt.datetime(2022, 3, 5)
        assert four.status == "dispatched"
        unit = s.scalar(select(Unit).where(Unit.name == "区城市管理局（新）"))
        assert unit.confirmed is False and four.lead_unit_id == unit.id
        derived = [code for code in got if code.startswith("DR-")]
        assert len(derived) == 1 and got[derived[0]].description == "没有编号的一行"


def test_the_ledger_again_changes_nothing(engine, firms, tmp_path):
    path = xlsx(tmp_path / "ledger.xlsx", LEDGER)
    run_import(engine, "appeals", path)
    again = run_import(engine, "appeals", path)
    assert counts(again) == (10, 0, 0, 5, 5)
    assert again.warnings[0].message() == \
        "未知类别“绿化”（1 行），已归入“其他”；管理员可在基础数据中为它指定类别"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 4
        assert s.scalar(select(func.count()).select_from(Unit)
                        .where(Unit.name == "区城市管理局（新）")) == 1


def test_next_months_ledger_updates_what_changed_and_keeps_the_rest(engine, firms, tmp_path):
    run_import(engine, "appeals", xlsx(tmp_path / "march.xlsx", LEDGER))
    april = [LEDGER[1], ["SQ-2", B, None, "交通", "车辆乱停乱放", None, "2022年3月2日",
                         "区交巡警支队", "已归档", "2022/03/05", "满意", None]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "april.xlsx", april))
    assert counts(report) == (1, 0, 1, 0, 0)
    with session_factory(engine)() as s:
        two = s.scalar(select(Appeal).where(Appeal.external_ref == "SQ-2"))
        assert (two.status, two.satisfaction, two.version) == ("archived", "satisfied", 2)
        # the KPI pages see both months' writes at once
        assert kpi_facts.differences(s) == []
        assert kpi.compute(s)["satisfaction_rate"] == 1.0


def test_an_unknown_category_column_files_everything_under_other_with_a_note(engine, firms,
                                                                            tmp_path):
    rows = [["企业名称", "诉求内容", "受理日期"],
            ["重庆齐祥灯饰有限公司", "厂区停电频繁\n影响生产", "2022-05-01"]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "x.xlsx", rows))
    assert counts(report) == (1, 1, 0, 0, 0)
    assert [w.message() for w in report.warnings] == ["未填类别，已归入“其他”"]
    with session_factory(engine)() as s:
        appeal = s.scalar(select(Appeal))
        assert appeal.title == "厂区停电频繁" and appeal.category.name == "其他"
        assert appeal.description == "厂区停电频繁\n影响生产"


def test_a_liaison_imports_only_their_own_streets_appeals(engine, firms, tmp_path):
    with session_factory(engine).begin() as s:
        user = add_user(s, "li", role="liaison", street="江北城街道", password=None, actor=SYSTEM)
        actor = actor_of(user)
    rows = [["统一社会信用代码", "诉求标题", "受理时间"], [A, "大石坝的诉求", "2022-05-01"],
            [B, "江北城的诉求", "2022-05-01"]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "x.xlsx", rows), actor=actor)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert errors(report) == [(2, "统一社会信用代码", "不属于您所在的镇街")]


def test_a_big_ledger_takes_the_bulk_paths_and_keeps_the_rollups_exact(engine, firms, tmp_path):
    """6,000 rows: indexes and foreign keys deferred (≥ 5,000 rows), the KPI cells added
    through the bulk upsert (thousands of cells: PostgreSQL's COPY scratch-table path),
    the rows spread over days, streets' firms, categories, units and statuses."""
    start = dt.datetime(2023, 1, 2, 9, 0)
    statuses = ["已受理", "已办结", "已回访", "已派单"]
    rows = [["诉求编号", "统一社会信用代码", "诉求类别", "诉求内容", "受理时间", "承办单位",
             "办理状态", "答复时间", "满意度"]]
    for i in range(6000):
        received = start + dt.timedelta(days=i % 700, minutes=i)
        status = statuses[i % 4]
        rows.append([f"BIG-{i}", (A, B, C)[i % 3], ("融资", "交通", "用工")[i % 5 % 3],
                     f"第{i}号诉求", received, ("区金融办", "区交巡警支队", None)[i % 7 % 3],
                     status, received + dt.timedelta(days=i % 40) if status != "已受理" else None,
                     ("满意", "基本满意", "不满意")[i % 3] if status == "已回访" else None])
    path = xlsx(tmp_path / "big.xlsx", rows)
    report = run_import(engine, "appeals", path)
    assert counts(report) == (6000, 6000, 0, 0, 0)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 6000
        assert kpi_facts.differences(s) == []
        index_names = {ix["name"] for ix in inspect(s.connection()).get_indexes("appeal")}
        assert "ix_appeal_status_due" in index_names  # rebuilt after the load
    again = run_import(engine, "appeals", path)
    assert counts(again) == (6000, 0, 0, 6000, 0)
    # More appeals on the same days, streets, units and categories, but no reply dates:
    # the cells exist, and the measures these leave at 0 (the reply histogram) must
    # keep what the first ledger put there.
    more = [[c for k, c in enumerate(row) if k not in (7, 8)] for row in rows]
    more[1:] = [[f"MORE-{i}", *row[1:]] for i, row in enumerate(more[1:])]
    more[1:] = [[*row[:6], "已受理"] for row in more[1:]]
    third = run_import(engine, "appeals", xlsx(tmp_path / "more.xlsx", more))
    assert counts(third) == (6000, 6000, 0, 0, 0)
    with session_factory(engine)() as s:
        assert kpi_facts.differences(s) == []
        assert s.scalar(select(func.sum(kpi_day_cell.c.d00 + kpi_day_cell.c.d01))) > 0


def test_a_column_wise_block_is_remembered_as_runs_and_each_record_keeps_its_row(
        engine, firms, tmp_path):
    """New appeals planned column-wise are recorded as runs of consecutive ids from
    consecutive rows (ImportRecord.span); a refused row and a row planned one by one
    split a run. Expanded, every appeal has its own row, and rolling the batch back
    removes every one of them."""
    rows = [["诉求编号", "统一社会信用代码", "诉求类别", "诉求内容", "受理时间"]]
    for i in range(40):
        code = "坏代码" if i == 12 else A  # row 14: refused
        number = "RUN-5" if i == 30 else f"RUN-{i}"  # row 32 repeats row 7: row by row
        rows.append([number, code, "融资", f"第{i}号", dt.datetime(2024, 3, 1 + i % 20, 9)])
    report = run_import(engine, "appeals", xlsx(tmp_path / "runs.xlsx", rows))
    assert (report.rejected, report.inserted) == (1, 38)
    with session_factory(engine)() as s:
        stored = s.execute(select(ImportRecord.row_number, ImportRecord.span, ImportRecord.action)
                           .where(ImportRecord.batch_id == report.batch_id)
                           .order_by(ImportRecord.row_number)).all()
        assert len(stored) < 10 and max(r.span for r in stored) > 10
        records = batch_records(s, report.batch_id)
        by_code = dict(s.execute(select(Appeal.id, Appeal.external_ref)).all())
        row_of = {by_code[r.record_id]: r.row_number for r in records if r.action == "inserted"}
        assert len(records) == 39 and len(row_of) == 38  # RUN-5: inserted, then updated
        assert row_of == {f"RUN-{i}": i + 2 for i in range(40) if i not in (12, 30)}
        assert sorted(r.row_number for r in records) == [i + 2 for i in range(40) if i != 12]
    with session_factory(engine).begin() as s:
        assert rollback_batch(s, report.batch_id)["deleted"] == 38
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 0
        assert kpi_facts.differences(s) == []


def test_a_small_file_looks_its_keys_up_and_a_big_one_reads_the_column_once(
        engine, firms, tmp_path, monkeypatch):
    """Which keys are stored: a file naming few keys against a bigger table asks for
    those keys only (a street's rows against a district's million appeals); one naming
    a good share of the table reads the whole code column once. Same answers."""
    from sqlalchemy import event

    from etl.kinds import appeals as appeals_kind
    from etl.kinds import common

    monkeypatch.setattr(common, "SCAN_AT", 10)
    monkeypatch.setattr(appeals_kind, "SCAN_AT", 10)
    header = ["诉求编号", "统一社会信用代码", "诉求类别", "诉求内容", "受理时间"]
    ledger = [header] + [[f"KEY-{i}", A, "融资", f"第{i}号", dt.datetime(2024, 4, 1 + i % 20, 9)]
                         for i in range(60)]
    assert counts(run_import(engine, "appeals", xlsx(tmp_path / "all.xlsx", ledger))) == \
        (60, 60, 0, 0, 0)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        few = [header, ["KEY-3", A, "融资", "第3号，已改", dt.datetime(2024, 4, 4, 9)],
               ["KEY-NEW", A, "融资", "新的", dt.datetime(2024, 4, 2, 9)]]
        assert counts(run_import(engine, "appeals", xlsx(tmp_path / "few.xlsx", few))) == \
            (2, 1, 1, 0, 0)
        scans = [q for q in statements
                 if q.startswith("select appeal.external_ref") and "where" not in q]
        assert scans == [] and any(q.startswith("select appeal.external_ref") for q in statements)
        statements.clear()
        assert counts(run_import(engine, "appeals", xlsx(tmp_path / "all.xlsx", ledger))) == \
            (60, 0, 1, 59, 0)  # KEY-3 back to its first text
        assert [q for q in statements if q.startswith("select appeal.external_ref")
                and "where" not in q]
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_cells_of_whitespace_only_are_blank_and_never_reach_a_cleaner(engine, firms, tmp_path):
    rows = [["诉求编号", "统一社会信用代码", "诉求类别", "诉求标题", "诉求内容", "受理时间",
             "满意度"],
            ["WS-1", A, "融资", "   ", "标题空白时取内容首行", "2022-03-01", "\u3000"],
            ["WS-2", A, "融资", "有标题", None, " \t ", None]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "ws.xlsx", rows))
    assert counts(report) == (2, 1, 0, 0, 1)
    assert errors(report) == [(3, "受理时间", "“受理时间”不能为空")]
    with session_factory(engine)() as s:
        one = s.scalar(select(Appeal).where(Appeal.external_ref == "WS-1"))
        assert one.title == "标题空白时取内容首行" and one.satisfaction is None


def _mixed_ledger() -> list[list]:
    """LEDGER's awkward rows among 240 ordinary ones: codes and derived keys, firms by
    code, by name or both, blank and unknown categories, known, new and no units,
    keys repeated far apart, replies before receipt."""
    rows = [LEDGER[1], *LEDGER[2:-1]]
    names = {A: "重庆齐祥灯饰有限公司", B: "中信证券重庆江北嘴营业部", C: None}
    start = dt.datetime(2023, 5, 1, 9, 0)
    for i in range(240):
        firm = (A, B, C)[i % 3]
        code, name = (firm, None) if i % 4 == 0 else (None, names[firm]) if i % 4 == 1 and \
            names[firm] else (firm, names[firm])
        received = start + dt.timedelta(days=i % 60, hours=i % 7)
        status = ("已受理", "已办结", "已回访", None)[i % 4]
        replied = received + dt.timedelta(days=(i % 9) - 1) if status in ("已办结", "已回访") \
            else None
        ledger_no = None if i % 10 == 0 else f"MX-{i}" if i % 50 != 7 else f"MX-{i - 5}"
        rows.append([ledger_no, code, name,
                     None if i % 13 == 0 else ("融资", "交通", "绿化", "用工")[i % 4],
                     f"诉求{i}", f"第{i}号诉求内容", received,
                     ("区金融办", None, f"新单位{i % 3}", "区交巡警支队")[i % 4], status,
                     replied, ("满意", "不满意", None)[i % 3] if status == "已回访" else None,
                     f"1380000{i:04d}"])
    return rows


def _state(session) -> dict:
    """What an import leaves, by natural keys (ids, and so QF numbers, differ between two
    runs; each appeal is named by the generator all the same)."""
    def rows(sql: str) -> list:
        return sorted(tuple(map(str, r)) for r in session.execute(text(sql)))

    skip = {"id", "code", "created_at", "updated_at", "lead_unit_id"}
    cols = [c.name for c in Appeal.__table__.columns if c.name not in skip]
    assert all(a.code == appeal_code(a.received_at, a.id)
               for a in session.scalars(select(Appeal)))
    codes = dict(session.execute(text("SELECT id, external_ref FROM appeal")).all())
    cell_cols = [c.name for c in kpi_day_cell.columns if c.name != "unit_id"]
    return {
        "appeal": rows(f"SELECT {', '.join('a.' + c for c in cols)}, u.name FROM appeal a "
                       "LEFT JOIN unit u ON u.id = a.lead_unit_id"),
        "links": rows("SELECT a.external_ref, u.name, l.role, l.active, l.assigned_at"
                      " FROM appeal_unit l"
                      " JOIN appeal a ON a.id = l.appeal_id JOIN unit u ON u.id = l.unit_id"),
        "units": rows("SELECT name, confirmed FROM unit"),
        # one record each, whether it was written alone or in a run (ImportRecord.span)
        "provenance": sorted(tuple(map(str, (r.entity, r.row_number, r.action, r.previous,
                                             codes.get(r.record_id) if r.entity == "appeal"
                                             else None)))
                             for r in batch_records(session)),
        # a new unit's id differs between runs on PostgreSQL (sequences never roll back)
        "kpi_cells": rows(f"SELECT {', '.join('k.' + c for c in cell_cols)}, u.name "
                          "FROM kpi_day_cell k LEFT JOIN unit u ON u.id = k.unit_id"),
        "kpi_streets": rows("SELECT * FROM kpi_day_street"),
    }


def test_the_column_wise_planner_leaves_what_the_row_planner_leaves(engine, firms, tmp_path,
                                                                   monkeypatch):
    """The same files planned with and without Appeals.plan_bulk: same counts, rejections,
    warnings, appeals, links, units, provenance and KPI rollups, for a first import and
    for next month's ledger (most rows unchanged, some changed in one field each)."""
    from etl.engine import Context, Kind
    from etl.kinds.appeals import Appeals

    first = _mixed_ledger()
    path = xlsx(tmp_path / "mixed.xlsx", first)
    later = [list(row) for row in first]
    for i, row in enumerate(later[13:], start=13):  # the generated rows
        if i % 17 == 0:
            row[8] = "已归档"                       # status
        elif i % 19 == 0:
            row[5] = f"{row[5]}（补充）"            # description
        elif i % 23 == 0:
            row[3] = "交通" if row[3] != "交通" else "融资"  # category: a new due date
        elif i % 29 == 0:
            row[11] = "13900000000"                 # phone
        elif i % 31 == 0:
            row[2] = None                           # the firm by code alone: unchanged
    path2 = xlsx(tmp_path / "mixed-next.xlsx", later)
    in_bulk = []
    add_bulk = Context.add_bulk
    monkeypatch.setattr(Context, "add_bulk", lambda self, table, columns, rows, fill=None: (
        in_bulk.extend(rows), add_bulk(self, table, columns, rows, fill))[1])
    results = []
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(Appeals, "plan_bulk", Kind.plan_bulk)
        with session_factory(engine)() as s:
            reports = [import_file(s, p, "appeals") for p in (path, path2)]
            assert kpi_facts.differences(s) == []
            results.append(([(r.summary(), [(w.row, w.column, w.message()) for w in r.warnings])
                             for r in reports], _state(s)))
            s.rollback()
    assert 150 < len(in_bulk) < reports[0].inserted, "most new appeals planned column-wise"
    assert results[0] == results[1]
    assert reports[0].rejected >= 5 and reports[0].updated >= 3  # the repeated keys merge
    assert reports[1].unchanged > 150 and reports[1].updated >= 20
