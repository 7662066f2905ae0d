"""Importing firm rosters as streets send them: title lines, blank lines, totals, duplicates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.db import session_factory
from crm.errors import ValidationError
from crm.models import Contact, Enterprise, ImportBatch, ImportRecord, Street
from tests.etl.conftest import BAD, A, B, C, D, counts, errors, run_import, xlsx

MESSY = [
    ["2022年江北区企业服务台账"],                                            # 1 merged title
    ["填报单位：大石坝街道", None, None, "填报日期：2022年3月1日"],            # 2
    [],                                                                      # 3
    ["序号", "单位名称", "社会信用代码*", "镇街", "注册资金", "是否四上企业", "联系人",
     "手机"],                                                                # 4 header
    [1, "  重庆齐祥灯饰有限公司 ", A.lower(), "大石坝", "100余万元", "是", "刘经理",
     "138 1234 5678"],                                                       # 5
    [2, "重庆甲公司", BAD, "大石坝", "50万元", "否", None, None],             # 6 bad code
    [],                                                                      # 7 blank
    [3, "重庆乙公司", B, "不存在街道", None, None, None, None],              # 8 bad street
    [4, None, C, "观音桥", None, None, None, None],                          # 9 no name
    [5, "重庆齐祥灯饰有限公司", A, "大石坝街道", "120万", "是", "刘经理",
     "023-6789 1234"],                                                       # 10 repeat of 5
    [6, "重庆丙公司", D, "寸滩", "约30万美元", "maybe", None, "12345"],      # 11 soft problems
    ["合计", "5家"],                                                         # 12
    ["注：本表由街道经发办填报"],                                             # 13
]


def test_a_messy_roster_is_read_past_its_title_lines_and_every_bad_row_says_why(engine,
                                                                                 tmp_path):
    path = xlsx(tmp_path / "messy.xlsx", MESSY, merge="A1:H1")
    report = run_import(engine, "enterprises", path)
    assert report.header_row == 4
    assert report.mapping.unmapped == ["序号"]
    assert counts(report) == (6, 2, 1, 0, 3)  # read, inserted, updated, unchanged, rejected
    assert errors(report) == [
        (6, "社会信用代码*", f"统一社会信用代码有误：第 18 位校验码应为“{A[-1]}”，"
         f"实际为“{BAD[-1]}”，请核对全部 18 位"),
        (8, "镇街", "没有名为“不存在街道”的镇街"),
        (9, "单位名称", "“单位名称”不能为空"),
    ]
    assert [(w.row, w.column, w.message()) for w in report.warnings] == [
        (5, "注册资金", "金额为约数，按所写数字保存"),
        (10, "", "与第 5 行是同一条记录，但“注册资金、手机”不同：以本行为准"),
        (11, "注册资金", "外币金额未换算，已留空"),
        (11, "是否四上企业", "应为“是”或“否”"),
        (11, "手机", "电话号码格式无法识别，已原样保存"),
    ]
    with session_factory(engine)() as s:
        firm = s.scalar(select(Enterprise).where(Enterprise.uscc == A))
        assert firm.name == "重庆齐祥灯饰有限公司"
        assert firm.street.name == "大石坝街道"
        assert firm.registered_capital == Decimal("120.00")   # the repeat row updated it
        assert firm.is_above_scale is True
        assert firm.name_initials == "CQQXDSYXGS"
        contacts = s.execute(select(Contact.name, Contact.phone, Contact.is_primary)
                             .where(Contact.enterprise_id == firm.id)).all()
        assert contacts == [("刘经理", "023-67891234", True)]
        other = s.scalar(select(Enterprise).where(Enterprise.uscc == D))
        assert other.registered_capital is None and other.street.name == "寸滩街道"


def test_the_same_file_again_changes_nothing(engine, tmp_path):
    path = xlsx(tmp_path / "messy.xlsx", MESSY, merge="A1:H1")
    run_import(engine, "enterprises", path)
    again = run_import(engine, "enterprises", path)
    assert counts(again) == (6, 0, 0, 3, 3)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 2
        assert s.scalar(select(Enterprise.version).where(Enterprise.uscc == A)) == 1


def test_a_registry_without_streets_takes_the_street_from_the_address_or_leaves_it(engine,
                                                                                   firms):
    with session_factory(engine)() as s:
        streets = dict(s.execute(select(Enterprise.uscc, Street.name)
                                 .outerjoin(Street, Street.id == Enterprise.street_id)).all())
        assert streets == {A: "大石坝街道", B: "江北城街道", C: "江北城街道", D: None}
        firm = s.scalar(select(Enterprise).where(Enterprise.uscc == C))
        assert firm.registered_on == dt.date(2018, 3, 1)   # Excel serial 43160
        assert firm.registered_capital == Decimal("1000.00")
    assert [(w.row, w.message()) for w in firms.warnings] == [
        (4, "金额为约数，按所写数字保存"),
        (7, "未填镇街，地址中也未写明街道或镇：暂不归属镇街")]


def test_a_name_already_used_by_another_code_is_refused(engine, firms, tmp_path):
    path = xlsx(tmp_path / "clash.xlsx", [["统一社会信用代码", "企业名称"],
                                          [D, "重庆齐祥灯饰有限公司"]])
    report = run_import(engine, "enterprises", path)
    assert errors(report) == [
        (2, "企业名称", f"企业名称“重庆齐祥灯饰有限公司”已属于另一统一社会信用代码 {A}")]


def test_a_blank_cell_or_a_missing_column_never_erases_what_is_stored(engine, firms, tmp_path):
    path = xlsx(tmp_path / "thin.xlsx", [["统一社会信用代码", "企业名称", "地址"],
                                         [A, "重庆齐祥灯饰有限公司", None]])
    report = run_import(engine, "enterprises", path)
    assert counts(report) == (1, 0, 0, 1, 0)
    with session_factory(engine)() as s:
        firm = s.scalar(select(Enterprise).where(Enterprise.uscc == A))
        assert firm.address == "江北区大石坝街道石马河路1号" and firm.street_id is not None


def test_strict_mode_writes_nothing_when_a_row_is_rejected(engine, tmp_path):
    path = xlsx(tmp_path / "messy.xlsx", MESSY)
    report = run_import(engine, "enterprises", path, strict=True)
    assert report.rejected == 3 and not report.written and report.batch_id is None
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 0
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_a_dry_run_counts_like_the_real_thing_and_writes_nothing(engine, tmp_path):
    path = xlsx(tmp_path / "messy.xlsx", MESSY)
    report = run_import(engine, "enterprises", path, dry_run=True)
    assert counts(report) == (6, 2, 1, 0, 3)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_each_record_remembers_its_batch_file_sheet_and_row(engine, tmp_path):
    path = xlsx(tmp_path / "messy.xlsx", MESSY, sheet="三月")
    report = run_import(engine, "enterprises", path)
    with session_factory(engine)() as s:
        batch = s.get(ImportBatch, report.batch_id)
        assert (batch.filename, batch.sheet, batch.status, batch.inserted) == \
            ("messy.xlsx", "三月", "done", 2)
        rows = s.execute(select(ImportRecord.entity, ImportRecord.row_number,
                                ImportRecord.action)
                         .where(ImportRecord.batch_id == batch.id)
                         .order_by(ImportRecord.id)).all()
    assert [r for r in rows if r.entity == "enterprise"] == [
        ("enterprise", 5, "inserted"), ("enterprise", 10, "updated"),
        ("enterprise", 11, "inserted")]


def test_a_gbk_csv_and_a_utf8_bom_csv_read_the_same(engine, tmp_path):
    text = f"企业名称,统一社会信用代码,镇街\n重庆齐祥灯饰有限公司,{A},大石坝\n"
    (tmp_path / "gbk.csv").write_bytes(text.encode("gbk"))
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    first = run_import(engine, "enterprises", tmp_path / "gbk.csv")
    assert counts(first) == (1, 1, 0, 0, 0)
    again = run_import(engine, "enterprises", tmp_path / "bom.csv")
    assert counts(again) == (1, 0, 0, 1, 0)


def test_a_file_without_a_recognisable_header_cannot_be_imported(engine, tmp_path):
    path = xlsx(tmp_path / "x.xlsx", [["甲", "乙"], [1, 2]])
    with pytest.raises(ValidationError, match="no header row"):
        run_import(engine, "enterprises", path)
    path = xlsx(tmp_path / "y.xlsx", [["企业名称", "地址"], ["某公司", "某路"]])
    with pytest.raises(ValidationError, match="lacks required column"):
        run_import(engine, "enterprises", path)


def test_a_blank_first_column_a_repeated_header_and_a_footer_are_told_apart(engine,
                                                                             tmp_path):
    """Every row's first cell blank (an empty leading column): the data rows are kept,
    the header repeated above a second block, a blank row and the 合计 line are not."""
    header = [None, "单位名称", "社会信用代码", "镇街"]
    rows = [["企业名录（A 列留空）"],  # a title in A1, so the reader keeps column A
            header,
            [None, "重庆齐祥灯饰有限公司", A, "大石坝"],
            [None, None, None, None],
            header,
            [None, "中信证券重庆江北嘴营业部", B, "江北城"],
            [None, "重庆江北嘴数智科技有限公司", C, "江北城"],
            [None, "合计", "3家", None]]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "blank-a.xlsx", rows))
    assert counts(report) == (3, 3, 0, 0, 0)  # 合计 is the first filled cell: a footer
    assert report.header_row == 2 and report.sample[0][:3] == ["", "重庆齐祥灯饰有限公司", A]
