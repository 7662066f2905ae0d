"""Job-fair widgets the pages share: the funnel chart, the drop-off table, the comparison
chart and the tables of firms and positions. Display only; the numbers come from
crm.services.jobfair_report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm.rules import FUNNEL
from crm.ui.state import lbl, tr
from crm.ui.widgets import dash_gaps, fmt_rate


def stage_name(stage: str) -> str:
    return tr(f"stage.{stage}")


def retention_text(totals: dict) -> str:
    if totals["retained_90d"] is not None:
        return str(totals["retained_90d"])
    return tr("jobfair.pending" if totals["retention_pending"] else "jobfair.not_counted")


def funnel_chart(totals: dict) -> None:
    """The funnel as bars narrowing from applicants to retention, centred like a funnel;
    retention left out while pending."""
    import altair as alt

    stages = [s for s in FUNNEL if totals[s] is not None]
    if not any(totals[s] for s in stages):
        st.caption(tr("jobfair.no_results"))
        return
    stage, count = tr("jobfair.col.stage"), tr("jobfair.col.value")
    top = max(totals[s] for s in stages) or 1
    data = pd.DataFrame({stage: [stage_name(s) for s in stages],
                         count: [totals[s] for s in stages],
                         "order": list(range(len(stages))),
                         "x0": [(top - totals[s]) / 2 for s in stages],
                         "x1": [(top + totals[s]) / 2 for s in stages]})
    scale = alt.Scale(domain=[0, top * 1.08])
    y = alt.Y(f"{stage}:N", sort=alt.SortField("order"), title=None)
    bars = alt.Chart(data).mark_bar(color="#2E75B6").encode(
        x=alt.X("x0:Q", axis=None, scale=scale), x2="x1:Q", y=y, tooltip=[stage, count])
    labels = alt.Chart(data).mark_text(align="left", dx=4, fontWeight="bold").encode(
        x=alt.X("x1:Q", axis=None, scale=scale), y=y, text=f"{count}:Q")
    st.altair_chart((bars + labels).properties(height=40 * len(stages) + 20), width="stretch")


def drop_off_table(rows: list[dict]) -> None:
    st.dataframe([{tr("jobfair.col.from"): stage_name(r["from"]),
                   tr("jobfair.col.to"): stage_name(r["to"]),
                   tr("jobfair.col.value"): r["to_count"],
                   tr("jobfair.col.lost"): r["lost"],
                   tr("jobfair.col.kept"): fmt_rate(r["kept"])}
                  for r in rows if r["to_count"] is not None],  # retention: once counted
                 hide_index=True, width="stretch", key="fair_drop_off")


def comparison_chart(rows: list[dict]) -> None:
    """Fill rate per fair (bars) — the comparison across fairs."""
    import altair as alt

    rated = [r for r in rows if r["fill_rate"] is not None]
    if not rated:
        return
    fair, rate = tr("col.fair"), tr("jobfair.fill_rate")
    data = pd.DataFrame({fair: [f"{r['held_on']:%Y-%m-%d} {r['fair']}" for r in rated],
                         rate: [round(r["fill_rate"] * 100, 1) for r in rated]})
    chart = alt.Chart(data).mark_bar(color="#2E75B6").encode(
        x=alt.X(f"{rate}:Q", title=f"{rate} (%)"), y=alt.Y(f"{fair}:N", sort=None, title=None),
        tooltip=[fair, rate]).properties(height=32 * len(rated) + 20)
    st.altair_chart(chart, width="stretch")


def fair_rows_table(rows: list[dict], *, key: str):
    """The comparison table; a row can be picked (returns its index or None)."""
    table = [{tr("col.fair"): r["fair"], tr("col.held_on"): r["held_on"],
              tr("col.street"): r["street"] or "", tr("col.firms"): r["firms"],
              tr("jobfair.col.positions"): r["positions"], tr("jobfair.headcount"): r["headcount"],
              **{stage_name(s): r[s] for s in FUNNEL[:-1]},
              stage_name("retained_90d"): retention_text(r),
              tr("jobfair.fill_rate"): fmt_rate(r["fill_rate"])} for r in rows]
    event = st.dataframe(dash_gaps(table), hide_index=True, width="stretch", key=key,
                         on_select="rerun", selection_mode="single-row")
    picked = event.selection.get("rows", []) if event else []
    return picked[0] if picked else None


def pay_text(p: dict) -> str:
    if p["pay_negotiable"]:
        return tr("jobfair.pay_negotiable")
    if p["pay_min"] is None and p["pay_max"] is None:
        return ""
    if p["pay_min"] is None or p["pay_max"] is None or p["pay_min"] == p["pay_max"]:
        return str(p["pay_min"] if p["pay_min"] is not None else p["pay_max"])
    return f"{p['pay_min']}–{p['pay_max']}"


def _retained(value: int | None, pending: bool) -> str:
    """Retention as text in a table: the number, pending (待满90天), or blank (not counted)."""
    if value is not None:
        return str(value)
    return tr("jobfair.pending") if pending else ""


def positions_table(positions: list[dict], *, key: str, pending: bool = False):
    """Positions with their funnel; a row can be picked (returns its position id)."""
    table = [{tr("col.enterprise"): p["firm"], tr("jobfair.col.title"): p["title"],
              tr("jobfair.headcount"): p["headcount"], tr("jobfair.col.pay"): pay_text(p),
              **{stage_name(s): p[s] for s in FUNNEL[:-1]},
              stage_name("retained_90d"): _retained(p["retained_90d"], pending),
              tr("jobfair.fill_rate"): fmt_rate(p["fill_rate"]),
              tr("jobfair.col.updated_on"): p["updated_on"],
              tr("col.status"): lbl("participation", p["status"])} for p in positions]
    event = st.dataframe(dash_gaps(table), hide_index=True, width="stretch", key=key,
                         on_select="rerun", selection_mode="single-row")
    picked = event.selection.get("rows", []) if event else []
    return positions[picked[0]]["position_id"] if picked else None


def firms_table(firms: list[dict], *, key: str, pending: bool = False) -> None:
    st.dataframe([{tr("col.enterprise"): f["firm"], tr("col.status"): lbl("participation",
                                                                          f["status"]),
                   tr("jobfair.col.positions"): f["positions"],
                   tr("jobfair.headcount"): f["headcount"],
                   **{stage_name(s): f[s] for s in FUNNEL[:-1]},
                   stage_name("retained_90d"): _retained(f["retained_90d"], pending),
                   tr("jobfair.fill_rate"): fmt_rate(f["fill_rate"])} for f in firms],
                 hide_index=True, width="stretch", key=key)
