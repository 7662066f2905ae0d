"""A job fair's report (招聘会成效报告) as a formatted workbook.

Sheet 1, the summary: a merged title (the fair), its date, place, organising street
and kind, the as-of day of the figures, the funnel per stage with the share kept from
the stage before and the fill rate, retention marked pending until 90 days after the
fair. Sheet 2: one row per firm; sheet 3: one row per position (pay or 面议,
requirements, the funnel, fill rate, the day of its latest update). Fill rates as
percentages with a colour scale, frozen headers, print fit to one page wide. The
figures are crm.services.jobfair_report's, the same the board and the CLI show.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from crm.i18n import label, t
from crm.rules import FUNNEL
from crm.textsafety import neutralise, neutralise_row, writer

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")


def _title(ws, text: str, subtitle: str, width: int) -> None:
    last = get_column_letter(width)
    ws.append([neutralise(text)])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([neutralise(subtitle)])
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].font = Font(size=10, color="555555")
    ws["A2"].alignment = Alignment(horizontal="center")


def _table(ws, headers: list[str], rows: list[list], *, percent: set[int] = frozenset(),
           widths: dict[int, int] | None = None, scale: set[int] = frozenset()) -> None:
    """Headers in row 3, data below, bordered; `percent` columns (0-based) as 0.0%."""
    ws.append(neutralise_row(headers))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BORDER
    first = ws.max_row + 1
    for row in rows:
        ws.append(neutralise_row(row))
    for r in range(first, ws.max_row + 1):
        for c in range(1, len(headers) + 1):
            cell = ws.cell(row=r, column=c)
            cell.border = BORDER
            if c - 1 in percent:
                cell.number_format = "0.0%"
    if ws.max_row >= first:
        for c in scale:
            letter = get_column_letter(c + 1)
            ws.conditional_formatting.add(f"{letter}{first}:{letter}{ws.max_row}",
                                          ColorScaleRule(start_type="num", start_value=0,
                                                         start_color="F8696B",
                                                         mid_type="num", mid_value=0.5,
                                                         mid_color="FFEB84", end_type="num",
                                                         end_value=1, end_color="63BE7B"))
    for i in range(len(headers)):
        ws.column_dimensions[get_column_letter(i + 1)].width = (widths or {}).get(i, 12)
    ws.freeze_panes = f"A{first}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _stage(lang: str, stage: str) -> str:
    return t(f"stage.{stage}", lang)


def _pay(p: dict, lang: str) -> str | None:
    if p["pay_negotiable"]:
        return t("jobfair.pay_negotiable", lang)
    if p["pay_min"] is None and p["pay_max"] is None:
        return None
    if p["pay_min"] == p["pay_max"] or p["pay_max"] is None or p["pay_min"] is None:
        return str(p["pay_min"] if p["pay_min"] is not None else p["pay_max"])
    return f"{p['pay_min']}-{p['pay_max']}"


@writer
def to_xlsx(board: dict, lang: str = "zh") -> bytes:
    fair, totals = board["fair"], board["totals"]
    pending = totals["retention_pending"]
    wb = Workbook()
    ws = wb.active
    ws.title = t("jobfair.xlsx.summary", lang)
    subtitle = t("jobfair.xlsx.subtitle", lang, day=fair["held_on"].isoformat(),
                 place=fair["place"] or "-", street=fair["street"] or "-",
                 kind=label("fair_kind", fair["kind"], lang),
                 as_of=board["as_of"].isoformat())
    _title(ws, fair["name"], subtitle, 4)
    rows = [[t("col.firms", lang), totals["firms"], None, None],
            [t("jobfair.col.positions", lang), totals["positions"], None, None],
            [t("jobfair.headcount", lang), totals["headcount"], None, None]]
    kept = {d["to"]: d for d in board["drop_off"]}
    for stage in FUNNEL:
        value = totals[stage]
        if stage == "retained_90d" and value is None:
            value = t("jobfair.pending" if pending else "jobfair.not_counted", lang)
        share = kept[stage]["kept"] if stage in kept else None
        lost = kept[stage]["lost"] if stage in kept else None
        rows.append([_stage(lang, stage), value, share, lost])
    rows.append([t("jobfair.fill_rate", lang), totals["fill_rate"], None, None])
    _table(ws, [t("jobfair.col.measure", lang), t("jobfair.col.value", lang),
                t("jobfair.col.kept", lang), t("jobfair.col.lost", lang)], rows,
           percent={2}, widths={0: 22, 1: 14, 2: 16, 3: 14})
    ws.cell(row=ws.max_row, column=2).number_format = "0.0%"
    ws.append([])
    ws.append([neutralise(t("jobfair.xlsx.note", lang, due=board["retention_due"].isoformat()))])
    ws.merge_cells(f"A{ws.max_row}:D{ws.max_row}")
    ws.cell(row=ws.max_row, column=1).font = Font(size=9, color="555555")
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True)
    ws.row_dimensions[ws.max_row].height = 45

    stages = [_stage(lang, s) for s in FUNNEL]
    firms = wb.create_sheet(t("jobfair.xlsx.firms", lang))
    headers = [t("col.enterprise", lang), t("col.status", lang), t("jobfair.col.positions", lang),
               t("jobfair.headcount", lang), *stages, t("jobfair.fill_rate", lang)]
    _title(firms, fair["name"], subtitle, len(headers))
    _table(firms, headers, [
        [f["firm"], label("participation", f["status"], lang), f["positions"], f["headcount"],
         *[f[s] for s in FUNNEL], f["fill_rate"]] for f in board["firms"]],
        percent={len(headers) - 1}, scale={len(headers) - 1}, widths={0: 32})

    positions = wb.create_sheet(t("jobfair.xlsx.positions", lang))
    headers = [t("col.enterprise", lang), t("jobfair.col.title", lang),
               t("jobfair.headcount", lang),
               t("jobfair.col.pay", lang), t("jobfair.col.requirements", lang), *stages,
               t("jobfair.fill_rate", lang), t("jobfair.col.updated_on", lang)]
    _title(positions, fair["name"], subtitle, len(headers))
    _table(positions, headers, [
        [p["firm"], p["title"], p["headcount"], _pay(p, lang), p["requirements"],
         *[p[s] for s in FUNNEL], p["fill_rate"],
         p["updated_on"].isoformat() if p["updated_on"] else None]
        for p in board["positions"]],
        percent={len(headers) - 2}, scale={len(headers) - 2},
        widths={0: 32, 1: 16, 4: 28, len(headers) - 1: 12})
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
