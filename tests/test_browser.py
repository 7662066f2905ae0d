"""The real app in a real browser: `streamlit run` in a subprocess, headless Chromium.

Checks what AppTest cannot: the server starts with our config, the login form
works with a mouse and keyboard, Chinese renders, and the developer chrome
(Deploy button, main menu) is hidden. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm import migrate
from crm.config import ROOT
from crm.db import make_engine, session_factory
from crm.services.reference import init_reference_data
from tests.conftest import skip_or_fail
from tests.test_app_pages import PARKING, PASSWORD, build_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
START_TIMEOUT = 60
WAIT_MS = 30_000

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _migrated(path: Path):
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)
    return engine


def _seed(path: Path) -> str:
    """A database with people to log in as: the demo data if it loads, else the small world.

    The demo data makes better screenshots; the small world keeps this test
    independent of it (the demo package has its own tests).
    """
    engine = _migrated(path)
    try:
        from crm.demo import seed_demo

        seed_demo(engine, enterprises=300, appeals=1500, seed=7)
        return "demo"
    except Exception as exc:  # noqa: BLE001 - fall back, say why
        warnings.warn(f"demo data unavailable ({exc!r}); using the small test world",
                      stacklevel=1)
    finally:
        engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = _migrated(path)
    with session_factory(engine).begin() as session:
        build_world(session, passwords=True)
    engine.dispose()
    return "world"


def require_browser() -> None:
    """Skip (fail under CI) without Debian's Chromium or the playwright package."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is not installed (pip install playwright)")


@contextmanager
def run_app(path: Path) -> Iterator[str]:
    """`streamlit run` of the app on a free port over the SQLite file at `path`; yields
    the base URL and stops the server afterwards."""
    url = f"sqlite:///{path}"
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_DEMO_MODE": "1", "CRM_LANG": "zh"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """A `streamlit run` of the app on a free port, on its own seeded SQLite file."""
    require_browser()
    path = tmp_path_factory.mktemp("browser") / "qifu.db"
    _seed(path)
    with run_app(path) as base:
        yield base


def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer on {base} within {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    yield page
    context.close()


def _settle(page) -> None:
    """Wait until Streamlit has finished the run and the tables have painted."""
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    page.wait_for_timeout(800)


def _log_in(page, username: str) -> None:
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_a_bookmarked_page_asks_for_a_login_then_opens(browser, server):
    """Runs first, so the very first request of the fresh server is this deep link.

    That first one lands on the home page (Streamlit's old pages/ mode hands
    over to the router at "/"); every later session lands on the bookmarked page.
    """
    from playwright.sync_api import expect

    for attempt, heading in (("first request of the server", "我的在办诉求（按期限排序）"),
                             ("any later session", "诉求")):
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{server}/appeals")
        # The server's first script run imports everything: on a busy machine it takes
        # longer than expect()'s 5 s default.
        expect(page.get_by_role("button", name="登录"), attempt).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("Page not found"), attempt).to_have_count(0)
        _log_in(page, "liaison_jbc")
        expect(page.get_by_role("heading", name=heading, exact=True), attempt).to_be_visible(
            timeout=WAIT_MS)
        context.close()


def test_the_login_page_is_in_chinese_without_developer_chrome(page):
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="企服 · 江北区企业服务平台")).to_be_visible()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.get_by_text("演示模式：所有演示账号的密码均为 demo1234")).to_be_visible()
    assert page.title() == "企服 · 江北区企业服务平台"
    _settle(page)
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(page.locator('[data-testid="stMainMenu"]')).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "login.png", full_page=True)


def test_a_liaison_logs_in_and_sees_their_open_appeals_by_due_date(page):
    from playwright.sync_api import expect

    _log_in(page, "liaison_jbc")
    expect(page.get_by_role("heading", name="我的在办诉求（按期限排序）")).to_be_visible()
    expect(page.get_by_text("江北城街道 · 街道企业服务专员")).to_be_visible()
    expect(page.get_by_text("超期未办结")).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "home-liaison.png", full_page=True)


def test_an_official_sees_the_district_headline_and_the_chart_by_street(page):
    from playwright.sync_api import expect

    _log_in(page, "official")
    expect(page.get_by_role("heading", name="全区概况")).to_be_visible()
    expect(page.get_by_text("按期办结率")).to_be_visible()
    expect(page.get_by_role("heading", name="各镇街诉求")).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "home-official.png", full_page=True)


def test_a_wrong_password_is_refused_in_the_browser(page):
    from playwright.sync_api import expect

    page.get_by_label("用户名", exact=True).fill("liaison_dsb")
    page.get_by_label("密码", exact=True).fill("not-the-password1")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码错误。")).to_be_visible()
    expect(page.get_by_text(PARKING)).to_have_count(0)



def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _open_appeal(page, code: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="诉求详情").click()
    box = page.get_by_label("诉求编号（QF…）", exact=True)
    box.fill(code)
    box.press("Enter")
    expect(page.get_by_role("heading", name="办理过程")).to_be_visible()


def _choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def _as(browser, server, username: str):
    context = browser.new_context(viewport={"width": 1440, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    _log_in(page, username)
    page.get_by_role("heading", name="您好", exact=False).first.wait_for()
    return context, page


def test_one_appeal_walks_from_logging_to_archive_across_three_users(browser, server):
    """Liaison logs and dispatches, the traffic police sign and reply, the liaison calls
    back and archives; the official's headline numbers move with it."""
    import re

    from playwright.sync_api import expect

    ctx, official = _as(browser, server, "official")
    total_before = int(_metric(official, "诉求总数").replace(",", ""))
    ctx.close()

    ctx, page = _as(browser, server, "liaison_jbc")
    page.get_by_role("link", name="登记诉求").click()
    search = page.get_by_label("查找企业（名称、信用代码或拼音首字母）", exact=True)
    search.fill("证券")
    search.press("Enter")
    _settle(page)
    page.get_by_label("诉求标题", exact=True).fill("浏览器测试：楼宇周边车辆乱停乱放")
    page.get_by_role("button", name="提交诉求").click()
    saved = page.get_by_text(re.compile(r"已受理，编号 QF\d+"))
    expect(saved).to_be_visible()
    appeal_id = re.search(r"QF\d+", saved.inner_text()).group(0)
    _open_appeal(page, appeal_id)
    _choose(page, "主办单位", "区交巡警支队")
    page.get_by_role("button", name="派单").click()
    expect(page.get_by_text("已派单").first).to_be_visible()
    ctx.close()

    ctx, page = _as(browser, server, "handler_jj")
    _open_appeal(page, appeal_id)
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_text(f"诉求 {appeal_id} 已签收。")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("tab", name="答复")).to_be_visible()
    page.get_by_role("tab", name="答复").click()
    page.get_by_label("答复内容", exact=True).fill("已会同街道现场疏导，增设临时停车引导")
    page.get_by_role("button", name="答复").click()
    expect(page.get_by_text("已会同街道现场疏导").first).to_be_visible()
    ctx.close()

    ctx, page = _as(browser, server, "liaison_jbc")
    _open_appeal(page, appeal_id)
    page.get_by_role("button", name="回访").click()
    expect(page.get_by_role("tab", name="归档")).to_be_visible()
    page.get_by_role("button", name="归档").click()
    expect(page.locator('[data-testid="stMarkdown"]').filter(has_text="已归档").first
           ).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "appeal-archived.png", full_page=True)
    ctx.close()

    ctx, official = _as(browser, server, "official")
    assert int(_metric(official, "诉求总数").replace(",", "")) == total_before + 1
    ctx.close()


