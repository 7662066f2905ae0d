"""The appeal pages driven through AppTest: log, dispatch, sign, reply, call back, archive."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm.db import session_factory
from crm.models import Appeal, Enterprise, Unit
from crm.services.firm_search import initials
from tests.test_app_pages import (  # noqa: F401  (world is a fixture)
    SECURITIES,
    assert_healthy,
    logged_in,
    page_text,
    world,
)


def open_detail(engine, username: str, appeal_id: int):
    at = logged_in(engine, username)
    at.session_state["appeal_id"] = appeal_id
    at.switch_page("pages/appeal.py").run()
    assert_healthy(at)
    return at


def submit(at, form_key: str):
    button = next(b for b in at.button if b.proto.form_id == form_key)
    button.click().run()
    assert_healthy(at)
    return at


def log_through_the_page(engine, title: str) -> int:
    """The liaison of 江北城 logs an appeal for the securities firm; returns its id."""
    at = logged_in(engine, "liaison_jbc")
    at.switch_page("pages/log_appeal.py").run()
    at.text_input(key="log_query").input("证券").run()
    at.text_input(key="log_title").input(title)
    submit(at, "log_appeal")
    return at.session_state["appeal_id"]


def stored(engine, appeal_id: int) -> Appeal:
    with session_factory(engine)() as s:
        return s.get(Appeal, appeal_id)


def test_a_liaison_logs_an_appeal_by_pinyin_initials_and_it_is_due_by_the_limit(world):
    with session_factory(world).begin() as s:  # the world's firms were added without initials
        for firm in s.scalars(select(Enterprise)):
            firm.name_initials = initials(firm.name)
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/log_appeal.py").run()
    at.text_input(key="log_query").input("zxzq").run()
    assert SECURITIES in at.selectbox(key="log_firm").options[0]
    at.text_input(key="log_title").input("地下车库出入口拥堵")
    at.text_area(key="log_description").input("早高峰车辆排队至主干道")
    submit(at, "log_appeal")
    assert any("已受理" in str(s.value) for s in at.success), page_text(at)
    with session_factory(world)() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.title == "地下车库出入口拥堵"))
        assert appeal.status == "received" and appeal.enterprise.name == SECURITIES
        assert appeal.events[0].action == "receive"
        limit = appeal.category.limit_days
        assert appeal.due_date == appeal.received_at.date() + dt.timedelta(days=limit)


def test_an_appeal_walks_the_loop_through_the_detail_page_across_two_roles(world):
    appeal_id = log_through_the_page(world, "楼宇门前道路积水")

    at = open_detail(world, "liaison_jbc", appeal_id)
    with session_factory(world)() as s:
        traffic_police = s.scalar(select(Unit.id).where(Unit.name == "区交巡警支队"))
    at.selectbox(key="dispatch_lead").set_value(traffic_police)
    submit(at, "act_dispatch")
    assert stored(world, appeal_id).status == "dispatched"

    at = open_detail(world, "handler_jj", appeal_id)
    assert "签收" in [t.label for t in at.tabs]
    assert "回访" not in [t.label for t in at.tabs]  # only the actions allowed now
    submit(at, "act_accept")
    at = open_detail(world, "handler_jj", appeal_id)
    at.text_area(key="reply_text").input("已联系市政部门疏通排水")
    submit(at, "act_reply")
    assert stored(world, appeal_id).status == "replied"

    at = open_detail(world, "liaison_jbc", appeal_id)
    submit(at, "act_callback")
    at = open_detail(world, "liaison_jbc", appeal_id)
    submit(at, "act_archive")
    final = stored(world, appeal_id)
    assert final.status == "archived" and final.satisfaction == "satisfied"
    assert "归档" in page_text(open_detail(world, "liaison_jbc", appeal_id))


def test_a_stale_page_gets_a_conflict_message_not_a_silent_overwrite(world):
    appeal_id = log_through_the_page(world, "并发测试")
    first = open_detail(world, "liaison_jbc", appeal_id)
    second = open_detail(world, "liaison_jbc", appeal_id)
    submit(first, "act_dispatch")
    submit(second, "act_dispatch")
    assert any("已被他人修改" in str(e.value) for e in second.error), page_text(second)
    with session_factory(world)() as s:
        assert [e.action for e in s.get(Appeal, appeal_id).events] == ["receive", "dispatch"]
    # The page now shows the appeal as it stands, so the next click acts on fresh data.
    assert "已派单" in page_text(second.run())
