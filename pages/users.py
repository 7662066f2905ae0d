"""用户管理 (admin): who may log in, with which role and scope; add a login."""

import streamlit as st

from crm.services import admin, users
from crm.services.vocab import ROLES
from crm.ui.actions import load, read, run_action
from crm.ui.state import labeller, require_page, tr
from crm.ui.widgets import flash, records_table, show_flash

require_page("users")
st.title(tr("users.title"))
show_flash()

choices = load(admin.scope_choices)
with st.expander(tr("users.add"), expanded=False, icon=":material/person_add:"):
    with st.form("add_user", clear_on_submit=True, border=False):
        left, right = st.columns(2)
        username = left.text_input(tr("col.username"), key="new_username")
        display_name = right.text_input(tr("col.name"), key="new_display_name")
        role = left.selectbox(tr("col.role"), ROLES, format_func=labeller("role"),
                              key="new_role")
        password = right.text_input(tr("login.password"), type="password", key="new_password",
                                    help=tr("users.password_help"))
        street = left.selectbox(tr("col.street"), choices["streets"], index=None,
                                key="new_street", placeholder=tr("users.scope_if_needed"))
        unit = right.selectbox(tr("col.unit"), choices["units"], index=None, key="new_unit",
                               placeholder=tr("users.scope_if_needed"))
        chamber = left.selectbox(tr("col.chamber"), choices["chambers"], index=None,
                                 key="new_chamber", placeholder=tr("users.scope_if_needed"))
        submitted = st.form_submit_button(tr("users.add_submit"), type="primary")
    if submitted:
        added = run_action(users.add_user, username, role=role,
                           display_name=display_name.strip() or None, street=street,
                           unit=unit, chamber=chamber, password=password or None)
        if added is not None:
            flash(tr("users.added", name=added.username))
            st.rerun()

records_table(read(admin.list_users),
              {"username": "col.username", "display_name": "col.name", "role": "col.role",
               "street": "col.street", "unit": "col.unit", "chamber": "col.chamber",
               "active": "col.active", "last_login_at": "col.last_login_at"},
              key="user_table", labels={"role": "role"}, datetimes=("last_login_at",))
