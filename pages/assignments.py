"""包联分配: assign a firm or many (a building's, a filtered list), hand a leaver's firms to a
successor in one step, and export the assignment and visit lists."""

import streamlit as st

from crm.services import assignment_queries, assignments, tabular, visits
from crm.services.firm_search import search_firms
from crm.ui.actions import load, read, run_action
from crm.ui.state import labeller, language, require_page, tr
from crm.ui.widgets import records_table

actor = require_page("assignments")
st.title(tr("assign.title"))

people = {p["id"]: f"{p['name']}（{p['street'] or '—'}，{tr('assign.serving', n=p['firms'])}）"
          for p in load(assignment_queries.people)}
today = read(visits.local_today)


def show_result(result) -> None:
    st.success(tr("assign.result", created=result.created, unchanged=result.unchanged,
                  closed=result.closed, refused=len(result.errors)))
    if result.errors:
        lang = language()
        st.dataframe([{tr("assign.row"): e.row, tr("assign.reason"): e.describe(lang)}
                      for e in result.errors], hide_index=True, key="assign_errors")


one, many, handover, lists = st.tabs([tr("assign.tab.one"), tr("assign.tab.many"),
                                      tr("assign.tab.handover"), tr("assign.tab.list")])

with one:
    kinds = ("cadre_enterprise", "office_enterprise", "leader_building")
    kind = st.radio(tr("col.assignment_kind"), kinds, format_func=labeller("assignment"),
                    horizontal=True, key="assign_kind")
    if kind == "leader_building":
        targets = {b["id"]: f"{b['name']}（{b['street']}）"
                   for b in load(assignment_queries.buildings)}
        target = st.selectbox(tr("col.building"), list(targets), format_func=targets.get,
                              key="assign_building")
    else:
        query = st.text_input(tr("log.find_firm"), key="assign_query",
                              placeholder=tr("log.find_hint"))
        hits = read(search_firms, query) if query.strip() else []
        targets = {h.id: f"{h.name}（{h.uscc}）" for h in hits}
        target = st.selectbox(tr("col.enterprise"), list(targets), format_func=targets.get,
                              key="assign_firm", placeholder=tr("log.pick_firm"))
    if kind == "office_enterprise":
        units = {u["id"]: u["name"] for u in load(assignment_queries.street_units)}
        owner = st.selectbox(tr("col.unit"), list(units), format_func=units.get,
                             key="assign_unit")
    else:
        owner = st.selectbox(tr("col.person"), list(people), format_func=people.get,
                             key="assign_person")
    start = st.date_input(tr("col.start_date"), value=today, max_value=today,
                          key="assign_start")
    replace = st.checkbox(tr("assign.replace"), key="assign_replace",
                          disabled=kind != "cadre_enterprise")
    note = st.text_input(tr("assign.note"), key="assign_note", max_chars=200)
    if st.button(tr("assign.submit"), type="primary", key="assign_submit"):
        if target is None or owner is None:
            st.error(tr("assign.pick_both"))
        elif kind == "cadre_enterprise":
            run_action(assignments.assign_cadre, enterprise_id=target, person_id=owner,
                       start_date=start, note=note, replace=replace, success=tr("assign.saved"))
        elif kind == "office_enterprise":
            run_action(assignments.assign_office, enterprise_id=target, unit_id=owner,
                       start_date=start, note=note, success=tr("assign.saved"))
        else:
            run_action(assignments.assign_building, building_id=target, person_id=owner,
                       start_date=start, note=note, success=tr("assign.saved"))

