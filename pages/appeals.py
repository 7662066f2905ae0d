"""诉求: the appeals the user may see, with counts per status and a status filter."""

import streamlit as st

from crm.services import dashboard
from crm.ui.actions import load
from crm.ui.state import lbl, require_page, tr
from crm.ui.widgets import appeal_table

require_page("appeals")
st.title(tr("appeals.title"))

counts = load(dashboard.status_counts)
shown = [status for status, n in counts.items() if n] or list(counts)
for column, status in zip(st.columns(len(shown)), shown, strict=True):
    column.metric(lbl("status", status), counts[status])

captions = {None: tr("appeals.all_statuses", n=sum(counts.values())),
            **{s: f"{lbl('status', s)} ({n})" for s, n in counts.items()}}
status = st.selectbox(tr("appeals.filter_status"), options=list(captions), key="appeal_status",
                      format_func=captions.__getitem__)
rows = load(dashboard.list_appeals, status=status)
if len(rows) >= dashboard.LIST_LIMIT:
    st.caption(tr("appeals.limited", limit=dashboard.LIST_LIMIT))
appeal_table(rows, key="appeal_table")
