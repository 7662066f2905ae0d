"""% and _ typed into a search box are the characters themselves, not LIKE wildcards,
in the appeals search, the firm list and the firm search, on SQLite and PostgreSQL."""

from __future__ import annotations

from crm.services import appeal_queries, enterprises, firm_search
from crm.services.appeal_queries import AppealFilter
from crm.services.appeals import log_appeal
from tests.services.conftest import make_firm


def _titles(session, world, text: str) -> list[str]:
    rows = appeal_queries.list_appeals(session, AppealFilter(text=text), actor=world.admin)
    return sorted(r["title"] for r in rows)


def test_the_appeals_search_takes_percent_and_underscore_literally(session, world):
    for title in ("达标率100%", "达标率1000", "A_B通道", "AxB通道", "反斜杠\\测试"):
        log_appeal(session, actor=world.liaison, enterprise_id=world.firm.id,
                   category_id=world.traffic.id, title=title)
    session.flush()
    assert _titles(session, world, "100%") == ["达标率100%"]
    assert _titles(session, world, "%") == ["达标率100%"]
    assert _titles(session, world, "A_B") == ["A_B通道"]
    assert _titles(session, world, "_") == ["A_B通道"]
    assert _titles(session, world, "\\") == ["反斜杠\\测试"]
    assert len(_titles(session, world, "通道")) == 2  # an ordinary search still matches


def test_the_firm_list_and_the_firm_search_take_percent_and_underscore_literally(
        session, world):
    make_firm(session, 3, "江北城街道", "重庆百分百_科技有限公司")
    make_firm(session, 4, "江北城街道", "重庆百分百X科技有限公司")
    session.flush()
    listed = [r["name"] for r in enterprises.search(session, "百_科", actor=world.admin)]
    assert listed == ["重庆百分百_科技有限公司"]
    assert enterprises.search(session, "%", actor=world.admin) == []
    found = [h.name for h in firm_search.search_firms(session, "百_科", actor=world.admin)]
    assert found == ["重庆百分百_科技有限公司"]
    assert firm_search.search_firms(session, "%", actor=world.admin) == []