with many:
    buildings = {None: tr("assign.any_building"),
                 **{b["id"]: f"{b['name']}（{b['street']}，{b['firms']}）"
                    for b in load(assignment_queries.buildings)}}
    left, right = st.columns(2)
    building = left.selectbox(tr("col.building"), list(buildings), format_func=buildings.get,
                              key="bulk_building")
    text = right.text_input(tr("assign.name_contains"), key="bulk_text")
    left, right = st.columns(2)
    uncovered = left.checkbox(tr("assign.uncovered_only"), value=True, key="bulk_uncovered")
    above = right.checkbox(tr("assign.above_only"), key="bulk_above")
    if building is None and not text.strip():
        st.info(tr("assign.filter_first"))
    else:
        firms = load(assignment_queries.firms_to_assign, building_id=building, text=text,
                     uncovered_only=uncovered, above_scale_only=above)
        st.caption(tr("assign.found", n=len(firms)))
        records_table(firms[:200], {"name": "col.enterprise", "uscc": "col.uscc",
                                    "building": "col.building", "cadre": "col.cadre"},
                      key="bulk_firms", empty="enterprises.none")
        with st.form("bulk_assign"):
            person = st.selectbox(tr("col.person"), list(people), format_func=people.get,
                                  key="bulk_person")
            bulk_start = st.date_input(tr("col.start_date"), value=today, max_value=today,
                                       key="bulk_start")
            bulk_replace = st.checkbox(tr("assign.replace"), key="bulk_replace")
            if st.form_submit_button(tr("assign.bulk_submit", n=len(firms)), type="primary"):
                result = run_action(assignments.assign_firms, [f["id"] for f in firms],
                                    person_id=person, start_date=bulk_start,
                                    replace=bulk_replace)
                if result is not None:
                    show_result(result)

with handover:
    st.caption(tr("assign.handover_help"))
    everyone = {p["id"]: f"{p['name']}（{p['street'] or '—'}，"
                         f"{tr('assign.serving', n=p['firms'])}）"
                for p in load(assignment_queries.people, include_inactive=True)}
    with st.form("handover"):
        leaver = st.selectbox(tr("assign.leaver"), list(everyone), format_func=everyone.get,
                              key="handover_from")
        successor = st.selectbox(tr("assign.successor"), list(people), format_func=people.get,
                                 key="handover_to")
        on = st.date_input(tr("assign.handover_on"), value=today, max_value=today,
                           key="handover_on")
        if st.form_submit_button(tr("assign.handover_submit"), type="primary"):
            moved = run_action(assignments.reassign_all, from_person_id=leaver,
                               to_person_id=successor, on_date=on)
            if moved is not None:
                st.success(tr("assign.handed_over", **moved))

with lists:
    active_only = st.checkbox(tr("assign.active_only"), value=True, key="list_active")
    records_table(load(assignment_queries.list_assignments, active_only=active_only),
                  {"kind": "col.assignment_kind", "enterprise": "col.enterprise",
                   "building": "col.building", "person": "col.person", "unit": "col.unit",
                   "street": "col.street", "start_date": "col.start_date",
                   "end_date": "col.end_date"},
                  key="assign_list", dates=("start_date", "end_date"),
                  labels={"kind": "assignment"}, empty="assign.none")
    st.caption(tr("assign.list_limited", limit=assignment_queries.LIST_LIMIT))
    st.markdown(f"**{tr('assign.export')}**")
    exports = {"assignments": (assignment_queries.export_rows, tr("assign.export_assignments")),
               "visits": (visits.export_rows, tr("assign.export_visits"))}
    for name, (fn, caption) in exports.items():
        if st.button(caption, key=f"export_{name}"):
            rows = read(fn)
            st.session_state[f"export_{name}_data"] = (tabular.to_csv(rows),
                                                       tabular.to_xlsx(rows, name))
        ready = st.session_state.get(f"export_{name}_data")
        if ready:
            left, right = st.columns(2)
            left.download_button("CSV", ready[0], file_name=f"{name}.csv", mime="text/csv",
                                 key=f"export_{name}_csv")
            right.download_button("Excel", ready[1], file_name=f"{name}.xlsx",
                                  mime="application/vnd.openxmlformats-officedocument"
                                       ".spreadsheetml.sheet", key=f"export_{name}_xlsx")
