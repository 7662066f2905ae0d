"""审计日志 (admin): search the audit log by record, user and date; before/after readable."""

import streamlit as st

from crm.services import audit
from crm.ui.actions import read
from crm.ui.state import require_page, tr

require_page("audit")
st.title(tr("audit.title"))
st.caption(tr("audit.caption"))

ANY = tr("audit.any")
with st.form("audit_search"):
    c1, c2, c3 = st.columns(3)
    entity = c1.selectbox(tr("audit.entity"), [ANY, *read(audit.entities)], key="audit_entity")
    entity_id = c2.number_input(tr("audit.entity_id"), min_value=0, step=1, value=0,
                                key="audit_entity_id")
    code = c3.text_input(tr("audit.code"), key="audit_code")
    c4, c5, c6 = st.columns(3)
    user = c4.text_input(tr("audit.user"), key="audit_user")
    date_from = c5.date_input(tr("audit.date_from"), value=None, key="audit_from")
    date_to = c6.date_input(tr("audit.date_to"), value=None, key="audit_to")
    if st.form_submit_button(tr("audit.search"), key="audit_go"):
        st.session_state["audit_page"] = 1

query = audit.AuditQuery(entity=None if entity == ANY else entity,
                         entity_id=int(entity_id) or None, code=code.strip() or None,
                         user=user.strip() or None, date_from=date_from, date_to=date_to)
page = int(st.session_state.get("audit_page", 1))
result = read(audit.search, query, page=page - 1)
pages = max(1, -(-result["total"] // result["page_size"]))
if not result["rows"]:
    st.info(tr("audit.none"))
    st.stop()
st.caption(tr("audit.total", total=result["total"], page=page, pages=pages))
st.dataframe([{tr("audit.col.at"): row["at"].strftime("%Y-%m-%d %H:%M:%S"),
               tr("audit.col.user"): row["user"] or "—",
               tr("audit.col.action"): row["action"],
               tr("audit.col.record"): f"{row['entity']} #{row['entity_id']}"
               if row["entity_id"] is not None else row["entity"],
               tr("audit.col.change"): audit.describe_change(row["before"], row["after"]),
               tr("audit.col.detail"): audit.describe_detail(row["detail"])}
              for row in result["rows"]], hide_index=True, width="stretch")
if pages > 1:
    st.number_input(tr("audit.page"), min_value=1, max_value=pages, step=1, key="audit_page")
