"""Two Streamlit servers on one PostgreSQL behind nginx with session affinity (issue 18.8).

Runs scripts/two_servers.py's pair: two `streamlit run` servers and a private nginx
(its own prefix and config rendered from deploy/nginx-qifu.conf, a non-daemon child on
a free port), then drives a real headless Chromium through nginx. One browser is
pinned to each server by nginx's route cookie: the first uploads a roster on the
import page (an upload reaches the server holding the session, or Streamlit answers
"400 session invalid") and sees it imported; the second, on the other server, sees
the firms that write added.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm import migrate
from crm.config import ROOT
from crm.db import make_engine, session_factory
from crm.services.reference import init_reference_data
from tests.conftest import _sa_url, skip_or_fail
from tests.test_browser import CHROMIUM_ARGS, WAIT_MS, _log_in, _settle, require_browser

sys.path.insert(0, str(ROOT / "scripts"))
import two_servers  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(pg_server, tmp_path_factory) -> Iterator[two_servers.Pair]:
    require_browser()
    if not Path(two_servers.NGINX).exists() and shutil.which("nginx") is None:
        skip_or_fail("no nginx (apt-get install nginx)")
    name = pg_server.create(f"{pg_server.prefix}_pair_{uuid.uuid4().hex[:6]}")
    url = _sa_url(name)
    engine = make_engine(url, no_pool=True)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)
    from crm.demo import seed_demo

    seed_demo(engine, enterprises=200, appeals=300, seed=5)
    engine.dispose()
    with two_servers.run_pair(url, env={"CRM_DEMO_MODE": "1", "CRM_LANG": "zh"},
                              workdir=tmp_path_factory.mktemp("nginx")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(pair):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


def _pinned_page(browser, pair, server: str):
    """A browser whose route cookie nginx hashes to `server`; with the set of servers
    that answered its requests."""
    context = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN")
    context.add_cookies([{"name": "qifu_route", "value": two_servers.route_to(pair.url, server),
                          "url": pair.url}])
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    answered: set[str] = set()
    page.on("response", lambda r: answered.add(r.headers.get("x-qifu-upstream") or "?"))
    page.goto(pair.url)
    return context, page, answered


def test_nginx_pins_a_new_browser_to_one_server_by_its_cookie(pair):
    first, route = two_servers.upstream_of(pair.url)
    assert first in pair.servers and route
    assert {two_servers.upstream_of(pair.url, route)[0] for _ in range(10)} == {first}
    others = {two_servers.upstream_of(pair.url)[0] for _ in range(40)}
    assert others == set(pair.servers)  # new browsers are spread over both


def test_an_upload_through_one_server_is_seen_through_the_other(browser, pair, tmp_path):
    from openpyxl import Workbook
    from playwright.sync_api import expect

    from crm.uscc import complete

    one, other = pair.servers
    codes = [complete(f"91500105MA2TW{i:03d}") for i in range(2)]
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称", "所属镇街"])
    for i, code in enumerate(codes):
        sheet.append([code, f"双服务器测试企业{i}有限公司", "江北城街道"])
    path = tmp_path / "双服务器名录.xlsx"
    book.save(path)

    context_a, page_a, answered_a = _pinned_page(browser, pair, one)
    context_b, page_b, answered_b = _pinned_page(browser, pair, other)
    try:
        _log_in(page_a, "admin")
        page_a.get_by_role("link", name="数据导入").click()
        expect(page_a.get_by_text("上传文件（.xlsx / .xls / .csv）")).to_be_visible()
        page_a.locator('input[type="file"]').set_input_files(path)
        expect(page_a.get_by_text("检查结果：共 2 行，新增 2", exact=False)).to_be_visible()
        _settle(page_a)
        page_a.get_by_role("button", name="导入", exact=True).click()
        expect(page_a.get_by_text("共 2 行，新增 2，更新 0，不变 0，拒绝 0", exact=False)
               .last).to_be_visible()
        expect(page_a.get_by_text("400")).to_have_count(0)

        _log_in(page_b, "liaison_jbc")
        page_b.get_by_role("link", name="企业", exact=True).click()
        page_b.get_by_label("按企业名称或统一社会信用代码查找").fill("双服务器测试企业")
        page_b.keyboard.press("Enter")
        # the list is a canvas grid: its caption counts the firms found by that name
        expect(page_b.get_by_text("共 2 家，显示 2 家")).to_be_visible()
    finally:
        context_a.close()
        context_b.close()
    assert answered_a == {one} and answered_b == {other}  # every request, the upload too
