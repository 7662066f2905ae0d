"""What the financing KPI page draws: grouped money bars, approval-rate bars, and the
tables whose cells drill down to the records (crm.services.financing_kpi)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm.ui.state import tr
from crm.ui.widgets import fmt_rate, shown_value

AMOUNTS = ("amount_needed", "amount_approved", "amount_disbursed")
# table column -> the measure its drill-down lists
COLUMNS = ("needs", "amount_needed", "amount_approved", "amount_disbursed", "approved",
           "decided", "approval_rate", "median_days_to_money", "mean_days_to_money")
DRILL_FOR = {"needs": "needs", "amount_needed": "amount_needed",
             "amount_approved": "amount_approved", "amount_disbursed": "amount_disbursed",
             "approved": "approved", "decided": "decided", "approval_rate": "decided",
             "median_days_to_money": "days_to_money", "mean_days_to_money": "days_to_money"}


def money_chart(rows: list[dict], dimension: str, name_of) -> None:
    """Needed / approved / disbursed side by side for each row."""
    import altair as alt

    if not rows:
        st.caption(tr("fkpi.no_data"))
        return
    who, what, wan = tr(f"fkpi.dim.{dimension}"), tr("fkpi.measure"), tr("col.amount_wan")
    frame = pd.DataFrame([{who: name_of(r), what: tr(f"fkpi.key.{k}"), wan: r[k]}
                          for r in rows for k in AMOUNTS])
    chart = (alt.Chart(frame).mark_bar().encode(
        x=alt.X(f"{who}:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset(f"{what}:N", sort=[tr(f"fkpi.key.{k}") for k in AMOUNTS]),
        y=alt.Y(f"{wan}:Q", title=wan),
        color=alt.Color(f"{what}:N", title=None, legend=alt.Legend(orient="bottom"),
                        sort=[tr(f"fkpi.key.{k}") for k in AMOUNTS]),
        tooltip=[who, what, wan]).properties(height=280))
    st.altair_chart(chart, width="stretch")


def rate_chart(rows: list[dict]) -> None:
    import altair as alt

    rated = [r for r in rows if r["approval_rate"] is not None]
    if not rated:
        return
    bank, rate = tr("fkpi.dim.bank"), tr("fkpi.key.approval_rate")
    frame = pd.DataFrame({bank: [r["bank"] for r in rated],
                          rate: [round(r["approval_rate"] * 100, 1) for r in rated]})
    chart = (alt.Chart(frame).mark_bar().encode(
        y=alt.Y(f"{bank}:N", sort="-x", title=None),
        x=alt.X(f"{rate}:Q", scale=alt.Scale(domain=[0, 100]), title=f"{rate} (%)"),
        tooltip=[bank, rate]).properties(height=max(120, 28 * len(rated))))
    st.altair_chart(chart, width="stretch")


def table(rows: list[dict], dimension: str, name_of, *, key: str):
    """The numbers of each row; a click on a cell returns (row, measure) to drill into."""
    if not rows:
        st.caption(tr("fkpi.no_data"))
        return None
    who = tr(f"fkpi.dim.{dimension}")
    # a column with a gap (no decision yet) is shown as text: "—", not None
    gaps = {k for k in COLUMNS if any(r[k] is None for r in rows)}

    def cell(k: str, value):
        if k in gaps:
            return fmt_rate(value) if k == "approval_rate" else shown_value(value)
        return round(value * 100, 1) if k == "approval_rate" else value

    frame = pd.DataFrame([{who: name_of(r), **{tr(f"fkpi.key.{k}"): cell(k, r[k])
                                               for k in COLUMNS}} for r in rows])
    config = {} if "approval_rate" in gaps else {
        tr("fkpi.key.approval_rate"): st.column_config.NumberColumn(format="%.1f%%")}
    event = st.dataframe(frame, hide_index=True, width="stretch", key=key,
                         column_config=config, on_select="rerun",
                         selection_mode="single-cell")
    cells = event.selection.get("cells", []) if event else []
    if not cells or cells[0][0] >= len(rows):
        return None
    by_caption = {tr(f"fkpi.key.{k}"): k for k in COLUMNS}
    return rows[cells[0][0]], DRILL_FOR.get(by_caption.get(cells[0][1]), "needs")
