"""诉求: my appeals (liaison) or my unit's inbox (handler), with filters, counts and a way in."""

import streamlit as st

from crm.services import appeal_queries
from crm.services.appeal_queries import AppealFilter
from crm.ui.actions import load, show_flash
from crm.ui.state import labeller, require_page, scope, tr
from crm.ui.widgets import appeal_table, metric_row

actor = require_page("appeals")
st.title(tr("appeals.title"))
show_flash()

counts = load(appeal_queries.counts_by_status)
statuses = appeal_queries.STATUSES
status_label = labeller("status")
left, mid, right = st.columns([2, 2, 3])
# Labels are computed now: Streamlit may format options outside the script run.
status_labels = {None: tr("appeals.all_statuses", n=sum(counts.values())),
                 **{s: f"{status_label(s)} ({counts.get(s, 0)})" for s in statuses}}
status = left.selectbox(tr("appeals.filter_status"), list(status_labels), key="appeal_status",
                        format_func=status_labels.get)
categories = {None: tr("appeals.any"),
              **{c["id"]: c["name"] for c in load(appeal_queries.categories)}}
category = mid.selectbox(tr("col.category"), list(categories), key="appeal_category",
                         format_func=categories.get)
text = right.text_input(tr("appeals.search"), key="appeal_text")
views = {v: tr(f"appeals.view.{v}") for v in ("all", "open", "due_soon", "overdue")}
view = st.radio(tr("appeals.view"), list(views), horizontal=True, key="appeal_view",
                format_func=views.get)
f = AppealFilter(statuses=(status,) if status else (), category_id=category, text=text,
                 open_only=view == "open", due_within_days=3 if view == "due_soon" else None,
                 overdue_only=view == "overdue")
work = load(appeal_queries.workload, f)
metric_row([(tr("home.appeals_open"), work["open"]), (tr("home.overdue_open"), work["overdue"]),
            (tr("appeals.due_soon"), work["due_soon"])])
total = load(appeal_queries.count_appeals, f)
rows = load(appeal_queries.list_appeals, f, order="due" if view != "all" else "newest")
if total > len(rows):
    st.caption(tr("appeals.limited", limit=len(rows)))
st.caption(tr("appeals.click_row"))
clicked = appeal_table(rows, key="appeal_table", show_street=scope("appeal.read") != "street",
                       selectable=True)
if clicked is not None:
    st.session_state.pop("appeal_table", None)  # back here later: nothing selected
    st.switch_page("pages/appeal.py", query_params={"code": clicked})

options = {r["code"]: f"{r['code']} · {r['title']}" for r in rows}
chosen = st.selectbox(tr("appeals.open_one"), list(options), format_func=options.get,
                      index=None, key="appeal_open", placeholder=tr("appeals.open_hint"))
if chosen is not None:
    st.session_state.pop("appeal_open", None)
    st.switch_page("pages/appeal.py", query_params={"code": chosen})