def test_a_liaison_keeps_what_was_typed_and_opens_an_appeal_by_its_qf_url(browser, server):
    """A refusal (no title) keeps the typed text; the saved appeal's QF number is its
    address: /appeal?code=QF… opens it (after the login a fresh tab asks for)."""
    import re

    from playwright.sync_api import expect

    ctx, page = _as(browser, server, "liaison_jbc")
    page.get_by_role("link", name="登记诉求").click()
    search = page.get_by_label("查找企业（名称、信用代码或拼音首字母）", exact=True)
    search.fill("证券")
    search.press("Enter")
    _settle(page)
    description = page.get_by_label("诉求内容", exact=True)
    description.fill("浏览器测试：早高峰车辆排队至主干道")
    page.get_by_role("button", name="提交诉求").click()
    expect(page.get_by_text("请填写诉求标题。")).to_be_visible()
    expect(description).to_have_value("浏览器测试：早高峰车辆排队至主干道")
    page.get_by_label("诉求标题", exact=True).fill("浏览器测试：按编号打开")
    page.get_by_role("button", name="提交诉求").click()
    saved = page.get_by_text(re.compile(r"已受理，编号 QF\d+"))
    expect(saved).to_be_visible()
    expect(description).to_have_value("")  # cleared once saved
    code = re.search(r"QF\d+", saved.inner_text()).group(0)
    ctx.close()

    context = browser.new_context(viewport={"width": 1440, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}/appeal?code={code}")
    heading = page.get_by_role("heading", name=f"{code} · 浏览器测试：按编号打开")
    login_button = page.get_by_role("button", name="登录")
    expect(login_button.or_(heading)).to_be_visible(timeout=WAIT_MS)
    if login_button.is_visible():  # no session in this tab yet: log in, land on the appeal
        _log_in(page, "liaison_jbc")
    expect(heading).to_be_visible()
    expect(page.get_by_text("浏览器测试：早高峰车辆排队至主干道")).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "appeal-by-qf-url.png", full_page=True)
    context.close()


