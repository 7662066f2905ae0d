"""An appeal row naming a firm no roster holds creates it unconfirmed, with a note; a
liaison (own street) or an administrator confirms it or merges it into the real firm."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.auth import Actor
from crm.db import session_factory
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.models import (
    Appeal,
    Assignment,
    AuditLog,
    Contact,
    Enterprise,
    Person,
    Street,
    Tag,
    Visit,
    enterprise_tag,
)
from crm.services import firm_admin, kpi_facts
from crm.services.users import actor_of, add_user
from crm.uscc import complete
from etl.rollback import rollback_batch
from tests.etl.conftest import A, B, counts, errors, run_import, xlsx

E = complete("91500105MA5UE005")  # valid, on no roster
F = complete("91500105MA5UF006")
HEADER = ["诉求编号", "统一社会信用代码", "企业名称", "诉求类别", "诉求标题", "受理时间"]
LEDGER = [HEADER,
          ["N-1", E, None, "交通", "只有代码", "2022-03-01"],
          ["N-2", None, "江北新开小店", "交通", "只有名称", "2022-03-02"],
          ["N-3", None, "江北新开小店", "交通", "同一家店", "2022-03-03"],
          ["N-4", None, None, "交通", "没有企业", "2022-03-04"],
          ["N-5", F, "重庆齐祥灯饰有限公司", "交通", "代码不认识名称认识", "2022-03-05"],
          ["N-6", A, None, "交通", "已知企业", "2022-03-06"]]


def _firm(s, name):
    return s.scalar(select(Enterprise).where(Enterprise.name == name))


def test_unknown_firms_are_created_unconfirmed_and_found_again(engine, firms, tmp_path):
    path = xlsx(tmp_path / "ledger.xlsx", LEDGER)
    report = run_import(engine, "appeals", path)
    assert counts(report) == (6, 4, 0, 0, 2)
    assert errors(report) == [
        (5, "统一社会信用代码/企业名称", "“统一社会信用代码/企业名称”不能为空"),
        (6, "统一社会信用代码", f"系统中没有统一社会信用代码为 {F} 的企业，请先导入企业名录")]
    assert [(w.row, w.column, w.value, w.message("en")) for w in report.warnings] == [
        (2, "统一社会信用代码", E, f"new firm '待确认企业（{E}）' created unconfirmed, awaiting "
         "a liaison's confirmation or merge"),
        (3, "企业名称", "江北新开小店", "new firm '江北新开小店' created unconfirmed, awaiting "
         "a liaison's confirmation or merge")]
    with session_factory(engine)() as s:
        by_code = _firm(s, f"待确认企业（{E}）")
        shop = _firm(s, "江北新开小店")
        assert (by_code.uscc, by_code.confirmed) == (E, False)
        assert shop.confirmed is False and shop.uscc == firm_admin.provisional_uscc("江北新开小店")
        assert shop.uscc.startswith("NOUSCC") and len(shop.uscc) == 18
        assert shop.name_initials == "JBXKXD"
        assert sorted(s.scalars(select(Appeal.external_ref)
                                .where(Appeal.enterprise_id == shop.id))) == ["N-2", "N-3"]
        assert _firm(s, "重庆齐祥灯饰有限公司").confirmed is True
        assert kpi_facts.differences(s) == []
    again = run_import(engine, "appeals", path)
    assert counts(again) == (6, 0, 0, 4, 2) and again.warnings == []
    with session_factory(engine).begin() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 6
        rollback_batch(s, report.batch_id)
    with session_factory(engine)() as s:  # the firms the batch created go with it
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 4


def test_a_liaisons_new_firm_is_in_their_street(engine, firms, tmp_path):
    with session_factory(engine).begin() as s:
        actor = actor_of(add_user(s, "li", role="liaison", street="江北城街道", password=None,
                                  actor=SYSTEM))
    rows = [HEADER, ["L-1", None, "观音桥新店", "交通", "新店", "2022-03-01"]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "l.xlsx", rows), actor=actor)
    assert counts(report) == (1, 1, 0, 0, 0)
    with session_factory(engine)() as s:
        firm = _firm(s, "观音桥新店")
        assert firm.street_id == actor.street_id
        assert s.scalar(select(Appeal.street_id)) == actor.street_id
        assert [f["name"] for f in firm_admin.list_unconfirmed(s, actor=actor)] == ["观音桥新店"]


@pytest.fixture
def people(engine, firms, tmp_path):
    """Two unconfirmed firms from a ledger (in 大石坝街道 through a liaison there), and the
    actors: that liaison, one of 江北城街道, an admin and a cadre."""
    with session_factory(engine).begin() as s:
        dsb = add_user(s, "dsb", role="liaison", street="大石坝街道", password=None, actor=SYSTEM)
        out = {"dsb": actor_of(dsb),
               "jbc": actor_of(add_user(s, "jbc", role="liaison", street="江北城街道",
                                        password=None, actor=SYSTEM)),
               "root": actor_of(add_user(s, "root", role="admin", password=None, actor=SYSTEM))}
        person = Person(name="张干部", kind="cadre", street_id=dsb.street_id)
        s.add(person)
        s.flush()
        out["cadre"] = Actor(id=0, username="zhang", display_name="张干部", role="cadre",
                             person_id=person.id)
    rows = [HEADER, ["M-1", None, "齐祥灯饰", "融资", "资金", "2022-03-01"],
            ["M-2", E, "新代码企业", "融资", "资金", "2022-03-02"]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "m.xlsx", rows), actor=out["dsb"])
    assert counts(report) == (2, 2, 0, 0, 0), report.errors
    return out


def test_merge_moves_everything_pointing_at_the_firm(engine, people):
    with session_factory(engine).begin() as s:
        source, target = _firm(s, "齐祥灯饰"), _firm(s, "重庆齐祥灯饰有限公司")
        person = s.scalar(select(Person.id))
        tag = Tag(name="测试标签", kind="other")
        s.add_all([tag, Contact(enterprise_id=source.id, name="刘经理"),
                   Visit(enterprise_id=source.id, person_id=person,
                         visited_on=dt.date(2022, 3, 3), way="onsite"),
                   Assignment(kind="cadre_enterprise", person_id=person,
                              enterprise_id=source.id, start_date=dt.date(2022, 1, 1)),
                   Assignment(kind="cadre_enterprise", person_id=person,
                              enterprise_id=target.id, start_date=dt.date(2021, 1, 1))])
        s.flush()
        s.execute(enterprise_tag.insert(), [{"enterprise_id": source.id, "tag_id": tag.id},
                                            {"enterprise_id": target.id, "tag_id": tag.id}])
        ids = source.id, target.id
    with session_factory(engine).begin() as s:
        moved = firm_admin.merge_enterprise(s, *ids, actor=people["dsb"])
    assert moved == {"appeal": 1, "assignment": 1, "contact": 1, "visit": 1}
    with session_factory(engine)() as s:
        assert s.get(Enterprise, ids[0]) is None
        appeal = s.scalar(select(Appeal).where(Appeal.external_ref == "M-1"))
        assert (appeal.enterprise_id, appeal.version) == (ids[1], 2)
        assert s.scalar(select(Visit.enterprise_id)) == ids[1]
        assert s.scalar(select(Contact.enterprise_id).where(Contact.name == "刘经理")) == ids[1]
        assert s.scalar(select(func.count()).select_from(enterprise_tag)) == 1
        active = s.scalars(select(Assignment.start_date).where(
            Assignment.enterprise_id == ids[1], Assignment.end_date.is_(None))).all()
        assert active == [dt.date(2021, 1, 1)]  # the target's own cadre stays
        log = s.scalar(select(AuditLog).where(AuditLog.action == "enterprise.merge"))
        assert log.entity_id == ids[1] and log.detail["name"] == "齐祥灯饰"
        assert kpi_facts.differences(s) == []


def test_the_next_ledger_naming_a_merged_firm_finds_the_firm_it_was_merged_into(
        engine, people, tmp_path):
    with session_factory(engine).begin() as s:
        for name in ("齐祥灯饰", "新代码企业"):
            firm_admin.merge_enterprise(s, _firm(s, name).id,
                                        _firm(s, "重庆齐祥灯饰有限公司").id, actor=people["root"])
    rows = [HEADER, ["M-1", None, "齐祥灯饰", "融资", "资金", "2022-03-01"],   # as before
            ["M-3", None, "齐祥灯饰", "融资", "又一件", "2022-04-01"],
            ["M-4", E, None, "融资", "按旧代码", "2022-04-02"]]
    report = run_import(engine, "appeals", xlsx(tmp_path / "n.xlsx", rows),
                        actor=people["dsb"])
    assert counts(report) == (3, 2, 0, 1, 0) and report.warnings == []
    with session_factory(engine)() as s:
        target = _firm(s, "重庆齐祥灯饰有限公司").id
        assert set(s.scalars(select(Appeal.enterprise_id))) == {target}
        assert s.scalar(select(func.count()).where(Enterprise.confirmed.is_(False))) == 0


def test_merge_and_confirm_are_scoped_and_checked(engine, people):
    with session_factory(engine)() as s:
        shop, coded = _firm(s, "齐祥灯饰").id, _firm(s, "新代码企业").id
        firm_a = _firm(s, "重庆齐祥灯饰有限公司").id
        firm_b = _firm(s, "中信证券重庆江北嘴营业部").id
    factory = session_factory(engine)
    for who, fn, args, err in [
            ("cadre", firm_admin.merge_enterprise, (shop, firm_a), Forbidden),
            ("jbc", firm_admin.merge_enterprise, (shop, firm_b), NotFound),  # not their street
            ("dsb", firm_admin.merge_enterprise, (shop, firm_b), NotFound),  # target elsewhere
            ("dsb", firm_admin.merge_enterprise, (shop, shop), ValidationError),
            ("dsb", firm_admin.merge_enterprise, (firm_a, shop), ValidationError),  # confirmed
            ("jbc", firm_admin.confirm_enterprise, (coded,), NotFound),
            ("dsb", firm_admin.confirm_enterprise, (shop,), ValidationError),  # needs a USCC
            ("dsb", firm_admin.confirm_enterprise, (shop, A[:-1] + "0"), ValidationError),
            ("dsb", firm_admin.confirm_enterprise, (shop, B), Conflict)]:
        with pytest.raises(err), factory.begin() as s:
            if fn is firm_admin.merge_enterprise:
                fn(s, *args, actor=people[who])
            else:  # (firm, the credit code to confirm it with)
                fn(s, args[0], actor=people[who], uscc=(args[1:] or [None])[0])
    with factory.begin() as s:  # an administrator anywhere; a real code replaces the key
        firm_admin.confirm_enterprise(s, shop, actor=people["root"], uscc=F)
        firm_admin.confirm_enterprise(s, coded, actor=people["dsb"])
    with factory() as s:
        assert (s.get(Enterprise, shop).uscc, s.get(Enterprise, shop).confirmed) == (F, True)
        assert s.get(Enterprise, coded).confirmed is True
        assert firm_admin.list_unconfirmed(s, actor=people["root"]) == []
        assert s.scalar(select(func.count()).where(AuditLog.action == "enterprise.confirm")) == 2
        assert s.scalar(select(Street.name).where(Street.id == s.get(Enterprise, shop).street_id)
                        ) == "大石坝街道"
