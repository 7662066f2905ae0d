"""我的包联企业: a cadre's own firms, when each was last seen, what is due; log a visit."""

import streamlit as st

from crm.services import coverage, dashboard, visits
from crm.ui.actions import load
from crm.ui.state import require_page, tr
from crm.ui.widgets import appeal_table, metric_row, records_table

actor = require_page("my_firms")
st.title(tr("my_firms.title"))

firms = load(dashboard.cadre_firms)
days = load(coverage.visit_interval)
due_now = [f for f in firms if f["stale"]]
metric_row([(tr("home.my_firms_count"), len(firms)),
            (tr("my_firms.due_now"), len(due_now)),
            (tr("my_firms.open_appeals"), sum(f["open_appeals"] for f in firms))])
st.caption(tr("my_firms.rule", days=days))

table = [{**f, "due": tr("my_firms.due_flag") if f["stale"] else ""} for f in firms]
records_table(table, {"due": "col.urgency", "name": "col.enterprise", "street": "col.street",
                      "since": "col.since", "last_visit": "col.last_visit",
                      "days_since_visit": "col.days_since_visit", "due_on": "col.visit_due",
                      "open_appeals": "col.open_appeals"},
              key="my_firms_table", dates=("since", "last_visit", "due_on"),
              empty="home.no_firms")

if firms:
    names = {f["id"]: f["name"] for f in firms}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox(tr("my_firms.visit_which"), list(names), format_func=names.get,
                            key="my_firms_pick")
    if right.button(tr("my_firms.visit_now"), key="my_firms_visit", type="primary"):
        st.session_state["visit_firm"] = chosen
        st.switch_page("pages/visit.py")

st.subheader(tr("my_firms.recent_visits"))
records_table(load(visits.list_visits, limit=20),
              {"visited_on": "col.visited_on", "enterprise": "col.enterprise", "way": "col.way",
               "policies": "col.policies", "appeals": "col.appeals_raised", "notes": "col.notes"},
              key="my_visits", dates=("visited_on",), labels={"way": "visit_way"},
              empty="my_firms.no_visits")

st.subheader(tr("my_firms.firm_appeals"))
appeal_table(load(dashboard.my_open_appeals), key="my_firm_appeals")