def test_an_official_clicks_a_number_in_the_ranking_and_gets_the_appeals_behind_it(page):
    import re

    from playwright.sync_api import expect

    _log_in(page, "official")
    page.get_by_role("link", name="考核总览").click()
    expect(page.get_by_role("heading", name="考核总览")).to_be_visible()
    expect(page.get_by_role("heading", name="镇街排名")).to_be_visible()
    expect(page.get_by_text("综合成绩").first).to_be_visible()
    _settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "kpi-overview.png", full_page=True)
    caption = page.get_by_text(re.compile(r"^共 \d+ 件，显示最新 \d+ 件。$"))
    before = caption.inner_text()
    # The ranking is a canvas grid: click the first street's name cell by position.
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 40, box["y"] + 35 + 17)
    _settle(page)
    expect(caption).not_to_have_text(before)
    # the drill-down now reads "within <that street>", no longer "all"
    expect(page.get_by_text("全部（当前筛选）")).to_have_count(0)
    expect(page.get_by_text("kpi.", exact=False)).to_have_count(0)  # no raw catalogue keys
    page.screenshot(path=SCREENSHOTS / "kpi-drilldown.png", full_page=True)


def test_the_monthly_bulletin_downloads_as_a_workbook(page):
    import io

    from openpyxl import load_workbook
    from playwright.sync_api import expect

    _log_in(page, "official")
    page.get_by_role("link", name="月度通报").click()
    expect(page.get_by_text("企业诉求办理情况通报", exact=False).first).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "kpi-bulletin.png", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name="下载通报（Excel）").click()
    workbook = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert "企业诉求办理情况通报" in workbook.active["A1"].value
    assert workbook.active["B4"].value.endswith(("街道", "镇"))


def test_an_admin_uploads_a_roster_and_sees_what_landed_and_what_was_refused(page, tmp_path):
    """The import page end to end: upload, header and preview, import with the progress
    bar, the counts, the refused row with its reason, the batch in the history."""
    import io

    from openpyxl import Workbook, load_workbook
    from playwright.sync_api import expect

    from crm.uscc import complete

    good = [complete(f"91500105MA5UE{i:03d}") for i in range(3)]
    bad = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")
    book = Workbook()
    sheet = book.active
    sheet.append(["浏览器测试企业名录"])
    sheet.append(["统一社会信用代码", "企业名称", "所属镇街"])
    for i, code in enumerate(good):
        sheet.append([code, f"浏览器测试企业{i}有限公司", "观音桥街道"])
    sheet.append([bad, "代码有误的企业", "观音桥街道"])
    path = tmp_path / "浏览器名录.xlsx"
    book.save(path)

    _log_in(page, "admin")
    page.get_by_role("link", name="数据导入").click()
    expect(page.get_by_text("上传文件（.xlsx / .xls / .csv）")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(path)
    expect(page.get_by_text("检查结果：共 4 行，新增 3", exact=False)).to_be_visible()
    _settle(page)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.get_by_text("共 4 行，新增 3，更新 0，不变 0，拒绝 1", exact=False)
           .last).to_be_visible()
    expect(page.get_by_text("被拒绝的行", exact=True)).to_be_visible()
    _settle(page)
    page.screenshot(path=SCREENSHOTS / "import-result.png", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name="下载被拒绝的行（xlsx）").click()
    cells = [[c for c in row if c is not None] for row in load_workbook(
        io.BytesIO(Path(info.value.path()).read_bytes())).active.iter_rows(values_only=True)]
    refused = [row for row in cells if bad in row]
    assert len(refused) == 1 and any("校验码" in str(c) for c in refused[0]), cells


def test_an_admin_points_the_app_at_odoo_and_runs_the_sync(page):
    """The Odoo page end to end: the settings typed in (the password never shown back),
    "run now" against a live Odoo stand-in, the run with its counts in the history."""
    from playwright.sync_api import expect

    from tests.odoo_server import OdooTestServer

    with OdooTestServer() as odoo_server:
        odoo = odoo_server.odoo
        _log_in(page, "admin")
        # the whole menu shows (no "View N more" folding the admin screens away)
        expect(page.get_by_role("button", name=re.compile(r"View \d+ more"))).to_have_count(0)
        page.get_by_role("link", name="Odoo 同步").click()
        expect(page.get_by_text("尚未同步过。")).to_be_visible(timeout=WAIT_MS)
        page.get_by_label("Odoo 地址").fill(odoo_server.url)
        page.get_by_label("数据库").fill(odoo.db)
        page.get_by_label("登录名").fill(odoo.login)
        page.get_by_role("textbox", name="密码或 API 密钥").fill(odoo.password)
        page.get_by_role("button", name="保存设置").click()
        expect(page.get_by_text("已保存 4 项设置。")).to_be_visible()
        expect(page.get_by_role("textbox", name="密码或 API 密钥")).to_have_value("")
        _settle(page)
        page.get_by_role("button", name="立即同步").click()
        expect(page.get_by_text("同步结束（成功）", exact=False)).to_be_visible(timeout=120_000)
        _settle(page)
        assert odoo.records["res.partner"], "no partner reached Odoo"
        assert odoo.password not in page.content()
