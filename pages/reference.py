"""基础数据 (admin): categories' time limits, handling units, the policy list, the calendar."""

import streamlit as st

from crm.services import admin, calendar_admin, category_words, policies
from crm.ui.actions import read, run_action
from crm.ui.financing_review import unconfirmed_banks, unconfirmed_chambers
from crm.ui.firm_review import unconfirmed_firms
from crm.ui.state import lbl, require_page, tr
from crm.ui.widgets import edited_rows, flash, show_flash

require_page("reference")
st.title(tr("reference.title"))
show_flash()


def save(service, changes: dict, editor_key: str) -> None:
    """One transaction for the whole table; on success start the editor afresh."""
    if run_action(service, changes) is not None:
        flash(tr("reference.saved", n=len(changes)))
        del st.session_state[editor_key]
        st.rerun()


st.subheader(tr("reference.categories"))
st.caption(tr("reference.categories_help"))
categories = read(admin.list_categories)
edited = st.data_editor(
    [{"id": c["id"], "name": c["name"], "limit_days": c["limit_days"]} for c in categories],
    key="category_editor", hide_index=True, disabled=["id", "name"], width="content",
    column_config={"id": None, "name": st.column_config.TextColumn(tr("col.category")),
                   "limit_days": st.column_config.NumberColumn(
                       tr("col.limit_days"), min_value=admin.MIN_LIMIT_DAYS,
                       max_value=admin.MAX_LIMIT_DAYS, step=1)})
limits = {row_id: change["limit_days"]
          for row_id, change in edited_rows(edited, categories, ("limit_days",)).items()}
if st.button(tr("reference.save_categories"), key="save_categories", disabled=not limits,
             type="primary"):
    save(admin.update_category_limits, limits, "category_editor")

st.subheader(tr("reference.units"))
st.caption(tr("reference.units_help"))
units = read(admin.list_units)
edited_units = st.data_editor(
    [{"id": u["id"], "name": u["name"], "kind": lbl("unit_kind", u["kind"]),
      "street": u["street"] or "", "confirmed": u["confirmed"]} for u in units],
    key="unit_editor", hide_index=True, disabled=["id", "kind", "street"], width="stretch",
    column_config={"id": None, "name": st.column_config.TextColumn(tr("col.unit"), required=True),
                   "kind": st.column_config.TextColumn(tr("col.unit_kind")),
                   "street": st.column_config.TextColumn(tr("col.street")),
                   "confirmed": st.column_config.CheckboxColumn(tr("col.confirmed"))})
unit_changes = edited_rows(edited_units, units, ("name", "confirmed"))
if st.button(tr("reference.save_units"), key="save_units", disabled=not unit_changes,
             type="primary"):
    save(admin.update_units, unit_changes, "unit_editor")

st.subheader(tr("reference.category_words"))
st.caption(tr("reference.category_words_help"))
word_rows = read(category_words.list_words)
if word_rows:
    edited_words = st.data_editor(
        [{"id": w["id"], "word": w["word"], "seen": w["seen"], "category": w["category"]}
         for w in word_rows],
        key="category_word_editor", hide_index=True, disabled=["id", "word", "seen"],
        width="content",
        column_config={"id": None, "word": st.column_config.TextColumn(tr("col.word")),
                       "seen": st.column_config.NumberColumn(tr("col.seen")),
                       "category": st.column_config.SelectboxColumn(
                           tr("col.category"), options=[c["name"] for c in categories])})
    word_changes = {row_id: change["category"] for row_id, change in
                    edited_rows(edited_words, word_rows, ("category",)).items()}
    if st.button(tr("reference.save_category_words"), key="save_category_words",
                 disabled=not word_changes, type="primary"):
        save(category_words.map_words, word_changes, "category_word_editor")
else:
    st.info(tr("reference.no_category_words"))

unconfirmed_firms("ref_firms")
unconfirmed_chambers()
unconfirmed_banks()

st.subheader(tr("reference.policies"))
st.caption(tr("reference.policies_help"))
policy_rows = read(policies.list_policies)
edited_policies = st.data_editor(
    policy_rows, key="policy_editor", hide_index=True, disabled=["id"], width="stretch",
    column_config={"id": None,
                   "title": st.column_config.TextColumn(tr("col.policy"), required=True),
                   "issuer": st.column_config.TextColumn(tr("col.issuer")),
                   "active": st.column_config.CheckboxColumn(tr("col.active"))})
policy_changes = edited_rows(edited_policies, policy_rows, ("title", "issuer", "active"))
if st.button(tr("reference.save_policies"), key="save_policies", disabled=not policy_changes,
             type="primary"):
    save(policies.update_policies, policy_changes, "policy_editor")
with st.form("add_policy", clear_on_submit=True):
    left, right = st.columns(2)
    new_title = left.text_input(tr("col.policy"), key="policy_title")
    new_issuer = right.text_input(tr("col.issuer"), key="policy_issuer")
    if st.form_submit_button(tr("reference.add_policy")) and run_action(
            policies.add_policy, new_title, new_issuer) is not None:
        flash(tr("reference.saved", n=1))
        st.rerun()

st.subheader(tr("calendar.title"))
st.caption(tr("calendar.help"))
enabled = read(calendar_admin.working_days_enabled)
wanted = st.toggle(tr("calendar.working_days"), value=enabled, key="working_days_toggle")
if wanted != enabled and run_action(calendar_admin.set_working_days, wanted) is not None:
    flash(tr("reference.saved", n=1))
    st.rerun()
year = st.number_input(tr("calendar.year"), min_value=2000, max_value=2100,
                       value=calendar_admin.current_year(), step=1, key="calendar_year")
days = read(calendar_admin.calendar_days, int(year))
kinds = {False: tr("calendar.holiday"), True: tr("calendar.makeup")}
st.dataframe([{tr("calendar.day"): d["day"].isoformat(),
               tr("calendar.kind"): kinds[d["is_working"]], tr("calendar.note"): d["note"]}
              for d in days],
             hide_index=True, key="calendar_table")
with st.form("calendar_day"):
    left, mid, right = st.columns(3)
    day = left.date_input(tr("calendar.day"), key="calendar_day_input")
    kind = mid.selectbox(tr("calendar.kind"), list(kinds), format_func=kinds.get,
                         key="calendar_kind")
    note = right.text_input(tr("calendar.note"), key="calendar_note")
    add, remove = st.columns(2)
    if add.form_submit_button(tr("calendar.save"), type="primary") and run_action(
            calendar_admin.set_calendar_day, day, kind, note) is not None:
        flash(tr("reference.saved", n=1))
        st.rerun()
    if remove.form_submit_button(tr("calendar.remove")) and run_action(
            calendar_admin.remove_calendar_day, day) is not None:
        flash(tr("reference.saved", n=1))
        st.rerun()
