"""企业: find a firm by name or credit code, then see everything about it in one place."""

import streamlit as st

from crm.services import enterprises
from crm.services.firm_search import street_outside_scope
from crm.ui.actions import load, read
from crm.ui.firm_review import unconfirmed_firms
from crm.ui.plain import plain
from crm.ui.state import can, lbl, require_page, tr
from crm.ui.widgets import facts_list, fmt_amount, fmt_date, fmt_rate, records_table

actor = require_page("enterprises")
st.title(tr("enterprises.title"))
if can("firm.review"):
    unconfirmed_firms("ent_firms")

# /enterprises?uscc=… opens that firm (within scope: outside it, "not found")
linked = st.query_params.get("uscc", "").strip()
linked_id = read(enterprises.firm_id_by_uscc, linked) if linked else None

query = st.text_input(tr("enterprises.search"), key="ent_query",
                      placeholder=tr("enterprises.search_hint"))
found = load(enterprises.search, query)
total = load(enterprises.count, query)
st.caption(tr("enterprises.showing", shown=len(found), total=total))
if query.strip() and not found:
    elsewhere = read(street_outside_scope, query)
    if elsewhere:  # a firm of another street: say whose, rather than just "none"
        st.warning(tr("enterprises.other_street", street=elsewhere))
records_table(found, {"name": "col.enterprise", "uscc": "col.uscc", "street": "col.street",
                      "industry": "col.industry", "size": "col.size"},
              key="ent_table", labels={"size": "size"}, empty="enterprises.none")

names = {row["id"]: row["name"] for row in found}
if linked_id is not None and linked_id not in names:
    names = {linked_id: load(enterprises.detail, linked_id)["facts"]["name"], **names}
if linked_id is not None and st.session_state.get("ent_linked") != linked:
    st.session_state["ent_linked"] = linked  # the address chooses once; the box after
    st.session_state["ent_pick"] = linked_id
chosen = st.selectbox(tr("enterprises.pick"), options=list(names), format_func=names.get,
                      index=None, key="ent_pick", placeholder=tr("enterprises.pick_hint"))
if chosen is None:
    st.stop()

firm = load(enterprises.detail, chosen)
facts = firm["facts"]
st.header(plain(facts["name"]))
if firm["tags"] or firm["chambers"] or facts["is_above_scale"]:
    badges = ([tr("enterprises.above_scale")] if facts["is_above_scale"] else []) \
        + firm["tags"] + firm["chambers"]
    st.markdown(" ".join(f":blue-badge[{plain(name)}]" for name in badges))

tabs = st.tabs([tr("enterprises.tab.facts"), tr("enterprises.tab.appeals"),
                tr("enterprises.tab.service"), tr("enterprises.tab.financing"),
                tr("enterprises.tab.job_fairs")])
with tabs[0]:
    left, right = st.columns(2)
    left.markdown(facts_list((
        ("col.uscc", facts["uscc"]), ("col.street", facts["street"]),
        ("col.community", facts["community"]), ("col.building", facts["building"]),
        ("col.address", facts["address"]))))
    capital = facts["registered_capital"]
    right.markdown(facts_list((
        ("col.industry", facts["industry"]), ("col.size", lbl("size", facts["size"])),
        ("col.legal_rep", facts["legal_rep"]),
        ("col.registered_on", fmt_date(facts["registered_on"])),
        ("col.registered_capital", fmt_amount(capital)))))
    st.subheader(tr("enterprises.contacts"))
    records_table(firm["contacts"], {"name": "col.name", "title": "col.job_title",
                                     "phone": "col.phone"}, key="ent_contacts")
with tabs[1]:
    records_table(firm["appeals"], {"code": "col.code", "title": "col.title",
                                    "category": "col.category", "status": "col.status",
                                    "received_at": "col.received_at", "due_date": "col.due_date",
                                    "lead_unit": "col.lead_unit",
                                    "satisfaction": "col.satisfaction"},
                  key="ent_appeals", dates=("due_date",), datetimes=("received_at",),
                  labels={"status": "status", "satisfaction": "satisfaction"})
with tabs[2]:
    st.subheader(tr("enterprises.assignments"))
    records_table(firm["assignments"], {"kind": "col.assignment_kind", "person": "col.person",
                                        "unit": "col.unit", "start_date": "col.start_date",
                                        "end_date": "col.end_date"},
                  key="ent_assignments", dates=("start_date", "end_date"),
                  labels={"kind": "assignment"})
    st.subheader(tr("enterprises.visits"))
    records_table(firm["visits"], {"visited_on": "col.visited_on", "way": "col.way",
                                   "person": "col.person", "notes": "col.notes"},
                  key="ent_visits", dates=("visited_on",), labels={"way": "visit_way"})
with tabs[3]:
    st.subheader(tr("enterprises.needs"))
    records_table(firm["financing"]["needs"], {
        "requested_on": "col.requested_on", "amount": "col.amount_wan",
        "purpose": "col.purpose", "term_months": "col.term_months",
        "collateral": "col.collateral", "status": "col.status", "chamber": "col.chamber"},
        key="ent_financing", dates=("requested_on",),
        labels={"collateral": "collateral", "status": "need_status"})
    st.subheader(tr("enterprises.loans"))
    records_table(firm["financing"]["loans"], {
        "bank": "col.bank", "product": "col.product", "status": "col.status",
        "approved_amount": "col.approved_wan", "approved_on": "col.approved_on",
        "disbursed_amount": "col.disbursed_wan", "disbursed_on": "col.disbursed_on"},
        key="ent_loans", dates=("approved_on", "disbursed_on"),
        labels={"status": "match_status"})
with tabs[4]:
    records_table([{**r, "fill_rate": fmt_rate(r["fill_rate"])} for r in firm["job_fairs"]],
                  {"fair": "col.fair", "held_on": "col.held_on", "title": "jobfair.col.title",
                   "headcount": "jobfair.headcount", "applicants": "stage.applicants",
                   "intents": "stage.intents", "medical_checks": "stage.medical_checks",
                   "hired": "stage.hired", "retained_90d": "stage.retained_90d",
                   "fill_rate": "jobfair.fill_rate", "status": "col.status"},
                  key="ent_fairs", dates=("held_on",), labels={"status": "participation"})
    if firm["hiring_needs"]:
        st.subheader(tr("nav.hiring_needs"))
        records_table(firm["hiring_needs"], {"requested_on": "col.requested_on",
                                             "headcount": "jobfair.headcount",
                                             "positions": "jobfair.col.title",
                                             "status": "col.status", "appeal": "hiring.appeal"},
                      key="ent_needs", dates=("requested_on",),
                      labels={"status": "hiring_status"})
