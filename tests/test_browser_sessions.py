"""Sessions in a real browser: a reload and a new tab keep the login (the signed
session cookie, crm.ui.cookie_session); logging out ends it for good."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm.db import session_factory
from tests.test_app_pages import build_world
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    _log_in,
    _migrated,
    require_browser,
    run_app,
)

pytestmark = pytest.mark.slow
HOME = "我的在办诉求（按期限排序）"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    path = tmp_path_factory.mktemp("browser_sessions") / "qifu.db"
    engine = _migrated(path)
    with session_factory(engine).begin() as session:
        build_world(session, passwords=True)
    engine.dispose()
    with run_app(path) as base:
        yield base


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


def _session_cookies(context) -> list[dict]:
    return [c for c in context.cookies() if c["name"] == "qifu_session"]


def test_a_reload_and_a_new_tab_keep_the_login_and_logging_out_ends_it(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT_MS)
    _log_in(page, "liaison_jbc")
    expect(page.get_by_role("heading", name=HOME)).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function("document.cookie.includes('qifu_session=')")
    [cookie] = _session_cookies(context)
    assert cookie["sameSite"] == "Lax" and cookie["path"] == "/" and cookie["expires"] > 0

    page.reload()  # F5
    expect(page.get_by_role("heading", name=HOME)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="登录", exact=True)).to_have_count(0)

    tab = context.new_page()  # a new tab of the same browser
    tab.goto(f"{server}/appeals")
    expect(tab.get_by_role("heading", name="诉求", exact=True)).to_be_visible(timeout=WAIT_MS)
    tab.close()

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function("!document.cookie.includes('qifu_session=')")
    page.reload()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("heading", name=HOME)).to_have_count(0)
    assert _session_cookies(context) == []
    context.close()


def test_a_copied_cookie_is_dead_after_logout(browser, server):
    """The server revokes the session: replaying the cookie after logout logs nobody in."""
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    _log_in(page, "liaison_jbc")
    expect(page.get_by_role("heading", name=HOME)).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function("document.cookie.includes('qifu_session=')")
    [stolen] = _session_cookies(context)
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT_MS)
    context.close()

    thief = browser.new_context(locale="zh-CN")
    thief.add_cookies([{k: stolen[k] for k in ("name", "value", "domain", "path")}])
    page = thief.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("heading", name=HOME)).to_have_count(0)
    thief.close()
