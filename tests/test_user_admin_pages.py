"""AppTest of the login session (restore from the cookie, idle expiry on the services' clock,
logout, revocation), the 用户管理 page's admin actions, and the import history and rollback."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

import crm.db
from crm import auth
from crm.access import SYSTEM
from crm.db import session_factory
from crm.errors import AuthError
from crm.models import AuditLog, ImportBatch, UserSession
from crm.services import users
from crm.ui import cookie_session
from etl import app as etl_app
from tests.test_app_pages import (  # noqa: F401 - world is a fixture
    APP,
    PASSWORD,
    TIMEOUT,
    actor,
    assert_healthy,
    logged_in,
    page_text,
    world,
)

T0 = dt.datetime(2026, 11, 2, 9, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The services' clock (as conftest's district_clock pins it), moved by the test."""
    clock = Clock()
    monkeypatch.setattr(crm.db, "now", clock)
    return clock


def _form_login(engine, username: str = "liaison_jbc") -> AppTest:
    with session_factory(engine).begin() as session:
        users.set_password(session, username, PASSWORD, actor=SYSTEM)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert_healthy(at)
    assert at.session_state["actor"].username == username
    return at


def _logged_out(at: AppTest) -> bool:
    return "actor" not in at.session_state and bool(at.text_input(key="login_username"))


# --- sessions ---------------------------------------------------------------------------------

def test_a_new_connection_with_the_cookie_is_logged_in_and_a_forged_one_is_not(world,
                                                                              monkeypatch):
    first = _form_login(world)
    value, expires = first.session_state[cookie_session.COOKIE_KEY]
    assert value.startswith(first.session_state[cookie_session.TOKEN_KEY] + ".")
    assert expires.endswith("GMT")
    monkeypatch.setattr(cookie_session, "request_cookie", lambda: value)
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # F5: a fresh session
    assert_healthy(reloaded)
    assert reloaded.session_state["actor"].username == "liaison_jbc"
    assert "我的在办诉求（按期限排序）" in page_text(reloaded)
    token, _, mac = value.partition(".")
    monkeypatch.setattr(cookie_session, "request_cookie", lambda: f"{token}.{mac[::-1]}")
    forged = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert _logged_out(forged)
    assert forged.session_state[cookie_session.CLEAR_KEY]  # the browser is told to drop it


def test_an_idle_session_ends_at_the_next_click_with_a_message(world, clock, monkeypatch):
    monkeypatch.setenv("CRM_SESSION_IDLE_MINUTES", "30")
    at = _form_login(world)
    clock.now += dt.timedelta(minutes=29)
    at.run()
    assert at.session_state["actor"].username == "liaison_jbc"
    clock.now += dt.timedelta(minutes=31)
    at.run()
    assert _logged_out(at)
    assert "登录已过期或已退出，请重新登录。" in [w.value for w in at.warning]


def test_logging_out_ends_the_session_record(world):
    at = _form_login(world)
    at.button(key="logout").click().run()
    assert _logged_out(at)
    with session_factory(world)() as session:
        assert session.scalar(select(UserSession.revoked_at)) is not None


def test_an_open_session_ends_when_the_admin_deactivates_the_login(world):
    at = _form_login(world)
    with session_factory(world).begin() as session:
        users.deactivate_user(session, "liaison_jbc", actor=SYSTEM)
    at.run()
    assert _logged_out(at)


def test_an_open_session_follows_a_role_change_at_once(world):
    at = _form_login(world)
    with session_factory(world).begin() as session:
        users.set_role(session, "liaison_jbc", role="handler", unit="区交巡警支队",
                       actor=SYSTEM)
    at.run()
    assert_healthy(at)
    assert at.session_state["actor"].role == "handler"
    assert "本单位待办诉求" in page_text(at)


# --- 用户管理 ----------------------------------------------------------------------------------

def _users_page(engine) -> AppTest:
    at = logged_in(engine, "admin")
    at.switch_page("pages/users.py").run()
    assert_healthy(at)
    return at


def test_a_refused_new_user_keeps_what_was_typed_in_chinese_and_clears_after_success(world):
    at = _users_page(world)
    at.text_input(key="new_username").input("liaison_gyq")
    at.text_input(key="new_display_name").input("张专员")
    at.selectbox(key="new_role").set_value("liaison")
    at.text_input(key="new_password").input("abc12345")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["角色“街道企业服务专员”需要选择所属镇街。"]
    assert at.text_input(key="new_username").value == "liaison_gyq"
    assert at.text_input(key="new_display_name").value == "张专员"
    assert at.selectbox(key="new_role").value == "liaison"
    at.text_input(key="new_password").input("short1")
    at.selectbox(key="new_street").set_value("观音桥街道")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["密码至少需要 8 个字符。"]
    assert at.selectbox(key="new_street").value == "观音桥街道"
    at.text_input(key="new_password").input("abc12345")
    at.button[0].click().run()
    assert_healthy(at)
    assert "已添加用户“liaison_gyq”。" in [s.value for s in at.success]
    assert at.text_input(key="new_username").value == ""
    assert at.selectbox(key="new_street").value is None


def test_the_scope_message_reads_in_english_too(world):
    at = _users_page(world)
    at.selectbox(key="lang").set_value("en").run()
    at.text_input(key="new_username").input("h2")
    at.selectbox(key="new_role").set_value("handler")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["The role Handling unit clerk needs a handling unit."]


