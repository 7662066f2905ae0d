"""Export → import reports every row unchanged, for every kind, as .xlsx and as .csv."""

from __future__ import annotations

import datetime as dt

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import (
    Appeal,
    Assignment,
    BankProduct,
    Contact,
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    FinancingNeed,
    JobFair,
    Street,
    Visit,
)
from etl.app import template
from etl.export import export
from etl.headers import canonical_headers
from tests.etl.conftest import A, B, C, counts, errors, run_import, xlsx

VISITS = [["企业名称", "走访干部", "走访日期", "走访方式", "走访情况"],
          ["重庆齐祥灯饰有限公司", "张干部", "2022年3月1日", "实地走访", "了解资金需求\n送政策"],
          ["中信证券重庆江北嘴营业部", "李干部", "2022.3.2", "电话", None],
          ["中信证券重庆江北嘴营业部", "王不存在", "2022.3.3", "电话", None],
          ["重庆齐祥灯饰有限公司", "张干部", "2099年1月1日", "电话", None]]
ASSIGNMENTS = [["统一社会信用代码", "包联干部", "开始日期", "结束日期"],
               [A, "张干部", "2021-01-01", "2021-12-31"],
               [A, "李干部", "2022-01-01", None],
               [B, "张干部", "2022-01-01", None],
               [B, "李干部", "2022-02-01", None],
               [C, "张干部", "2022-02-01", "2022-01-01"],
               [C, "李干部", "2099-01-01", None]]
NEEDS = [["企业名称", "融资需求", "资金用途", "期限", "担保方式", "需求日期", "所属商会"],
         ["重庆齐祥灯饰有限公司", "100余万元", "采购原材料", "12个月", "信用", "2022-03-01",
          "大石坝街道商会"],
         ["中信证券重庆江北嘴营业部", "500万", None, None, "抵押", 44621, None],
         ["重庆江北嘴数智科技有限公司", "一些钱", None, None, None, "2022-03-01", None]]
PRODUCTS = [["银行", "产品名称", "额度（万元）", "年利率", "期限（月）", "担保方式", "适用规模",
             "是否在售", "适用行业"],
            ["重庆农村商业银行", "渝快贷", "10-300", "3.85%-6%", "12-36", "信用、抵押",
             "小型、微型",
             "是", "制造业、信息传输、软件和信息技术服务业，汽车制造业"],
            ["中国银行", "科创贷", "最高1000", "4.2%", "12", "质押", None, "否", None],
            ["中国银行", "坏产品", "10-300", "高", None, "房子", None, None, None]]
FAIRS = [["2022年春风行动招聘会"],
         ["招聘会名称", "举办日期", "举办地点", "镇街", "企业名称", "岗位", "招聘人数", "薪资",
          "投递简历", "意向人数", "体检人数", "入职人数"],
         ["春风行动招聘会", "2022年3月1日", "鱼嘴镇", "鱼嘴", "重庆齐祥灯饰有限公司", "操作工", 30,
          "4000-6000", 50, 30, 10, 8],
         ["春风行动招聘会", "2022年3月1日", "鱼嘴镇", "鱼嘴", "重庆齐祥灯饰有限公司", "质检员", 5,
          "5千-8千", 50, 30, 10, 8],
         ["春风行动招聘会", "2022年3月1日", "鱼嘴镇", "鱼嘴", "中信证券重庆江北嘴营业部", None,
          None, None, 12, 20, 1, 0]]


@pytest.fixture
def world(engine, firms, people, tmp_path):
    """One import of every kind (firms come from the roster fixture)."""
    results = {}
    for kind, rows in (("visits", VISITS), ("assignments", ASSIGNMENTS),
                       ("financing-needs", NEEDS), ("bank-products", PRODUCTS),
                       ("job-fair", FAIRS)):
        results[kind] = run_import(engine, kind, xlsx(tmp_path / f"{kind}.xlsx", rows))
    results["appeals"] = run_import(engine, "appeals", xlsx(tmp_path / "ledger.xlsx", [
        ["诉求编号", "统一社会信用代码", "诉求类别", "诉求标题", "诉求内容", "受理时间", "承办单位",
         "办理状态", "答复时间", "满意度", "是否解决", "紧急程度"],
        ["SQ-1", A, "融资", "=资金紧张", "多行\n内容", dt.datetime(2022, 3, 1, 9, 30, 15),
         "区金融办", "已回访", "2022-03-05 16:00", "满意", "是", "紧急"],
        [None, B, "交通", "停车难", None, "2022-03-02", None, None, None, None, None, None],
        # formula-like text (OWASP CSV injection): exported quoted, imported back unquoted
        ["SQ-2", A, "融资", "@SUM(1+1)", "正文", "2022-03-03", None, None, None, None, None, None],
        ["SQ-3", B, "融资", "+cmd|' /C calc'!A0", "'=已带引号", "2022-03-04", None, None, None,
         None, None, None],
        ["SQ-4", B, "融资", "-2+3", "-5", "2022-03-04", None, None, None, None, None, None]]))
    results["enterprises"] = firms
    with session_factory(engine).begin() as s:
        # Masked lists: a firm's second contact shares the primary's name (the export
        # writes the primary), and a stored phone is masked (kept as written, not 1392618).
        firm_a = s.scalar(select(Enterprise.id).where(Enterprise.uscc == A))
        s.add(Contact(enterprise_id=firm_a, name="刘经理", phone="13700000000", is_primary=False))
        firm_b = s.scalar(select(Enterprise.id).where(Enterprise.uscc == B))
        s.scalar(select(Contact).where(Contact.enterprise_id == firm_b,
                                       Contact.is_primary)).phone = "139****2618"
        # typed in the app (an xlsx cell starting with = would be a formula, not text)
        s.scalar(select(Appeal).where(Appeal.title == "@SUM(1+1)")).description = \
            '=HYPERLINK("http://evil.example","点此")'
    return results


