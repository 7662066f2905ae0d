"""通知: the logged-in user's reminders (催办) and supervision flags (督办), read or unread."""

import streamlit as st

from crm.services import notifications
from crm.ui.actions import load, run_action
from crm.ui.queues_view import appeal_url
from crm.ui.state import lbl, require_page, tr
from crm.ui.widgets import date_column, datetime_column, flash, show_flash

actor = require_page("notifications")
st.title(tr("notifications.title"))
show_flash()

unread_only = st.toggle(tr("notifications.unread_only"), key="notifications_unread_only")
rows = load(notifications.list_notifications, unread_only=unread_only)
unread = load(notifications.unread_count)
st.caption(tr("notifications.counts", unread=unread, shown=len(rows)))

if not rows:
    st.info(tr("notifications.none"))
else:
    code, due, sent = tr("col.open_link"), tr("col.due_date"), tr("col.notified_at")
    table = [{tr("col.read_state"): tr("notifications.read" if r["read"]
                                       else "notifications.unread"),
              tr("col.kind"): tr(f"event.{r['kind']}"),
              code: appeal_url(r["code"]), tr("col.title"): r["title"],
              tr("col.enterprise"): r["enterprise"],
              tr("col.lead_unit"): r["lead_unit"] or "—",
              tr("col.status"): lbl("status", r["status"]), due: r["due_date"],
              sent: r["created_at"]} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch", key="notifications_table",
                 column_config={code: st.column_config.LinkColumn(code,
                                                                  display_text=r"code=(.*)$"),
                                due: date_column(due), sent: datetime_column(sent)})

    choices = {r["id"]: " · ".join((tr(f"event.{r['kind']}"), r["code"], r["title"]))
               for r in rows if not r["read"]}
    if choices:
        picked = st.multiselect(tr("notifications.pick"), list(choices), format_func=choices.get,
                                key="notifications_pick")
        left, right = st.columns(2)
        if left.button(tr("notifications.mark_read"), key="notifications_mark",
                       disabled=not picked, type="primary"):
            done = run_action(notifications.mark_read, picked)
            if done is not None:
                flash(tr("notifications.marked", n=done))
                st.rerun()
        if right.button(tr("notifications.mark_all_read"), key="notifications_mark_all"):
            done = run_action(notifications.mark_all_read)
            if done is not None:
                flash(tr("notifications.marked", n=done))
                st.rerun()
