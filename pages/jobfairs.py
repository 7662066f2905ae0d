"""招聘会: every fair the role may see compared (funnel, fill rate) as of a day, each
opening to its board; employment staff create a fair here."""

import streamlit as st

from crm.services import jobfair_report, jobfairs, visits
from crm.ui import jobfair_view as jv
from crm.ui.actions import load, read, run_action
from crm.ui.state import can, labeller, require_page, tr

actor = require_page("jobfairs")
st.title(tr("jobfair.list_title"))
today = read(visits.local_today)


def open_board(fair_id: int) -> None:
    st.session_state["fair_id"] = fair_id
    st.switch_page("pages/jobfair.py")


if can("jobfair.manage"):
    streets = {s["id"]: s["name"] for s in load(jobfairs.street_choices)}
    with st.expander(tr("jobfair.new"), expanded=False), st.form("fair_new"):
        name = st.text_input(tr("jobfair.name"), key="fair_new_name", max_chars=100)
        left, mid, right = st.columns(3)
        held_on = left.date_input(tr("col.held_on"), value=today, key="fair_new_day")
        kind = mid.selectbox(tr("jobfair.col.kind"), jobfairs.FAIR_KINDS,
                             format_func=labeller("fair_kind"), key="fair_new_kind")
        street_names = {None: tr("jobfair.district"), **streets}
        street = right.selectbox(tr("jobfair.street"), list(street_names),
                                 format_func=street_names.get, key="fair_new_street")
        place = st.text_input(tr("col.place"), key="fair_new_place", max_chars=100)
        note = st.text_area(tr("jobfair.note"), key="fair_new_note")
        if st.form_submit_button(tr("jobfair.create"), type="primary"):
            fair = run_action(jobfairs.create_fair, name=name, held_on=held_on, place=place,
                              street_id=street, kind=kind, note=note)
            if fair is not None:
                open_board(fair.id)

as_of = st.date_input(tr("jobfair.as_of"), value=today, key="fairs_as_of")
rows = load(jobfair_report.report, as_of=as_of)
if not rows:
    st.info(tr("home.no_fairs"))
    st.stop()
rows = list(reversed(rows))  # latest first
st.subheader(tr("jobfair.compare"))
st.caption(tr("jobfair.compare_hint"))
picked = jv.fair_rows_table(rows, key="fairs_table")
if picked is not None:
    open_board(rows[picked]["id"])
jv.comparison_chart(rows)
choice = st.selectbox(tr("jobfair.open"), [r["id"] for r in rows], key="fairs_open",
                      format_func={r["id"]: f"{r['held_on']:%Y-%m-%d} {r['fair']}"
                                   for r in rows}.get)
if st.button(tr("jobfair.open_board"), key="fairs_open_button"):
    open_board(choice)