def test_each_kind_imports_its_hand_made_file_with_the_right_rejections(engine, world):
    assert counts(world["visits"]) == (4, 2, 0, 0, 2)
    assert errors(world["visits"]) == [(4, "走访干部", "系统中没有名为“王不存在”的人员"),
                                       (5, "走访日期", "日期不能晚于今天")]
    assert counts(world["assignments"]) == (6, 3, 0, 0, 3)
    assert errors(world["assignments"]) == [
        (5, "包联干部", "该企业已有在岗包联干部“张干部”，请先填写其结束日期"),
        (6, "结束日期", "结束日期早于开始日期"),
        (7, "开始日期", "日期不能晚于今天")]
    assert counts(world["financing-needs"]) == (3, 2, 0, 0, 1)
    assert errors(world["financing-needs"]) == [(4, "融资需求", "无法识别的金额")]
    assert counts(world["bank-products"]) == (3, 2, 0, 0, 1)
    assert errors(world["bank-products"]) == [
        (4, "年利率", "无法识别的区间（如 50-500）"),
        (4, "担保方式", "无法识别“房子”，可填：信用、抵押、担保、质押")]
    # intents above applicants: the row is refused (the app refuses the same update)
    assert counts(world["job-fair"]) == (3, 1, 1, 0, 1)
    assert errors(world["job-fair"]) == [
        (5, "意向人数", "“达成意向”20 人多于“投递简历”12 人：人数应逐级递减"
                    "（投递简历 ≥ 达成意向 ≥ 体检 ≥ 入职 ≥ 在岗90天）")]
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 2
        active = s.scalars(select(Assignment).where(Assignment.end_date.is_(None))).all()
        assert len(active) == 2
        need = s.scalar(select(FinancingNeed).where(FinancingNeed.purpose == "采购原材料"))
        assert (need.amount, need.amount_approx, need.term_months, need.collateral) == \
            (100, True, 12, "credit")
        assert need.chamber_id is not None
        product = s.scalar(select(BankProduct).where(BankProduct.name == "渝快贷"))
        assert (float(product.rate_min), float(product.rate_max), product.term_min,
                product.term_max, product.collateral, product.sizes) == \
            (0.0385, 0.06, 12, 36, ["credit", "mortgage"], ["small", "micro"])
        # A section name with a 、 in it stays one industry; 汽车制造业 is not 制造业.
        assert product.industries == ["制造业", "信息传输、软件和信息技术服务业", "汽车制造业"]
        other = s.scalar(select(BankProduct).where(BankProduct.name == "科创贷"))
        assert (other.amount_min, other.amount_max, other.active) == (None, 1000, False)
        fair = s.execute(select(JobFair.name, JobFair.held_on, Street.name)
                         .join(Street, Street.id == JobFair.street_id)).one()
        assert tuple(fair) == ("春风行动招聘会", dt.date(2022, 3, 1), "鱼嘴镇")
        pays = s.execute(select(FairPosition.title, FairPosition.pay_min, FairPosition.pay_max)
                         .order_by(FairPosition.id)).all()
        assert pays == [("操作工", 4000, 6000), ("质检员", 5000, 8000)]
        assert s.scalar(select(func.count()).select_from(FairParticipation)) == 1
        assert s.execute(select(FairPositionUpdate.as_of, FairPositionUpdate.hired)).all() \
            == [(dt.date(2022, 3, 1), 8), (dt.date(2022, 3, 1), 8)]


