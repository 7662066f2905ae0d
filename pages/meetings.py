"""银企对接会: bank–enterprise meetings — when and where, the banks and firms present, the
needs raised there — and a form to record one (a chamber's clerk: with member firms)."""

import streamlit as st

from crm.services import enterprises, financing, visits
from crm.ui.actions import read, run_action
from crm.ui.state import can, require_page, tr
from crm.ui.widgets import flash, records_table, show_flash

actor = require_page("meetings")
st.title(tr("meet.title"))
show_flash()

meetings = read(financing.list_meetings)
records_table([{**m, "banks": "、".join(m["banks"]), "firms": "、".join(m["firms"])}
               for m in meetings],
              {"held_on": "col.held_on", "title": "meet.name", "place": "col.place",
               "chamber": "col.chamber", "banks": "meet.banks", "firms": "meet.firms",
               "needs": "meet.needs"}, key="meet_table", dates=("held_on",), empty="meet.none")

if can("financing.manage"):
    st.subheader(tr("meet.add"))
    today = read(visits.local_today)
    banks = {b["id"]: b["name"] for b in read(financing.list_banks)}
    query = st.text_input(tr("meet.firm_search"), key="meet_firm_query")
    firms = {f["id"]: f["name"] for f in read(enterprises.search, query)}
    picked = st.session_state.get("meet_firms", [])
    # firms picked before the search changed stay choosable
    firms.update({fid: name for fid, name in st.session_state.get("meet_firm_names", {}).items()
                  if fid in picked})
    with st.form("meet_form"):
        left, right = st.columns(2)
        held_on = left.date_input(tr("col.held_on"), value=today, max_value=today,
                                  key="meet_held_on")
        place = right.text_input(tr("col.place"), key="meet_place")
        title = st.text_input(tr("meet.name"), key="meet_title",
                              placeholder=tr("meet.title_hint"))
        bank_ids = st.multiselect(tr("meet.banks"), list(banks), format_func=banks.get,
                                  key="meet_banks", placeholder=tr("meet.pick_banks"))
        firm_ids = st.multiselect(tr("meet.firms"), list(firms), format_func=firms.get,
                                  key="meet_firms", placeholder=tr("meet.pick_firms"))
        note = st.text_area(tr("meet.note"), key="meet_note")
        if st.form_submit_button(tr("meet.save"), type="primary", key="meet_save"):
            saved = run_action(financing.save_meeting, held_on=held_on, title=title,
                               place=place, bank_ids=bank_ids, enterprise_ids=firm_ids,
                               note=note)
            if saved is not None:
                for key in ("meet_title", "meet_place", "meet_banks", "meet_firms", "meet_note"):
                    st.session_state.pop(key, None)
                flash(tr("meet.saved", title=title.strip()))
                st.rerun()
    st.session_state["meet_firm_names"] = {fid: firms[fid] for fid in firm_ids if fid in firms}
