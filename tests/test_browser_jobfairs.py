"""Job fairs in a real browser: an employment login creates a fair, signs a firm up, adds a
position, records the funnel to hired over two dated updates (one refused with its
reason, the form keeping what was typed), and reads the fill rate on the board.

Reuses the server, browser and helpers of tests/test_browser.py (its own module-scoped
`streamlit run` on a seeded SQLite file).
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_app_pages import LIGHTING
from tests.test_browser import SCREENSHOTS, _as, _metric, _settle, browser, server  # noqa: F401

pytestmark = pytest.mark.slow


def _number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))


def test_an_employment_login_runs_a_fair_from_creation_to_the_fill_rate(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    name = f"浏览器测试招聘会 {dt.datetime.now():%H%M%S}"
    ctx, page = _as(browser, server, "employment")
    try:
        page.get_by_role("link", name="招聘会", exact=True).click()
        expect(page.get_by_role("heading", name="各场招聘会对比")).to_be_visible()
        page.get_by_text("新建招聘会").click()
        page.get_by_label("招聘会名称", exact=True).fill(name)
        page.get_by_label("地点", exact=True).fill("鱼嘴镇鱼复工业园区")
        page.get_by_role("button", name="创建招聘会").click()
        # the new fair's board opens
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        expect(page.get_by_text("尚无招聘结果。")).to_be_visible()

        page.get_by_text("企业报名", exact=True).click()
        search = page.get_by_label("查找企业（名称、信用代码或拼音首字母）", exact=True)
        search.fill("齐祥")
        search.press("Enter")
        _settle(page)
        expect(page.get_by_role("combobox", name="企业", exact=True)).to_have_value(
            f"{LIGHTING}（大石坝街道）")  # the first hit, chosen
        page.get_by_role("button", name="报名参会").click()
        expect(page.get_by_text(f"{LIGHTING}（大石坝街道） 已报名。")).to_be_visible()
        _settle(page)

        page.get_by_text("添加岗位", exact=True).click()
        page.get_by_label("岗位", exact=True).fill("装配工")
        _number(page, "招聘人数", 20)
        page.get_by_role("button", name="添加岗位").click()
        _settle(page)

        page.get_by_text("登记招聘结果", exact=True).click()
        expect(page.get_by_role("combobox", name="选择岗位", exact=True)).to_have_value(
            f"{LIGHTING} · 装配工")
        for label, value in (("投递简历", 30), ("达成意向", 12), ("体检", 10), ("入职", 8)):
            _number(page, label, value)
        _number(page, "达成意向", 35)  # more intents than résumés: refused, input kept
        page.get_by_role("button", name="登记", exact=True).click()
        expect(page.get_by_text("“达成意向”35 人多于“投递简历”30 人")).to_be_visible()
        expect(page.get_by_label("达成意向", exact=True)).to_have_value("35")
        _number(page, "达成意向", 12)
        page.get_by_role("button", name="登记", exact=True).click()
        _settle(page)
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="招满率")).to_contain_text(
            "40.0%")
        assert _metric(page, "招满率") == "40.0%"
        assert _metric(page, "入职") == "8"
        assert _metric(page, "在岗90天") == "待满90天"
        expect(page.get_by_role("heading", name="招聘漏斗")).to_be_visible()
        page.get_by_role("heading", name=name).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "jobfair-board.png", full_page=True)
    finally:
        ctx.close()
