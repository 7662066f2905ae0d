"""The monthly bulletin: the same numbers as the ranking, in a workbook people can send."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal
from crm.services import bulletin, kpi
from etl import app as etl_app
from tests.services.test_kpi import data  # noqa: F401  (fixture)

MONTH = "2026-01"
AS_OF = dt.date(2026, 1, 20)


def test_the_bulletin_is_the_months_ranking(session, data):
    b = bulletin.bulletin(session, month=MONTH, as_of=AS_OF)
    assert b["period"] == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert b["title"] == "江北区企业诉求办理情况通报（2026年1月）"
    assert "2026-01-01 至 2026-01-31" in b["subtitle"] and "2026-01-20" in b["subtitle"]
    assert [r["street"] for r in b["rows"]][:2] == ["大石坝街道", "江北城街道"]
    assert b["rows"] == kpi.by_street(session, date_from=dt.date(2026, 1, 1),
                                      date_to=dt.date(2026, 1, 31), as_of=AS_OF)
    assert "0.1 × 响应率 + 0.5 × 解决率 + 0.4 × 满意率" in b["notes"][0]


def test_a_closed_months_bulletin_judges_overdue_at_the_months_end(session, data):
    b = bulletin.bulletin(session, month=MONTH)
    assert b["as_of"] == dt.date(2026, 2, 1)


def january(session) -> dict[str, dict]:
    rows = kpi.by_street(session, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31),
                         as_of=AS_OF)
    return {r["street"]: r for r in rows}


def test_the_workbook_has_title_period_percentages_and_colours(session, data):
    expected = january(session)
    wb = load_workbook(io.BytesIO(etl_app.bulletin_xlsx(session, month=MONTH, as_of=AS_OF)))
    ws = wb.active
    assert ws["A1"].value == "江北区企业诉求办理情况通报（2026年1月）"
    assert "A1:M1" in {str(r) for r in ws.merged_cells.ranges}
    assert "统计时点：2026-01-20" in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header[:4] == ["排名", "镇街", "综合成绩", "响应率"]
    first = {h: c for h, c in zip(header, ws[4], strict=True)}
    assert first["镇街"].value == "大石坝街道" and first["排名"].value == 1
    assert first["综合成绩"].value == expected["大石坝街道"]["composite_score"] == 0.73
    assert first["综合成绩"].number_format == "0.0%"
    second = {h: c.value for h, c in zip(header, ws[5], strict=True)}
    assert second["镇街"] == "江北城街道" and second["超期未办结"] == 1
    assert second["满意率"] == expected["江北城街道"]["satisfaction_rate"]
    total_row = next(r for r in ws.iter_rows(min_row=4) if r[1].value == "全区合计")
    assert total_row[header.index("诉求总数")].value == 8  # DSB3 came in February
    rules = {str(rng.sqref): [r.type for r in rules]
             for rng, rules in ws.conditional_formatting._cf_rules.items()}
    assert rules["C4:C15"] == ["colorScale"] and rules["K4:K15"] == ["cellIs"]
    assert ws.freeze_panes == "C4" and ws.page_setup.orientation == "landscape"
    assert any("综合成绩 =" in (row[0].value or "") for row in ws.iter_rows(min_row=17))


def test_the_csv_opens_in_excel_and_carries_percent(session, data):
    expected = january(session)
    raw = etl_app.bulletin_csv(session, month=MONTH, as_of=AS_OF)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 13  # 12 streets and the district total
    first = rows[0]
    assert first["镇街"] == "大石坝街道"
    assert float(first["综合成绩(%)"]) == round(
        expected["大石坝街道"]["composite_score"] * 100, 1) == 73.0
    assert rows[-1]["镇街"] == "全区合计" and rows[-1]["诉求总数"] == "8"
    assert rows[5]["综合成绩(%)"] == ""  # a street without appeals has no rate


def test_the_bulletin_speaks_english_too(session, data):
    raw = etl_app.bulletin_csv(session, month=MONTH, as_of=AS_OF, lang="en")
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[:3] == ["Rank", "Street", "Composite(%)"]
    wb = load_workbook(io.BytesIO(etl_app.bulletin_xlsx(session, month=MONTH, as_of=AS_OF,
                                                         lang="en")))
    assert wb.active["A1"].value.endswith("(2026-01)")


def test_the_overview_and_the_bulletin_agree_on_a_month(session, data):
    """Same month, default as-of on both sides: the same numbers, overdue included (they
    once judged overdue on different days: today on the overview, the 1st of the next
    month in the bulletin)."""
    # a January appeal that falls due after the month: not overdue on 1 February, overdue now
    late = session.scalar(select(Appeal).where(Appeal.code == "KPI-JB6"))
    assert late.status in OPEN_STATUSES and late.received_at.date() <= dt.date(2026, 1, 31)
    late.due_date = dt.date(2026, 2, 10)
    session.commit()
    b = bulletin.bulletin(session, month=MONTH)
    o = kpi.overview(session, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31))
    assert o["as_of"] == b["as_of"] == kpi.as_of_for(dt.date(2026, 1, 31))
    assert o["current"] == b["district"]
    assert o["by_street"] == b["rows"]
    assert o["current"]["overdue_open"] > 0


def test_a_running_period_is_judged_today_and_a_closed_one_the_day_after(district_clock):
    today = district_clock
    assert kpi.as_of_for(None) == today
    assert kpi.as_of_for(today) == today
    assert kpi.as_of_for(dt.date(2026, 1, 31)) == min(dt.date(2026, 2, 1), today)
    assert kpi.as_of_for(dt.date(2026, 1, 31), dt.date(2026, 1, 5)) == dt.date(2026, 1, 5)
