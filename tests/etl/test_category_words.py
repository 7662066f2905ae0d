"""Unknown category words: one warning per word with its count, remembered with how often
they were met; an administrator maps each once and the next import reads it silently."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.errors import Forbidden, NotFound
from crm.models import Appeal, AuditLog, Category, CategoryWord
from crm.services import category_words
from crm.services.users import actor_of, add_user
from tests.etl.conftest import A, B, counts, run_import, xlsx

HEADER = ["诉求编号", "统一社会信用代码", "诉求类别", "诉求标题", "受理时间"]


def _ledger(prefix: str) -> list[list]:
    return [HEADER,
            [f"{prefix}-1", A, "绿化", "树倒了", "2022-03-01"],
            [f"{prefix}-2", B, "城管", "占道", "2022-03-01"],
            [f"{prefix}-3", A, "绿化", "草坪", "2022-03-02"],
            [f"{prefix}-4", B, "交通", "停车", "2022-03-02"],
            [f"{prefix}-5", B, "绿化", "修剪", "2022-03-03"]]


def _categories(engine, prefix: str) -> dict[str, str]:
    with session_factory(engine)() as s:
        return dict(s.execute(select(Appeal.external_ref, Category.name)
                              .join(Category, Category.id == Appeal.category_id)
                              .where(Appeal.external_ref.like(f"{prefix}-%"))).all())


def test_unknown_words_are_counted_once_each_then_mapped_by_an_admin(engine, firms, tmp_path):
    dry = run_import(engine, "appeals", xlsx(tmp_path / "d.xlsx", _ledger("D")), dry_run=True)
    assert dry.unknown == {"category": {"绿化": 3, "城管": 1}}
    report = run_import(engine, "appeals", xlsx(tmp_path / "a.xlsx", _ledger("A")))
    assert counts(report) == (5, 5, 0, 0, 0)
    assert [(w.row, w.column, w.value, w.message("en")) for w in report.warnings] == [
        (2, "诉求类别", "绿化", "unknown category '绿化' (3 rows): filed under 其他; an "
         "administrator can map it to a category on 基础数据"),
        (3, "诉求类别", "城管", "unknown category '城管' (1 rows): filed under 其他; an "
         "administrator can map it to a category on 基础数据")]
    assert report.unknown == {"category": {"绿化": 3, "城管": 1}}
    assert set(_categories(engine, "A").values()) == {"其他", "交通"}
    with session_factory(engine).begin() as s:  # the dry run remembered nothing
        admin = actor_of(add_user(s, "root", role="admin", password=None, actor=SYSTEM))
        liaison = actor_of(add_user(s, "li", role="liaison", street="江北城街道", password=None,
                                    actor=SYSTEM))
        words = category_words.list_words(s, actor=admin)
        assert [(w["word"], w["seen"], w["category"]) for w in words] == [
            ("绿化", 3, None), ("城管", 1, None)]
        with pytest.raises(Forbidden):
            category_words.list_words(s, actor=liaison)
        with pytest.raises(Forbidden):
            category_words.map_word(s, words[0]["id"], "环境", actor=liaison)
        with pytest.raises(NotFound):
            category_words.map_word(s, words[0]["id"], "没有这个类别", actor=admin)
        assert category_words.map_words(s, {words[0]["id"]: "环境"}, actor=admin) == 1
    again = run_import(engine, "appeals", xlsx(tmp_path / "b.xlsx", _ledger("B")))
    assert [(w.row, w.value) for w in again.warnings] == [(3, "城管")]
    assert again.unknown == {"category": {"城管": 1}}
    assert _categories(engine, "B") == {"B-1": "环境", "B-2": "其他", "B-3": "环境",
                                        "B-4": "交通", "B-5": "环境"}
    with session_factory(engine)() as s:
        assert dict(s.execute(select(CategoryWord.word, CategoryWord.seen)).all()) == \
            {"绿化": 3, "城管": 2}
        log = s.scalar(select(AuditLog).where(AuditLog.action == "category_word.map"))
        assert log.detail == {"word": "绿化", "category": "环境"}
