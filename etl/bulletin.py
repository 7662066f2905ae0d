"""The monthly KPI bulletin (月度通报) as a formatted workbook and as CSV.

The workbook is what a district office sends round: a merged title, the period,
the as-of date and units on the second line, one row per street/town ranked by
composite score with rates as percentages, the district total, conditional
colours (rates red → amber → green, overdue counts in red), the formula in a
note under the table, frozen header, landscape page fit to one page wide.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from crm.i18n import t
from crm.textsafety import neutralise, neutralise_row, writer

RATES = ("composite_score", "response_rate", "resolution_rate", "satisfaction_rate",
         "closed_on_time_rate")
COUNTS = ("appeals_total", "appeals_replied", "appeals_open", "overdue_open")
DAYS = ("median_days_to_reply", "p90_days_to_reply")
COLUMNS = ("rank", "street", *RATES, *COUNTS, *DAYS)


def headers(lang: str, *, units: bool = False) -> list[str]:
    out = []
    for col in COLUMNS:
        name = t(f"kpi.key.{col}", lang) if col in RATES + COUNTS + DAYS else t(
            f"kpi.{'rank' if col == 'rank' else 'dim.street'}", lang)
        if units and col in RATES:
            name += "(%)"
        elif units and col in DAYS:
            name += t("bulletin.unit_days", lang)
        out.append(name)
    return out


def _cells(row: dict, *, percent: bool) -> list:
    values = [row.get("rank"), row["street"]]
    for k in RATES:
        v = row[k]
        values.append(None if v is None else (round(v * 100, 1) if percent else v))
    values += [row[k] for k in COUNTS + DAYS]
    return values


@writer
def to_csv(data: dict, lang: str) -> bytes:
    """UTF-8 with BOM (Excel opens it in Chinese without a wizard); rates in percent.
    Every cell through crm.textsafety.neutralise (a street named =… stays text)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(neutralise_row(headers(lang, units=True)))
    for row in data["rows"]:
        w.writerow(neutralise_row("" if v is None else v for v in _cells(row, percent=True)))
    w.writerow(neutralise_row("" if v is None else v for v in _cells(
        {**data["district"], "rank": None, "street": t("bulletin.district_total", lang)},
        percent=True)))
    return out.getvalue().encode("utf-8-sig")


@writer
def to_xlsx(data: dict, lang: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = t("bulletin.sheet", lang)
    ncols = len(COLUMNS)
    last = get_column_letter(ncols)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    ws.append([neutralise(data["title"])])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([neutralise(data["subtitle"])])
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].alignment = Alignment(horizontal="center")
    ws["A2"].font = Font(size=10, color="555555")

    ws.append(neutralise_row(headers(lang)))
    header_fill = PatternFill("solid", fgColor="1F4E79")
    for cell in ws[3]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    ws.row_dimensions[3].height = 32

    first_data = 4
    for row in data["rows"]:
        ws.append(neutralise_row(_cells(row, percent=False)))
    total = {**data["district"], "rank": None, "street": t("bulletin.district_total", lang)}
    ws.append(neutralise_row(_cells(total, percent=False)))
    last_data = ws.max_row
    for r in range(first_data, last_data + 1):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.border = border
            col = COLUMNS[c - 1]
            if col in RATES:
                cell.number_format = "0.0%"
            elif col in COUNTS:
                cell.number_format = "#,##0"
            cell.alignment = Alignment(horizontal="left" if col == "street" else "center")
    for cell in ws[last_data]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EDEDED")

    streets_end = last_data - 1
    if streets_end >= first_data:
        for i, col in enumerate(COLUMNS, start=1):
            letter = get_column_letter(i)
            span = f"{letter}{first_data}:{letter}{streets_end}"
            if col in RATES:
                ws.conditional_formatting.add(span, ColorScaleRule(
                    start_type="min", start_color="F8696B", mid_type="percentile",
                    mid_value=50, mid_color="FFEB84", end_type="max", end_color="63BE7B"))
            elif col == "overdue_open":
                ws.conditional_formatting.add(span, CellIsRule(
                    operator="greaterThan", formula=["0"], font=Font(color="C00000", bold=True),
                    fill=PatternFill("solid", fgColor="FDE9E7")))

    ws.append([])
    for line in data["notes"]:
        ws.append([neutralise(line)])
        ws.merge_cells(f"A{ws.max_row}:{last}{ws.max_row}")
        ws.cell(row=ws.max_row, column=1).font = Font(size=9, color="555555")

    widths = {"rank": 6, "street": 14}
    for i, col in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(col, 11)
    ws.freeze_panes = "C4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
