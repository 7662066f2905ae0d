"""Rolling a batch back: inserted records go, updated ones get their values back, unless
later work depends on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.errors import Conflict
from crm.i18n import error_text
from crm.models import Appeal, Enterprise, ImportBatch, ImportRecord, Unit
from crm.services import kpi, kpi_facts
from crm.services.users import actor_of, add_user
from etl.app import list_batches, rollback
from tests.etl.conftest import A, B, counts, run_import, xlsx


@pytest.fixture
def admin(engine):
    with session_factory(engine).begin() as s:
        return actor_of(add_user(s, "boss", role="admin", password=None, actor=SYSTEM))


def test_rolling_back_restores_updated_firms_and_removes_inserted_ones(engine, firms, admin,
                                                                      tmp_path):
    rows = [["统一社会信用代码", "企业名称", "注册资本（万元）", "地址"],
            [A, "重庆齐祥灯饰有限公司", 300, None],
            [complete_code(), "重庆新来的公司", 10, "江北区五里店街道1号"]]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "april.xlsx", rows))
    assert counts(report) == (2, 1, 1, 0, 0)
    with session_factory(engine).begin() as s:
        assert rollback(s, report.batch_id, actor=admin) == {"deleted": 1, "restored": 1}
    with session_factory(engine)() as s:
        firm = s.scalar(select(Enterprise).where(Enterprise.uscc == A))
        assert firm.registered_capital == Decimal("100.00") and firm.version == 3
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 4
        assert s.get(ImportBatch, report.batch_id).status == "rolled_back"
    with session_factory(engine)() as s:
        statuses = {b["id"]: b["status"] for b in list_batches(s, actor=admin)}
    assert statuses == {report.batch_id: "rolled_back", firms.batch_id: "done"}


def complete_code() -> str:
    from crm.uscc import complete

    return complete("91500105MA5UE005")


LEDGER = [["诉求编号", "统一社会信用代码", "诉求标题", "受理时间", "承办单位"],
          ["SQ-1", A, "融资难", "2022-03-01", "区金融办"],
          ["SQ-2", B, "停车难", "2022-03-02", "新成立的专班"]]


def test_an_appeal_batch_rolls_back_with_the_unit_it_created(engine, firms, admin, tmp_path):
    report = run_import(engine, "appeals", xlsx(tmp_path / "ledger.xlsx", LEDGER))
    with session_factory(engine).begin() as s:
        assert rollback(s, report.batch_id, actor=admin) == {"deleted": 3, "restored": 0}
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 0
        assert s.scalar(select(Unit).where(Unit.name == "新成立的专班")) is None
        assert kpi_facts.differences(s) == [] and kpi.compute(s)["appeals_total"] == 0


def test_rollback_is_refused_once_an_appeal_has_moved_on(engine, firms, admin, tmp_path):
    report = run_import(engine, "appeals", xlsx(tmp_path / "ledger.xlsx", LEDGER))
    with session_factory(engine).begin() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.external_ref == "SQ-1"))
        appeal.status, appeal.accepted_at = "accepted", dt.datetime(2022, 3, 2)  # version 2
    with pytest.raises(Conflict) as info, session_factory(engine).begin() as s:
        rollback(s, report.batch_id, actor=admin)
    assert info.value.key == "import.rollback_changed"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 2


def test_rollback_is_refused_when_a_later_batch_touched_the_same_records(engine, firms, admin,
                                                                        tmp_path):
    first = run_import(engine, "appeals", xlsx(tmp_path / "march.xlsx", LEDGER))
    later = [LEDGER[0], ["SQ-1", A, "融资难（补充材料）", "2022-03-01", "区金融办"]]
    second = run_import(engine, "appeals", xlsx(tmp_path / "april.xlsx", later))
    assert second.updated == 1
    with pytest.raises(Conflict) as info, session_factory(engine).begin() as s:
        rollback(s, first.batch_id, actor=admin)
    assert info.value.key == "import.rollback_later"
    with session_factory(engine).begin() as s:
        assert rollback(s, second.batch_id, actor=admin) == {"deleted": 0, "restored": 1}
    with session_factory(engine)() as s:
        assert s.scalar(select(Appeal.title).where(Appeal.external_ref == "SQ-1")) == "融资难"


def test_a_later_batch_touching_a_record_inside_a_run_refuses_the_rollback(engine, firms,
                                                                          admin, tmp_path):
    """The first batch's 30 new appeals are stored as one run (ImportRecord.span); a later
    batch updates the 17th. The later-batch rule finds it inside the run, before the
    version rule would (which says something else: import.rollback_changed)."""
    header = ["诉求编号", "统一社会信用代码", "诉求类别", "诉求内容", "受理时间"]
    ledger = [header] + [[f"RUN-{i}", A, "融资", f"第{i}号", dt.datetime(2024, 3, 1 + i, 9)]
                         for i in range(30)]
    first = run_import(engine, "appeals", xlsx(tmp_path / "march.xlsx", ledger))
    later = [header, ["RUN-16", A, "融资", "第16号（补充）", dt.datetime(2024, 3, 17, 9)]]
    assert run_import(engine, "appeals", xlsx(tmp_path / "april.xlsx", later)).updated == 1
    with session_factory(engine)() as s:
        assert s.scalar(select(func.max(ImportRecord.span))
                        .where(ImportRecord.batch_id == first.batch_id)) == 30
    with pytest.raises(Conflict) as info, session_factory(engine).begin() as s:
        rollback(s, first.batch_id, actor=admin)
    assert info.value.key == "import.rollback_later"


def test_rollback_of_firms_that_appeals_now_point_at_is_refused(engine, firms, admin,
                                                                tmp_path):
    run_import(engine, "appeals", xlsx(tmp_path / "ledger.xlsx", LEDGER))
    with pytest.raises(Conflict) as info, session_factory(engine).begin() as s:
        rollback(s, firms.batch_id, actor=admin)
    assert info.value.key == "import.rollback_in_use"
    # the refusal says what depends on the batch, in words (not "FOREIGN KEY constraint …")
    assert error_text(info.value) == "不能撤销：之后登记的 2 条诉求 引用了本批次导入的企业"
    assert error_text(info.value, "en") == \
        "cannot roll back: 2 appeals added later refer to the firms this batch imported"
