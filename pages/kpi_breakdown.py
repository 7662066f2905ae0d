"""单位与类别: the same KPIs per lead unit, per category and per month, each table
clickable through to the appeals behind a number."""

import streamlit as st

from crm.services import kpi
from crm.ui import kpi_view as kv
from crm.ui.actions import load
from crm.ui.state import require_page, tr

actor = require_page("kpi_breakdown")
st.title(tr("kpi.breakdown_title"))
date_from, date_to = kv.period_picker("kpib")
chosen = kv.filters("kpib")
base = dict(date_from=date_from, date_to=date_to, as_of=kv.as_of_line(date_to), **chosen)
dimensions = {"unit": "unit_id", "category": "category_id", "month": "month"}
view = st.segmented_control(tr("kpi.dim.month"), list(dimensions), key="kpib_dim",
                            default="unit", label_visibility="collapsed",
                            format_func={d: tr(f"kpi.tab.{d}") for d in dimensions}.get)
view = view or "unit"
rows = load(kpi.grouped, view, version=kv.revision(), **base)
if view == "month":
    kv.trend_chart(rows)
else:
    kv.ranking_chart(rows, view)
st.caption(tr("kpi.click_hint"))
clicked = kv.kpi_table(rows, view, key=f"kpib_table_{view}")
kv.drilldown(base, key=f"kpib_drill_{view}", targets={r["id"]: r[view] for r in rows},
             target_kw=dimensions[view],
             clicked=(clicked[0]["id"], clicked[1]) if clicked else None)