def test_a_liaison_assigns_only_their_own_streets_cadres(engine, firms, people, tmp_path):
    """As crm.services.assignments refuses in the app: a firm of the liaison's street may
    not be given a cadre of another street."""
    from crm.services.users import actor_of, add_user

    with session_factory(engine).begin() as s:
        dsb = actor_of(add_user(s, "dsb", role="liaison", street="大石坝街道", password=None,
                                actor=SYSTEM))
        jbc = actor_of(add_user(s, "jbc", role="liaison", street="江北城街道", password=None,
                                actor=SYSTEM))
    rows = [["统一社会信用代码", "包联干部", "开始日期"], [A, "张干部", "2022-01-01"]]
    refused = run_import(engine, "assignments", xlsx(tmp_path / "a.xlsx", rows), actor=dsb)
    assert counts(refused) == (1, 0, 0, 0, 1)
    assert errors(refused) == [(2, "包联干部", "不属于您所在的镇街")]
    rows = [["统一社会信用代码", "包联干部", "开始日期"], [B, "张干部", "2022-01-01"]]
    taken = run_import(engine, "assignments", xlsx(tmp_path / "b.xlsx", rows), actor=jbc)
    assert counts(taken) == (1, 1, 0, 0, 0)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("kind", ["enterprises", "appeals", "visits", "assignments",
                                  "financing-needs", "bank-products", "job-fair"])
def test_export_then_import_reports_every_row_unchanged(engine, world, tmp_path, kind, suffix):
    target = tmp_path / f"{kind}{suffix}"
    with session_factory(engine)() as s:
        written = export(s, kind, target)
    assert written > 0
    report = run_import(engine, kind, target)
    assert report.errors == [] and report.rows_read == written
    assert report.unchanged == written, (kind, counts(report))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_export_holds_no_formula_and_the_hostile_text_reads_back(engine, world, tmp_path,
                                                                     suffix):
    from crm.textsafety import is_formula_like

    target = tmp_path / f"appeals{suffix}"
    with session_factory(engine)() as s:
        export(s, "appeals", target)
    if suffix == ".csv":
        import csv

        with open(target, encoding="utf-8-sig", newline="") as f:
            cells = [c for row in csv.reader(f) for c in row]
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(target).active
        assert not [c.coordinate for row in sheet.iter_rows() for c in row
                    if c.data_type == "f"]
        cells = [c.value for row in sheet.iter_rows() for c in row]
    assert not [c for c in cells if is_formula_like(c)]
    assert "'@SUM(1+1)" in cells and "'=已带引号" in cells and "'-2+3" in cells
    with session_factory(engine)() as s:
        titles = set(s.scalars(select(Appeal.title)))
        contents = set(s.scalars(select(Appeal.description)))
    assert {"@SUM(1+1)", "+cmd|' /C calc'!A0", "-2+3"} <= titles
    # a quote before a formula start is the spreadsheet's "this is text" mark, so the
    # importer takes it off a file's cell as it does off our exports
    assert {'=HYPERLINK("http://evil.example","点此")', "=已带引号", "-5"} <= contents


def test_templates_carry_the_headers_the_importer_reads(tmp_path):
    for kind in ("enterprises", "appeals", "job-fair"):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(template(kind))
        header = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
        assert header == list(canonical_headers(kind).values())


def test_appeals_export_their_ledger_number_else_their_qf_number_and_import_back_unchanged(
        engine, world, tmp_path):
    """An imported appeal is written under 诉求编号 with its ledger's number, an appeal
    logged in the app with its QF number; importing the file finds each again by it."""
    from crm.models import Appeal, Category
    from crm.services import appeals

    with session_factory(engine).begin() as s:
        firm = s.scalar(select(Enterprise.id).where(Enterprise.uscc == A))
        category = s.scalar(select(Category.id).where(Category.name == "交通"))
        code = appeals.log_appeal(s, actor=SYSTEM, enterprise_id=firm, category_id=category,
                                  title="在应用中登记的诉求").code
    target = tmp_path / "appeals.xlsx"
    with session_factory(engine)() as s:
        stored = dict(s.execute(select(Appeal.code, Appeal.external_ref)).all())
        assert len(stored) >= 3  # the world's imported appeals and the one logged here
        assert export(s, "appeals", target) == len(stored)
    numbers = [row[0] for row in CalamineWorkbook.from_path(str(target))
               .get_sheet_by_index(0).to_python()[1:]]
    assert "SQ-1" in numbers and code in numbers and code.startswith("QF")
    assert sorted(numbers) == sorted(ref or qf for qf, ref in stored.items())
    report = run_import(engine, "appeals", target)
    assert (report.unchanged, report.inserted, report.updated) == (len(stored), 0, 0), \
        counts(report)
    with session_factory(engine)() as s:
        assert dict(s.execute(select(Appeal.code, Appeal.external_ref)).all()) == stored
