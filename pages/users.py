"""用户管理 (admin): who may log in, with which role and scope; add a login; change a login's
role and scope, deactivate or reactivate it, reset its password, unlock it."""

import streamlit as st

from crm.services import admin, users
from crm.services.vocab import ROLES
from crm.ui.actions import load, read, run_action
from crm.ui.state import labeller, require_page, tr
from crm.ui.widgets import flash, records_table, show_flash

require_page("users")
st.title(tr("users.title"))
show_flash()

ADD_KEYS = ("new_username", "new_display_name", "new_role", "new_password", "new_street",
            "new_unit", "new_chamber")
CLEAR = "users_clear_keys"
for key in st.session_state.pop(CLEAR, ()):  # a form empties only after it was saved
    st.session_state.pop(key, None)

choices = load(admin.scope_choices)
with st.expander(tr("users.add"), expanded=False, icon=":material/person_add:"):
    with st.form("add_user", border=False):
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
            st.session_state[CLEAR] = ADD_KEYS
            st.rerun()

rows = read(admin.list_users)
records_table(rows,
              {"username": "col.username", "display_name": "col.name", "role": "col.role",
               "street": "col.street", "unit": "col.unit", "chamber": "col.chamber",
               "active": "col.active", "failed_logins": "col.failed_logins",
               "last_login_at": "col.last_login_at"},
              key="user_table", labels={"role": "role"}, datetimes=("last_login_at",))

st.subheader(tr("users.manage"))
by_name = {row["username"]: row for row in rows}
role_label = labeller("role")
name = st.selectbox(tr("users.pick"), list(by_name), index=None, key="manage_user",
                    placeholder=tr("users.pick_hint"),
                    format_func=lambda n: f"{n}（{by_name[n]['display_name']} · "
                                          f"{role_label(by_name[n]['role'])}）")
if name is not None:
    user = by_name[name]
    if not user["active"]:
        st.warning(tr("users.inactive"))

    def _index(options: list[str], value: str | None) -> int | None:
        return options.index(value) if value in options else None

    with st.form(f"role_form:{name}"):
        st.markdown(f"**{tr('users.role_scope')}**")
        left, right = st.columns(2)
        new_role = left.selectbox(tr("col.role"), ROLES, index=ROLES.index(user["role"]),
                                  format_func=role_label, key=f"edit_role:{name}")
        new_street = right.selectbox(tr("col.street"), choices["streets"],
                                     index=_index(choices["streets"], user["street"]),
                                     key=f"edit_street:{name}",
                                     placeholder=tr("users.scope_if_needed"))
        new_unit = left.selectbox(tr("col.unit"), choices["units"],
                                  index=_index(choices["units"], user["unit"]),
                                  key=f"edit_unit:{name}", placeholder=tr("users.scope_if_needed"))
        new_chamber = right.selectbox(tr("col.chamber"), choices["chambers"],
                                      index=_index(choices["chambers"], user["chamber"]),
                                      key=f"edit_chamber:{name}",
                                      placeholder=tr("users.scope_if_needed"))
        if st.form_submit_button(tr("users.save_role"), type="primary") and run_action(
                users.set_role, name, role=new_role, street=new_street, unit=new_unit,
                chamber=new_chamber) is not None:
            flash(tr("users.role_saved", name=name))
            st.rerun()

    st.markdown(f"**{tr('users.account')}**")
    if user["failed_logins"]:
        st.caption(tr("users.failed_recent", n=user["failed_logins"]))
    left, middle, _ = st.columns([1, 1, 3])
    if user["active"]:
        if left.button(tr("users.deactivate"), key=f"deactivate:{name}",
                       icon=":material/person_off:") and run_action(
                users.deactivate_user, name) is not None:
            flash(tr("users.deactivated", name=name))
            st.rerun()
    elif left.button(tr("users.activate"), key=f"activate:{name}",
                     icon=":material/person_check:") and run_action(
            users.activate_user, name) is not None:
        flash(tr("users.activated", name=name))
        st.rerun()
    if middle.button(tr("users.unlock"), key=f"unlock:{name}", icon=":material/lock_open:"):
        cleared = run_action(users.unlock_user, name)
        if cleared is not None:
            flash(tr("users.unlocked", name=name, n=cleared))
            st.rerun()
    with st.form(f"password_form:{name}"):
        new_password = st.text_input(tr("users.new_password"), type="password",
                                     key=f"reset_password:{name}",
                                     help=tr("users.password_help"))
        if st.form_submit_button(tr("users.reset_password")) and run_action(
                users.set_password, name, new_password) is not None:
            flash(tr("users.password_reset", name=name))
            st.session_state[CLEAR] = (f"reset_password:{name}",)
            st.rerun()
