"""Odoo 同步 (admin): the last runs, "run now", and the connection and behaviour settings."""

import streamlit as st

from crm.services import odoo_admin
from crm.services.odoo_admin import APPEAL_FALLBACKS, PROTOCOLS, WINNERS
from crm.ui.actions import read, run_action
from crm.ui.plain import plain
from crm.ui.state import can, labeller, require_page, tr
from crm.ui.widgets import flash, records_table, show_flash

require_page("odoo")
st.title(tr("odoo.title"))
st.caption(tr("odoo.caption"))
show_flash()

left, right = st.columns(2)
with left.form("odoo_run", border=True):
    only = st.selectbox(tr("odoo.only"), [None, "firms", "appeals"], key="odoo_only",
                        format_func=lambda v: tr(f"odoo.only.{v or 'all'}"))
    dry_run = st.checkbox(tr("odoo.dry_run"), key="odoo_dry_run", help=tr("odoo.dry_run_help"))
    if st.form_submit_button(tr("odoo.run_now"), type="primary"):
        bar = st.progress(0.0, text=tr("odoo.running"))
        stages = {"firms → Odoo": "odoo.stage.firms_push", "Odoo → firms": "odoo.stage.firms_pull"}

        def progress(stage: str, done: int, total: int) -> None:
            label = tr(stages.get(stage, "odoo.stage.appeals"))
            bar.progress(min(done / total, 1.0) if total else 1.0,
                         text=f"{label} {done:,}/{total:,}")

        result = run_action(odoo_admin.run_now, only=only, dry_run=dry_run, progress=progress)
        if result is not None:
            flash(tr("odoo.run_done", status=tr(f"odoo.status.{result.status}"),
                     **result.summary))
            st.rerun()
if right.button(tr("odoo.check"), key="odoo_check"):
    info = run_action(odoo_admin.check_connection)
    if info is not None:
        right.success(tr("odoo.check_ok", version=plain(info["server_version"]), uid=info["uid"],
                         helpdesk=tr("odoo.helpdesk_yes" if info["helpdesk"]
                                     else "odoo.helpdesk_no")))

st.subheader(tr("odoo.runs"))
runs = read(odoo_admin.recent_runs)
records_table(runs, {"id": "odoo.col.run", "started_at": "odoo.col.started",
                     "finished_at": "odoo.col.finished", "scope": "odoo.col.scope",
                     "dry_run": "odoo.dry_run", "status": "odoo.col.status",
                     "actor": "odoo.col.actor", "created": "odoo.col.created",
                     "updated": "odoo.col.updated", "unchanged": "odoo.col.unchanged",
                     "conflicts": "odoo.col.conflicts", "errors": "odoo.col.errors"},
              key="odoo_runs", datetimes=("started_at", "finished_at"),
              labels={"status": "odoo.status", "scope": "odoo.only"}, empty="odoo.no_runs")
if runs and runs[0]["issues"]:
    with st.expander(tr("odoo.issues", run=runs[0]["id"], n=len(runs[0]["issues"]))):
        kind = labeller("odoo.kind")
        st.dataframe([{tr("odoo.col.kind"): kind(i["kind"]),
                       tr("odoo.col.entity"): i["entity"] or "—",
                       tr("odoo.col.local"): i["local_id"], tr("odoo.col.remote"): i["remote_id"],
                       tr("odoo.col.message"): i["message"]} for i in runs[0]["issues"]],
                     hide_index=True, width="stretch", key="odoo_issues")

if can("odoo.configure"):
    st.subheader(tr("odoo.settings"))
    current = read(odoo_admin.odoo_settings_view)
    st.caption(tr("odoo.settings_caption"))
    with st.form("odoo_settings", border=True):
        a, b = st.columns(2)
        url = a.text_input(tr("odoo.url"), value=current["url"] or "", key="odoo_url",
                           placeholder="http://127.0.0.1:8069")
        db = b.text_input(tr("odoo.db"), value=current["db"] or "", key="odoo_db")
        user = a.text_input(tr("odoo.user"), value=current["user"] or "", key="odoo_user")
        source = current["password_source"]
        # a new key after each save: the browser drops what was typed (typed once, never
        # shown back; clearing the widget's state is not enough, the page keeps the value)
        generation = st.session_state.setdefault("odoo_password_generation", 0)
        password = b.text_input(
            tr("odoo.password"), value="", type="password",
            key=f"odoo_password_{generation}",
            help=tr("odoo.password_help"),
            placeholder=tr(f"odoo.password_from.{source}") if source else "")
        protocol = a.selectbox(tr("odoo.protocol"), PROTOCOLS, key="odoo_protocol",
                               index=PROTOCOLS.index(current["protocol"])
                               if current["protocol"] in PROTOCOLS else 0)
        timeout = b.number_input(tr("odoo.timeout"), min_value=1.0, max_value=600.0,
                                 value=float(current["timeout"]), key="odoo_timeout")
        winner = a.selectbox(tr("odoo.winner"), WINNERS, key="odoo_winner",
                             index=WINNERS.index(current["conflict_winner"]),
                             format_func=labeller("odoo.winner"))
        fallback = b.selectbox(tr("odoo.fallback"), APPEAL_FALLBACKS, key="odoo_fallback",
                               index=APPEAL_FALLBACKS.index(current["appeal_fallback"]))
        forget = st.checkbox(tr("odoo.forget_password"), key="odoo_forget",
                             disabled=source != "page")
        if st.form_submit_button(tr("odoo.save"), type="primary"):
            changes = {"url": url, "db": db, "user": user, "protocol": protocol,
                       "timeout": timeout, "conflict_winner": winner,
                       "appeal_fallback": fallback}
            if password:
                changes["password"] = password
            elif forget:
                changes["password"] = None
            changed = run_action(odoo_admin.save_odoo_settings, **changes)
            if changed is not None:
                st.session_state["odoo_password_generation"] = generation + 1
                flash(tr("odoo.saved", n=len(changed)))
                st.rerun()
