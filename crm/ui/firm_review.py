"""Unconfirmed firms (created by appeal ledgers): confirm each, or merge it into a firm.

Shown on the 企业 page (a liaison: their street's) and on 基础数据 (an administrator:
all); every change goes through crm.services.firm_admin.
"""

from __future__ import annotations

import streamlit as st

from crm.services import enterprises, firm_admin
from crm.ui.actions import read, run_action
from crm.ui.state import tr
from crm.ui.widgets import flash, records_table


def unconfirmed_firms(key: str) -> None:
    rows = read(firm_admin.list_unconfirmed)
    if not rows:
        return
    st.subheader(tr("firms.unconfirmed"))
    st.caption(tr("firms.unconfirmed_help"))
    records_table(rows, {"name": "col.enterprise", "uscc": "col.uscc", "street": "col.street",
                         "appeals": "firms.appeals"}, key=f"{key}_table")
    names = {row["id"]: row["name"] for row in rows}
    chosen = st.selectbox(tr("firms.pick"), options=list(names), format_func=names.get,
                          index=None, key=f"{key}_pick")
    if chosen is None:
        return
    left, right = st.columns(2)
    with left.form(f"{key}_confirm"):
        code = st.text_input(tr("col.uscc"), key=f"{key}_uscc",
                             value=next(r["uscc"] for r in rows if r["id"] == chosen) or "")
        if st.form_submit_button(tr("firms.confirm")) and run_action(
                firm_admin.confirm_enterprise, chosen, uscc=code.strip() or None) is not None:
            flash(tr("firms.confirmed", name=names[chosen]))
            st.rerun()
    with right:
        query = st.text_input(tr("firms.merge_search"), key=f"{key}_query")
        found = {r["id"]: f'{r["name"]}（{r["uscc"]}）'
                 for r in read(enterprises.search, query, limit=50) if r["id"] not in names}
        target = st.selectbox(tr("firms.merge_into"), options=list(found),
                              format_func=found.get, index=None, key=f"{key}_target")
        if st.button(tr("firms.merge"), key=f"{key}_merge", disabled=target is None) and \
                run_action(firm_admin.merge_enterprise, chosen, target) is not None:
            flash(tr("firms.merged", name=names[chosen], target=found[target]))
            st.rerun()
