"""The assignments sheet with all three kinds (类型): a cadre's firm (干部包企业), an
office's firm (科室包企业) and a leader's building (班子包楼宇); the export writes them all
and reading it back changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.db import session_factory
from crm.models import Assignment, Building, Person, Street
from etl.export import export
from tests.etl.conftest import A, B, C, counts, errors, run_import, xlsx

ROWS = [["包联类型", "统一社会信用代码", "包联干部", "包联科室", "包联楼宇", "开始日期"],
        [None, A, "张干部", None, None, "2022-01-01"],              # a cadre (the default)
        ["干部包企业", B, "李干部", None, None, "2022-01-01"],
        ["科室包企业", A, None, "区金融办", None, "2022-01-01"],
        ["科室包企业", C, None, "不存在的科室", None, "2022-01-01"],
        ["班子包楼宇", None, "王书记", None, "江北嘴金融中心", "2022-01-01"],
        ["班子包楼宇", None, "王书记", None, "没有这座楼", "2022-01-01"],
        ["科室包企业", None, None, "区金融办", None, "2022-01-01"],
        ["楼长", A, "张干部", None, None, "2022-01-01"]]


def test_all_three_kinds_import_and_export_back_unchanged(engine, firms, people, tmp_path):
    with session_factory(engine).begin() as s:
        jbc = s.scalar(select(Street.id).where(Street.name == "江北城街道"))
        s.add_all([Person(name="王书记", kind="leader", street_id=jbc),
                   Building(name="江北嘴金融中心", street_id=jbc)])
    report = run_import(engine, "assignments", xlsx(tmp_path / "a.xlsx", ROWS))
    assert counts(report) == (8, 4, 0, 0, 4)
    assert errors(report) == [
        (5, "包联科室", "系统中没有名为“不存在的科室”的单位或科室"),
        (7, "包联楼宇", "系统中没有名为“没有这座楼”的楼宇"),
        (8, "统一社会信用代码", "“统一社会信用代码”不能为空"),
        (9, "包联类型", "无法识别“楼长”，可填：干部包企业、科室包企业、班子包楼宇")]
    with session_factory(engine)() as s:
        kinds = dict(s.execute(select(Assignment.kind, func.count())
                               .group_by(Assignment.kind)).all())
        assert kinds == {"cadre_enterprise": 2, "office_enterprise": 1, "leader_building": 1}
        target = tmp_path / "back.xlsx"
        written = export(s, "assignments", target)
    assert written == 4
    again = run_import(engine, "assignments", target)
    assert (again.errors, counts(again)) == ([], (4, 0, 0, 4, 0))
    assert counts(run_import(engine, "assignments", xlsx(tmp_path / "a.xlsx", ROWS))) == \
        (8, 0, 0, 4, 4)
