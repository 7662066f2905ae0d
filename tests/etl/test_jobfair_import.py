"""The job-fair kind: the sign-up sheet and the results sheet, rows refused with reasons."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import FairParticipation, FairPosition, FairPositionUpdate, JobFair
from crm.services import jobfair_report
from tests.etl.conftest import A, B, counts, errors, run_import, xlsx

SIGN_UP = [
    ["2026年春风行动鱼嘴镇专场招聘会 企业报名表"],
    ["填报单位：鱼嘴镇", None, "填报日期：2026年2月20日"],
    ["招聘会名称", "举办日期", "形式", "举办地点", "组织镇街", "统一社会信用代码", "企业名称",
     "岗位名称", "招聘人数", "薪资", "任职要求"],
    ["春风行动", "2026年3月1日", "专场", "鱼复工业园", "鱼嘴", A, None, "装配工", "30人",
     "4500-6500", "初中以上，能倒班"],
    ["春风行动", "2026年3月1日", "专场", "鱼复工业园", "鱼嘴", A, None, "质检员", 5, "面议", None],
    ["春风行动", "2026年3月1日", "专场", "鱼复工业园", "鱼嘴", B, None, "客户经理", 3, "8千-1.2万",
     None],
    # refused: a pay range upside down; a firm no roster holds; a kind nobody knows
    ["春风行动", "2026年3月1日", "专场", "鱼复工业园", "鱼嘴", B, None, "柜员", 2, "9000-6000",
     None],
    ["春风行动", "2026年3月1日", "专场", "鱼复工业园", "鱼嘴", None, "不存在的公司", "普工", 2,
     None, None],
    ["春风行动", "2026年3月1日", "庙会", "鱼复工业园", "鱼嘴", A, None, "电工", 2, None, None],
    ["合计", None, None, None, None, None, None, None, 42],
]


def _fair(engine):
    with session_factory(engine)() as s:
        return s.scalar(select(JobFair))


def test_a_sign_up_sheet_with_errors_keeps_the_good_rows_and_names_each_bad_one(
        engine, firms, tmp_path):
    report = run_import(engine, "job-fair", xlsx(tmp_path / "signup.xlsx", SIGN_UP))
    assert counts(report) == (6, 2, 1, 0, 3)
    assert errors(report) == [
        (7, "薪资", "无法识别的区间（如 50-500）"),
        (8, "企业名称", report.errors[1].message()),
        (9, "形式", report.errors[2].message())]
    assert "不存在的公司" in report.errors[1].message()
    assert "庙会" in report.errors[2].message()
    fair = _fair(engine)
    assert (fair.name, fair.held_on, fair.kind, fair.place) == (
        "春风行动", dt.date(2026, 3, 1), "special", "鱼复工业园")
    with session_factory(engine)() as s:
        rows = s.execute(select(FairPosition.title, FairPosition.headcount, FairPosition.pay_min,
                                FairPosition.pay_max, FairPosition.pay_negotiable,
                                FairPosition.requirements).order_by(FairPosition.id)).all()
        assert rows == [("装配工", 30, 4500, 6500, False, "初中以上，能倒班"),
                        ("质检员", 5, None, None, True, None),
                        ("客户经理", 3, 8000, 12000, False, None)]
        assert set(s.scalars(select(FairParticipation.status))) == {"signed_up"}
        assert s.scalar(select(func.count()).select_from(FairPositionUpdate)) == 0
    again = run_import(engine, "job-fair", xlsx(tmp_path / "signup.xlsx", SIGN_UP))
    assert counts(again) == (6, 0, 0, 3, 3)


RESULTS_HEADER = ["招聘会名称", "举办日期", "统一社会信用代码", "岗位名称", "统计日期",
                  "投递简历数", "达成意向人数", "体检人数", "入职人数", "在岗90天人数"]


def test_the_results_sheet_dates_each_update_and_refuses_one_out_of_order(engine, firms,
                                                                          tmp_path):
    run_import(engine, "job-fair", xlsx(tmp_path / "signup.xlsx", SIGN_UP))
    first = run_import(engine, "job-fair", xlsx(tmp_path / "week1.xlsx", [
        RESULTS_HEADER,
        ["春风行动", "2026-03-01", A, "装配工", "2026-03-01", 40, 20, None, None, None],
        ["春风行动", "2026-03-01", A, "质检员", "2026-03-01", 6, 3, None, None, None]]))
    assert first.rejected == 0, errors(first)
    # two weeks on: the checks of 装配工 exceed the intents on record (20, not in this row);
    # a retention figure before 90 days; a good row
    second = run_import(engine, "job-fair", xlsx(tmp_path / "week3.xlsx", [
        RESULTS_HEADER,
        ["春风行动", "2026-03-01", A, "装配工", "2026-03-15", None, None, 25, None, None],
        ["春风行动", "2026-03-01", A, "质检员", "2026-03-15", None, None, 3, 2, 2],
        ["春风行动", "2026-03-01", B, "客户经理", "2026-03-15", 9, 4, 3, 3, None]]))
    assert [(r, c) for r, c, _ in errors(second)] == [(2, "体检人数"), (3, "在岗90天人数")]
    assert errors(second)[0][2].startswith("“体检”25 人多于“达成意向”20 人")
    assert "2026-05-30" in errors(second)[1][2]
    assert counts(second)[1:] == (0, 1, 0, 2)  # a new update of a stored participation
    with session_factory(engine)() as s:
        fair = s.scalar(select(JobFair))
        mid = jobfair_report.fair_report(s, fair.id, actor=SYSTEM, as_of=dt.date(2026, 3, 20))
        assert {(p["title"], p["applicants"], p["intents"], p["medical_checks"], p["hired"])
                for p in mid["positions"]} == {
            ("装配工", 40, 20, 0, 0), ("质检员", 6, 3, 0, 0), ("客户经理", 9, 4, 3, 3)}
        # the firm that sent results counts as attended now
        assert {p.status for p in s.scalars(select(FairParticipation))} == {"attended"}
    # 90 days on, retention is accepted; re-importing a sheet changes nothing
    late = run_import(engine, "job-fair", xlsx(tmp_path / "day90.xlsx", [
        RESULTS_HEADER,
        ["春风行动", "2026-03-01", A, "质检员", "2026-05-30", 6, 3, 3, 2, 2]]))
    assert late.rejected == 0 and late.updated == 1, errors(late)
    again = run_import(engine, "job-fair", xlsx(tmp_path / "day90.xlsx", [
        RESULTS_HEADER,
        ["春风行动", "2026-03-01", A, "质检员", "2026-05-30", 6, 3, 3, 2, 2]]))
    assert counts(again) == (1, 0, 0, 1, 0)
    with session_factory(engine)() as s:
        fair = s.scalar(select(JobFair))
        end = jobfair_report.fair_report(s, fair.id, actor=SYSTEM, as_of=dt.date(2026, 6, 1))
        assert end["totals"]["retained_90d"] == 2 and end["totals"]["hired"] == 5
        assert s.scalar(select(func.count()).select_from(FairPositionUpdate)) == 4


def test_a_job_fair_batch_rolls_back_whole(engine, firms, tmp_path):
    from etl.app import rollback

    signup = run_import(engine, "job-fair", xlsx(tmp_path / "signup.xlsx", SIGN_UP))
    results = run_import(engine, "job-fair", xlsx(tmp_path / "week1.xlsx", [
        RESULTS_HEADER,
        ["春风行动", "2026-03-01", A, "装配工", "2026-03-01", 40, 20, 5, 4, None]]))
    with session_factory(engine).begin() as s:
        rollback(s, results.batch_id, actor=SYSTEM)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(FairPositionUpdate)) == 0
        assert set(s.scalars(select(FairParticipation.status))) == {"signed_up"}
    with session_factory(engine).begin() as s:
        rollback(s, signup.batch_id, actor=SYSTEM)
    with session_factory(engine)() as s:
        for model in (JobFair, FairParticipation, FairPosition):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model
