"""记录走访: one form for a visit — firm, date, way, notes, policies delivered, appeals raised."""

import streamlit as st

from crm.services import appeal_queries, assignment_queries, dashboard, visits
from crm.services.firm_search import search_firms
from crm.services.vocab import COLLATERAL
from crm.ui.actions import load, read, run_action
from crm.ui.plain import plain
from crm.ui.state import can, labeller, require_page, scope, tr

actor = require_page("visit")
st.title(tr("visit.title"))

preset = st.session_state.pop("visit_firm", None)
if scope("visit.record") == "own_firms":
    firms = {f["id"]: f["name"] for f in load(dashboard.cadre_firms)}
    if not firms:
        st.info(tr("home.no_firms"))
        st.stop()
else:
    query = st.text_input(tr("log.find_firm"), key="visit_query",
                          placeholder=tr("log.find_hint"))
    hits = read(search_firms, query) if query.strip() else []
    firms = {h.id: f"{h.name}（{h.street or '—'}）" for h in hits}
    if query.strip() and not hits:
        st.info(tr("visit.no_match"))
if preset in firms:
    st.session_state["visit_enterprise"] = preset
elif firms and st.session_state.get("visit_enterprise") not in firms:
    st.session_state["visit_enterprise"] = next(iter(firms))
firm_id = st.selectbox(tr("col.enterprise"), list(firms), format_func=firms.get,
                       key="visit_enterprise", placeholder=tr("log.pick_firm"))

today = read(visits.local_today)
policies = {p["id"]: p["title"] for p in load(visits.policies)}
categories = {c["id"]: c["name"] for c in load(appeal_queries.categories)}
visitors = {}
if scope("visit.credit") != "self":
    visitors = {0: tr("visit.by_me"), **{p["id"]: f"{p['name']}（{p['street'] or '—'}）"
                                         for p in load(assignment_queries.people)}}

with st.form("visit_form", clear_on_submit=True):
    left, mid, right = st.columns(3)
    visited_on = left.date_input(tr("col.visited_on"), value=today,
                                 max_value=today, key="visit_date")
    way = mid.selectbox(tr("col.way"), list(visits.VISIT_WAYS), format_func=labeller("visit_way"),
                        key="visit_way")
    person = right.selectbox(tr("col.visitor"), list(visitors), format_func=visitors.get,
                             key="visit_person") if visitors else None
    notes = st.text_area(tr("visit.notes"), key="visit_notes",
                         placeholder=tr("visit.notes_hint"))
    chosen_policies = st.multiselect(tr("visit.policies"), list(policies),
                                     format_func=policies.get, key="visit_policies")
    st.markdown(f"**{tr('visit.appeal_heading')}**")
    raise_appeal = st.checkbox(tr("visit.raise_appeal"), key="visit_raise")
    category = st.selectbox(tr("col.category"), list(categories), format_func=categories.get,
                            key="visit_category")
    title = st.text_input(tr("log.appeal_title"), key="visit_appeal_title", max_chars=200)
    description = st.text_area(tr("log.description"), key="visit_appeal_description")
    need = {}
    if can("financing.raise"):  # a need for money heard on the visit goes to the chamber
        st.markdown(f"**{tr('visit.financing_heading')}**")
        raise_need = st.checkbox(tr("visit.raise_need"), key="visit_need")
        left, mid, right = st.columns(3)
        amount = left.number_input(tr("col.amount_wan"), min_value=0.0, step=10.0,
                                   key="visit_need_amount")
        term = mid.number_input(tr("col.term_months"), min_value=0, step=6,
                                key="visit_need_term")
        collateral = right.selectbox(tr("col.collateral"), [None, *COLLATERAL],
                                     format_func=lambda c: "—" if c is None
                                     else labeller("collateral")(c), key="visit_need_collateral")
        purpose = st.text_input(tr("col.purpose"), key="visit_need_purpose", max_chars=200)
        if raise_need:
            need = {"amount": amount, "term_months": int(term) or None,
                    "collateral": collateral, "purpose": purpose}
    submitted = st.form_submit_button(tr("visit.submit"), type="primary")

if submitted:
    if firm_id is None:
        st.error(tr("log.pick_firm"))
    else:
        raised = [{"category_id": category, "title": title, "description": description}] \
            if raise_appeal else []
        saved = run_action(visits.save_visit, enterprise_id=firm_id, way=way,
                           visited_on=visited_on, notes=notes, policy_ids=chosen_policies,
                           person_id=person or None, appeals=raised, financing=need or None)
        if saved is not None:
            st.success(tr("visit.saved"))
            for appeal in saved["appeals"]:
                st.success(tr("log.saved", code=plain(appeal["code"]),
                              due=appeal["due_date"].isoformat()))
            if saved["financing_needs"]:
                st.success(tr("visit.need_saved"))
