"""考核总览: the 12345 numbers of a period against the period before, the monthly trend,
the street ranking, and the appeals behind any number (click a cell)."""

import streamlit as st

from crm.services import kpi
from crm.ui import kpi_view as kv
from crm.ui.actions import load
from crm.ui.state import require_page, tr
from crm.ui.widgets import fmt_date

actor = require_page("kpi")
st.title(tr("kpi.title"))
date_from, date_to = kv.period_picker("kpi")
chosen = kv.filters("kpi")
base = dict(date_from=date_from, date_to=date_to, as_of=kpi.as_of_for(date_to), **chosen)
data = load(kpi.overview, version=kv.revision(), **base)
prev_from, prev_to = data["previous_period"]
st.caption(tr("kpi.compared_with", start=fmt_date(date_from), end=fmt_date(date_to),
              prev_start=fmt_date(prev_from), prev_end=fmt_date(prev_to)))
kv.as_of_line(date_to)
kv.headline(data["current"], data["previous"],
            ("composite_score", "response_rate", "resolution_rate", "satisfaction_rate",
             "closed_on_time_rate"))
kv.headline(data["current"], data["previous"],
            ("appeals_total", "appeals_open", "overdue_open", "median_days_to_reply",
             "p90_days_to_reply"))
kv.coverage_headline(chosen.get("street_id"))

st.subheader(tr("kpi.trend"))
kv.trend_chart(data["trend"])

streets = data["by_street"]
st.subheader(tr("kpi.ranking"))
kv.ranking_chart(streets, "street")
st.caption(tr("kpi.click_hint"))
clicked = kv.kpi_table(streets, "street", key="kpi_streets")
kv.drilldown(base, key="kpi_drill", targets={r["id"]: r["street"] for r in streets},
             target_kw="street_id",
             clicked=(clicked[0]["id"], clicked[1]) if clicked else None)
