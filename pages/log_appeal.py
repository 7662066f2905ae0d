"""登记诉求: find the firm (or register it on the spot), then log the appeal in one form."""

import streamlit as st

from crm.services import appeal_queries, appeals, registration
from crm.services.firm_search import search_firms, street_outside_scope
from crm.ui.actions import flash, load, read, run_action, show_flash
from crm.ui.state import labeller, require_page, tr

actor = require_page("log_appeal")
st.title(tr("log.title"))
show_flash()
TITLE_LIMIT = appeal_queries.TITLE_LIMIT
# What the form holds; cleared only once the appeal is saved (a refusal keeps every word).
TYPED = ("log_title", "log_description", "log_contact", "log_phone")
if st.session_state.pop("log_saved", False):
    for key in TYPED:  # set, not deleted: the browser's copy of the fields is reset too
        st.session_state[key] = ""

query = st.text_input(tr("log.find_firm"), key="log_query", placeholder=tr("log.find_hint"))
hits = read(search_firms, query) if query.strip() else []
firms = {h.id: f"{h.name}（{h.uscc}，{h.street or '—'}）" for h in hits}
if st.session_state.get("log_new_firm") in firms:
    pass
elif st.session_state.get("log_new_firm"):
    new_id, new_label = st.session_state["log_new_firm"], st.session_state["log_new_label"]
    firms = {new_id: new_label, **firms}
elsewhere = read(street_outside_scope, query) if query.strip() and not hits else None
if elsewhere:  # a firm of another street: say whose, rather than "no match"
    st.warning(tr("enterprises.other_street", street=elsewhere))
elif query.strip() and not hits:
    st.info(tr("log.no_match"))
if firms and st.session_state.get("log_firm") not in firms:
    st.session_state["log_firm"] = next(iter(firms))  # best match preselected
firm_id = st.selectbox(tr("col.enterprise"), options=list(firms), format_func=firms.get,
                       key="log_firm", placeholder=tr("log.pick_firm"))

with st.expander(tr("log.register"), expanded=bool(query.strip()) and not hits and not elsewhere):
    with st.form("register_firm", clear_on_submit=False):
        uscc = st.text_input(tr("col.uscc"), key="reg_uscc")
        name = st.text_input(tr("log.firm_name"), key="reg_name")
        address = st.text_input(tr("col.address"), key="reg_address")
        contact = st.text_input(tr("log.contact_name"), key="reg_contact")
        phone = st.text_input(tr("log.contact_phone"), key="reg_phone")
        if st.form_submit_button(tr("log.register_submit")):
            firm = run_action(registration.register_enterprise, uscc=uscc, name=name,
                              address=address, contact_name=contact, contact_phone=phone)
            if firm is not None:
                st.session_state["log_new_firm"] = firm.id
                st.session_state["log_new_label"] = f"{firm.name}（{firm.uscc}）"
                st.session_state["log_firm"] = firm.id
                st.rerun()

categories = {c["id"]: f"{c['name']}（{tr('log.limit_days', days=c['limit_days'])}）"
              for c in load(appeal_queries.categories)}
with st.form("log_appeal", clear_on_submit=False):
    category = st.selectbox(tr("col.category"), options=list(categories),
                            format_func=categories.get, key="log_category")
    left, right = st.columns(2)
    channel = left.selectbox(tr("log.channel"), options=list(appeal_queries.CHANNELS),
                             key="log_channel", format_func=labeller("channel"))
    priority = right.selectbox(tr("log.priority"), options=list(appeal_queries.PRIORITIES),
                               key="log_priority", format_func=labeller("priority"))
    # No max_chars: a browser cuts a pasted text at the limit without a word; the limit is
    # shown instead, and a longer title is refused by the service with a message.
    title = st.text_input(tr("log.appeal_title"), key="log_title",
                          help=tr("log.title_limit", limit=TITLE_LIMIT),
                          placeholder=tr("log.title_limit", limit=TITLE_LIMIT))
    description = st.text_area(tr("log.description"), key="log_description")
    left, right = st.columns(2)
    contact_name = left.text_input(tr("log.contact_name"), key="log_contact")
    contact_phone = right.text_input(tr("log.contact_phone"), key="log_phone")
    if st.form_submit_button(tr("log.submit"), type="primary"):
        if firm_id is None:
            st.error(tr("log.pick_firm"))
        else:
            appeal = run_action(appeals.log_appeal, enterprise_id=firm_id, category_id=category,
                                title=title, description=description, channel=channel,
                                priority=priority, contact_name=contact_name,
                                contact_phone=contact_phone)
            if appeal is not None:
                flash(tr("log.saved", code=appeal.code, due=appeal.due_date.isoformat()))
                st.session_state["appeal_id"] = appeal.id
                st.session_state["log_saved"] = True
                st.rerun()
if len(st.session_state.get("log_title") or "") > TITLE_LIMIT:
    st.caption(tr("log.title_count", n=len(st.session_state["log_title"]), limit=TITLE_LIMIT))
