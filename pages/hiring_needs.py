"""用工需求: firms asking for workers between fairs — from 用工 appeals or entered
directly; open ones head the next fair's invitation list."""

import streamlit as st

from crm.services import hiring, visits
from crm.services.firm_search import search_firms
from crm.ui.actions import load, read, run_action
from crm.ui.state import can, labeller, require_page, tr
from crm.ui.widgets import records_table

actor = require_page("hiring_needs")
st.title(tr("nav.hiring_needs"))
status_names = {None: tr("hiring.all"),
                **{s: labeller("hiring_status")(s) for s in hiring.HIRING_NEED_STATUSES}}
status = st.selectbox(tr("col.status"), list(status_names), key="needs_status",
                      format_func=status_names.get)
needs = load(hiring.list_hiring_needs, status=status)
records_table(needs, {"firm": "col.enterprise", "street": "col.street",
                      "headcount": "jobfair.headcount", "positions": "jobfair.col.title",
                      "requested_on": "col.requested_on", "status": "col.status",
                      "appeal": "hiring.appeal"},
              key="needs_table", dates=("requested_on",), labels={"status": "hiring_status"},
              empty="hiring.none")
if not can("hiring.manage"):
    st.stop()

if needs:
    by_id = {n["id"]: n for n in needs}
    status_of = labeller("hiring_status")
    need_names = {i: f"{n['firm']} · {n['requested_on']} · {status_of(n['status'])}"
                  for i, n in by_id.items()}
    need = st.selectbox(tr("hiring.pick"), list(by_id), key="needs_pick",
                        format_func=need_names.get)
    actions = hiring.need_actions(by_id[need]["status"])
    for col, action in zip(st.columns(max(len(actions), 1)), actions, strict=False):
        if col.button(tr(f"hiring.action.{action}"), key=f"needs_{action}") and run_action(
                hiring.move_hiring_need, need, action,
                version=by_id[need]["version"]) is not None:
            st.rerun()

st.subheader(tr("hiring.from_appeals"))
appeals = load(hiring.hiring_appeals)
if not appeals:
    st.caption(tr("hiring.no_appeals"))
else:
    by_appeal = {a["id"]: a for a in appeals}
    chosen = st.selectbox(tr("hiring.appeal"), list(by_appeal), key="needs_appeal",
                          format_func=lambda a: f"{by_appeal[a]['code']} · "
                          f"{by_appeal[a]['firm']} · {by_appeal[a]['title']}")
    count = st.number_input(tr("jobfair.headcount"), min_value=1, value=None, step=1,
                            key="needs_appeal_headcount")
    if st.button(tr("hiring.make"), key="needs_make") and run_action(
            hiring.hiring_need_from_appeal, chosen,
            headcount=None if count is None else int(count)) is not None:
        st.rerun()

st.subheader(tr("hiring.add"))
query = st.text_input(tr("log.find_firm"), key="needs_query", placeholder=tr("log.find_hint"))
hits = read(search_firms, query) if query.strip() else []
firms = {h.id: f"{h.name}（{h.street or '—'}）" for h in hits}
today = read(visits.local_today)
with st.form("needs_add"):
    firm = st.selectbox(tr("col.enterprise"), list(firms), format_func=firms.get,
                        key="needs_firm", index=None, placeholder=tr("log.pick_firm"))
    a, b = st.columns(2)
    headcount = a.number_input(tr("jobfair.headcount"), min_value=1, value=None, step=1,
                               key="needs_headcount")
    day = b.date_input(tr("col.requested_on"), value=today, max_value=today, key="needs_day")
    positions = st.text_input(tr("jobfair.col.title"), key="needs_positions")
    note = st.text_area(tr("jobfair.note"), key="needs_note")
    if st.form_submit_button(tr("hiring.save"), type="primary"):
        if firm is None:
            st.error(tr("log.pick_firm"))
        elif run_action(hiring.add_hiring_need, enterprise_id=firm, requested_on=day,
                        headcount=None if headcount is None else int(headcount),
                        positions=positions, note=note) is not None:
            st.success(tr("hiring.saved"))
