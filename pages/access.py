"""权限表 (admin): the capability table every service checks, and the appeal lifecycle."""

import streamlit as st

from crm.services import access_admin
from crm.ui.actions import load
from crm.ui.state import labeller, require_page, tr

require_page("access")
st.title(tr("access.title"))
st.caption(tr("access.caption"))

role_label = labeller("role")
matrix = load(access_admin.capability_matrix)
table = [{tr("access.col.capability"): tr(f"cap.{row['capability']}"),
          **{role_label(role): tr(f"scope.{row[role]}") if row[role] else "—"
             for role in matrix["roles"]}}
         for row in matrix["rows"]]
st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1))

st.subheader(tr("access.lifecycle"))
status_label = labeller("status")
st.dataframe([{tr("access.col.action"): tr(f"cap.{row['capability']}"),
               tr("access.col.from"): "、".join(status_label(s) for s in row["sources"]),
               tr("access.col.to"): status_label(row["target"]) if row["target"] else "—",
               tr("access.col.guards"): "、".join(tr(f"guard.{g}") for g in row["guards"])
               or "—"}
              for row in load(access_admin.lifecycle)],
             hide_index=True, width="stretch")

# The job-fair machines: a firm's sign-up to a fair and a hiring need (用工需求).
st.subheader(tr("access.jobfair_lifecycles"))
machines = load(access_admin.job_fair_lifecycles)
for name, action_key, state_kind in (("fair_participation", "jobfair.action", "participation"),
                                     ("hiring_need", "hiring.action", "hiring_status")):
    state_label = labeller(state_kind)
    st.dataframe([{tr("access.col.action"): tr(f"{action_key}.{row['action']}"),
                   tr("access.col.from"): "、".join(state_label(s) for s in row["sources"]),
                   tr("access.col.to"): state_label(row["target"]) if row["target"] else "—",
                   tr("access.col.capability"): tr(f"cap.{row['capability']}")}
                  for row in machines[name]],
                 hide_index=True, width="stretch", key=f"access_{name}")
