"""Issue 14 end to end in a real browser: a chamber's clerk proposes a bank product for a
member firm's need, takes it through contact, application and approval to the money, and
sees the chamber's disbursed amount on the board grow by what was paid out.

The app runs with `streamlit run` on its own seeded SQLite file (tests/test_browser.py's
helpers); the need is put on file through the service before the clerk logs in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.db import make_engine, session_factory
from crm.models import Chamber, Enterprise, FinancingMatch
from crm.services import financing
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    WAIT_MS,
    _log_in,
    _metric,
    _seed,
    _settle,
    require_browser,
    run_app,
)

pytestmark = pytest.mark.slow

CHAMBER = "大石坝街道商会"
PURPOSE = "浏览器测试：购置检测设备"


def _wan(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[tuple[str, Path, int]]:
    """The app over the demo data (or the small world), plus one open need of a member
    firm of 大石坝街道商会: (base URL, database file, need id)."""
    require_browser()
    path = tmp_path_factory.mktemp("browser_fin") / "qifu.db"
    _seed(path)
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine).begin() as s:
        chamber = s.scalars(select(Chamber).where(Chamber.name == CHAMBER)).one()
        firm = s.scalars(select(Enterprise).where(Enterprise.name.like("%齐祥灯饰%"))).first()
        need = financing.add_financing_need(
            s, actor=SYSTEM, enterprise_id=firm.id, amount=80, purpose=PURPOSE,
            requested_on=dt.date.today() - dt.timedelta(days=20), term_months=12,
            collateral="credit", urgency="high", chamber_id=chamber.id)
        need_id = need.id
        assert financing.match_needs(s, actor=SYSTEM, need_id=need_id, top=1)[0]["matches"]
    engine.dispose()
    with run_app(path) as base:
        yield base, path, need_id


def test_a_chamber_takes_a_need_from_proposal_to_the_money(app):
    from playwright.sync_api import expect, sync_playwright

    base, path, need_id = app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1400},
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(base)
        _log_in(page, "chamber_dsb")
        page.get_by_role("heading", name="您好", exact=False).first.wait_for()
        page.get_by_role("link", name="融资对接").click()
        expect(page.get_by_role("heading", name="融资对接", exact=True)).to_be_visible(
            timeout=WAIT_MS)
        _settle(page)
        before = _wan(_metric(page, "已放款"))

        search = page.get_by_label("按企业或用途筛选", exact=True)
        search.fill(PURPOSE)
        search.press("Enter")
        card = page.locator(f".st-key-fin_need_{need_id}")
        expect(card).to_be_visible(timeout=WAIT_MS)
        expect(card.get_by_text("可推荐的产品（按匹配度）")).to_be_visible(timeout=WAIT_MS)

        def step(button: str, done: str) -> None:
            card.get_by_role("button", name=button, exact=True).first.click()
            expect(page.get_by_text(done, exact=False).first).to_be_visible(timeout=WAIT_MS)
            _settle(page)

        step("推荐", "已推荐：")
        step("已对接", "已记录：已对接")
        step("已申请", "已记录：已申请")
        card.get_by_label("获批金额（万元）", exact=True).fill("80")
        card.get_by_label("获批金额（万元）", exact=True).press("Tab")
        step("获批", "已记录：获批")
        expect(card.get_by_text("获批 80.0 万元", exact=False)).to_be_visible(timeout=WAIT_MS)
        _settle(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "financing-board.png", full_page=True)
        card.get_by_label("放款金额（万元）", exact=True).fill("60")
        card.get_by_label("放款金额（万元）", exact=True).press("Tab")
        step("已放款", "已记录：已放款")

        # the chamber's disbursed amount grew by what was paid out
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="已放款").first
               .locator('[data-testid="stMetricValue"]')).to_have_text(
            f"{before + 60:,.1f} 万元", timeout=WAIT_MS)
        context.close()
        browser.close()

    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine)() as s:
        match = s.scalars(select(FinancingMatch).where(FinancingMatch.need_id == need_id)).one()
        assert (match.status, float(match.approved_amount), float(match.disbursed_amount)) == (
            "disbursed", 80.0, 60.0)
        assert [e.to_status for e in match.events] == [
            "recommended", "contacted", "applied", "approved", "disbursed"]
    engine.dispose()


@pytest.mark.parametrize(("link", "heading", "shot"), [
    ("融资成效", "融资成效", "financing-kpi.png"),
    ("银行产品", "银行产品目录", "bank-products.png"),
    ("银企对接会", "银企对接会", "bank-meetings.png"),
])
def test_the_chamber_opens_the_other_financing_pages(app, link, heading, shot):
    from playwright.sync_api import expect, sync_playwright

    base, _, _ = app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1400},
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(base)
        _log_in(page, "chamber_dsb")
        page.get_by_role("heading", name="您好", exact=False).first.wait_for()
        page.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=WAIT_MS)
        _settle(page)
        expect(page.get_by_text("页面出错了", exact=False)).to_have_count(0, timeout=WAIT_MS)
        if link == "融资成效":  # the charts draw after the run ends
            page.locator('[data-testid="stVegaLiteChart"] canvas, '
                         '[data-testid="stVegaLiteChart"] svg').first.wait_for()
            page.wait_for_timeout(1000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / shot, full_page=True)
        context.close()
        browser.close()