def test_an_admin_changes_a_users_role_and_scope(world):
    at = _users_page(world)
    at.selectbox(key="manage_user").set_value("liaison_jbc").run()
    assert at.selectbox(key="edit_street:liaison_jbc").value == "江北城街道"
    at.selectbox(key="edit_role:liaison_jbc").set_value("cadre")
    at.selectbox(key="edit_street:liaison_jbc").set_value("大石坝街道")
    at.button(key="FormSubmitter:role_form:liaison_jbc-保存角色与所属").click().run()
    assert_healthy(at)
    assert "已修改用户“liaison_jbc”的角色与所属。" in [s.value for s in at.success]
    with session_factory(world)() as session:
        user = users.get_user(session, "liaison_jbc")
        assert (user.role, user.street.name) == ("cadre", "大石坝街道")
        assert session.scalar(select(AuditLog.user_id).where(
            AuditLog.action == "user.set_role")) == actor(world, "admin").id


def test_a_role_change_missing_its_scope_is_refused_with_the_scope_named(world):
    at = _users_page(world)
    at.selectbox(key="manage_user").set_value("official").run()
    at.selectbox(key="edit_role:official").set_value("handler")
    at.button(key="FormSubmitter:role_form:official-保存角色与所属").click().run()
    assert [e.value for e in at.error] == ["角色“责任单位经办人”需要选择所属单位。"]
    assert at.selectbox(key="edit_role:official").value == "handler"  # kept


def test_an_admin_deactivates_and_reactivates_a_login(world):
    at = _users_page(world)
    at.selectbox(key="manage_user").set_value("official").run()
    at.button(key="deactivate:official").click().run()
    assert "已停用用户“official”，其登录已全部失效。" in [s.value for s in at.success]
    assert "该用户已停用。" in [w.value for w in at.warning]
    with session_factory(world)() as session:
        assert not users.get_user(session, "official").active
    at.button(key="activate:official").click().run()
    assert "已启用用户“official”。" in [s.value for s in at.success]
    with session_factory(world)() as session:
        assert users.get_user(session, "official").active


def test_an_admin_cannot_deactivate_themselves(world):
    at = _users_page(world)
    at.selectbox(key="manage_user").set_value("admin").run()
    at.button(key="deactivate:admin").click().run()
    assert [e.value for e in at.error] == ["不能停用自己的账号。"]


def test_an_admin_resets_a_password_and_unlocks_a_login(world):
    with session_factory(world).begin() as session:
        users.set_password(session, "official", PASSWORD, actor=SYSTEM)
    for _ in range(auth.FREE_ATTEMPTS):
        with session_factory(world).begin() as session, pytest.raises(AuthError):
            users.authenticate(session, "official", "wrong-password1", address="10.0.0.1")
    at = _users_page(world)
    at.selectbox(key="manage_user").set_value("official").run()
    assert "近期失败登录 3 次。" in [c.value for c in at.caption]
    at.button(key="unlock:official").click().run()
    assert "已解除“official”的锁定（清除 3 次失败登录）。" in [s.value for s in at.success]
    at.text_input(key="reset_password:official").input("123")
    at.button(key="FormSubmitter:password_form:official-重置密码").click().run()
    assert [e.value for e in at.error] == ["密码至少需要 8 个字符。"]
    assert at.text_input(key="reset_password:official").value == "123"
    at.text_input(key="reset_password:official").input("fresh-pass9")
    at.button(key="FormSubmitter:password_form:official-重置密码").click().run()
    assert "已重置“official”的密码，其登录已全部失效。" in [s.value for s in at.success]
    assert at.text_input(key="reset_password:official").value == ""
    with session_factory(world).begin() as session:
        assert users.authenticate(session, "official", "fresh-pass9", address="10.0.0.1")


# --- 数据导入: history and rollback --------------------------------------------------------------

CSV = "统一社会信用代码,企业名称,所属镇街\n{code},回滚测试企业有限公司,观音桥街道\n"


def _import_a_batch(engine) -> int:
    from crm.uscc import complete

    data = CSV.format(code=complete("91500105MA5UR0LL")).encode("utf-8")
    with session_factory(engine).begin() as session:
        report = etl_app.import_file(session, data, "enterprises", filename="名录.csv",
                                     actor=actor(engine, "admin"))
    return report.batch_id


def test_the_import_history_shows_when_and_who_and_a_rollback_asks_first(world):
    batch_id = _import_a_batch(world)
    at = logged_in(world, "admin")
    at.switch_page("pages/imports.py").run()
    assert_healthy(at)
    [history] = [df.value for df in at.dataframe if "导入时间" in df.value.columns]
    assert {"导入时间", "导入人", "状态", "行数", "新增"} <= set(history.columns)
    assert history.iloc[0]["导入人"] == "演示admin"
    assert "status" not in history.columns and "+" not in history.columns
    at.button(key="rollback_ask").click().run()
    [question] = [w.value for w in at.warning if "确认撤销批次" in w.value]
    assert "名录.csv" in question and "演示admin" in question and "新增 1" in question
    at.button(key="rollback_cancel").click().run()
    assert not [w for w in at.warning if "确认撤销批次" in w.value]
    with session_factory(world)() as session:
        assert session.get(ImportBatch, batch_id).status == "done"
    at.button(key="rollback_ask").click().run()
    at.button(key="rollback_run").click().run()
    assert_healthy(at)
    assert any("已撤销" in s.value for s in at.success)
    with session_factory(world)() as session:
        assert session.get(ImportBatch, batch_id).status == "rolled_back"
