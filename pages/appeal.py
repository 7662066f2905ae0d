"""诉求详情: the facts, who holds it, the timeline, and only the actions allowed now."""

import streamlit as st

from crm.services import appeal_queries, appeals, financing, hiring
from crm.services.vocab import COLLATERAL
from crm.ui.actions import flash, read, run_action, show_flash
from crm.ui.plain import plain
from crm.ui.state import can, labeller, lbl, require_page, tr
from crm.ui.widgets import facts_list, fmt_date

actor = require_page("appeal")
st.title(tr("detail.title"))
show_flash()


def _typed() -> None:
    st.session_state["detail_lookup"] = st.session_state.get("detail_code_input", "")


# Which appeal: a QF number typed in the box or given in the address (/appeal?code=QF…),
# else an old ?id= link, else the one another page opened. The address then names it.
typed = st.session_state.pop("detail_lookup", None)
if typed is not None and typed.strip():
    st.query_params["code"] = appeal_queries.normalize_code(typed)
box = st.container()
code = appeal_queries.normalize_code(st.query_params.get("code"))
if code:
    st.session_state["detail_code_input"] = code
    box.text_input(tr("detail.open_id"), key="detail_code_input", placeholder="QF…",
                   on_change=_typed)
    st.session_state["appeal_id"] = read(appeal_queries.appeal_id_by_code, code)
elif st.query_params.get("id", "").isdigit():
    st.session_state["appeal_id"] = int(st.query_params["id"])
if "appeal_id" not in st.session_state:
    box.text_input(tr("detail.open_id"), key="detail_code_input", placeholder="QF…",
                   on_change=_typed)
    st.info(tr("detail.pick_hint"))
    st.stop()
a = read(appeal_queries.appeal_detail, st.session_state["appeal_id"])
if not code:
    st.session_state["detail_code_input"] = a["code"]
    box.text_input(tr("detail.open_id"), key="detail_code_input", placeholder="QF…",
                   on_change=_typed)
    st.query_params["code"] = a["code"]
    st.query_params.pop("id", None)

st.header(f"{plain(a['code'])} · {plain(a['title'])}")
status_line = lbl("status", a["status"])
if a["overdue"]:
    status_line += " · " + tr("detail.overdue")
st.markdown(f":blue-badge[{status_line}]")
left, right = st.columns(2)
left.markdown(facts_list([
    (tr("col.enterprise"), a["enterprise"]), (tr("col.street"), a["street"]),
    (tr("col.category"), a["category"]), (tr("log.channel"), lbl("channel", a["channel"])),
    (tr("log.priority"), lbl("priority", a["priority"])),
    (tr("log.contact_name"), a["contact_name"]), (tr("log.contact_phone"), a["contact_phone"]),
]))
right.markdown(facts_list([
    (tr("col.received_at"), a["received_at"].strftime("%Y-%m-%d %H:%M")),
    (tr("col.due_date"), fmt_date(a["due_date"])),
    (tr("detail.extension_days"), a["extension_days"]),
    (tr("col.lead_unit"), a["lead_unit"]),
    (tr("detail.co_units"), "、".join(u["unit"] for u in a["units"]
                                     if u["active"] and u["role"] == "co") or "—"),
    (tr("detail.reopen_count"), a["reopen_count"]),
]))
if a["merged_into_code"]:
    st.info(tr("detail.merged_into", code=a["merged_into_code"]))
if a["last_return"]:
    back = a["last_return"]
    st.warning(tr("detail.returned", unit=back["unit"] or "—", reason=back["reason"] or "—",
                  at=back["at"].strftime("%Y-%m-%d %H:%M")))
if a["external_ref"]:
    st.caption(f"{tr('detail.external_ref')}：{a['external_ref']}")
if a["description"]:
    # a long description stays folded so the actions are still in view
    long_text = len(a["description"]) > 300 or a["description"].count("\n") > 5
    with st.expander(tr("detail.description"), expanded=not long_text):
        st.markdown(plain(a["description"]))
if a["reply_text"]:
    st.success(tr("detail.reply", text=plain(a["reply_text"]),
                  solved=tr("detail.yes") if a["solved"] else tr("detail.no")))
if a["satisfaction"]:
    st.info(tr("detail.callback", satisfaction=lbl("satisfaction", a["satisfaction"]),
               solved=tr("detail.yes") if a["callback_solved"] else tr("detail.no")))
if a["pending_extension"]:
    st.warning(tr("detail.pending_extension",
                  **{k: plain(v) for k, v in a["pending_extension"].items()}))
# 用工: the firm asks for workers; it can become a hiring need (用工需求) for the next fair.
if a["category"] == "用工" and can("hiring.manage") and st.button(
        tr("hiring.make"), key="detail_hiring_need") and run_action(
        hiring.hiring_need_from_appeal, a["id"]) is not None:
    st.success(tr("hiring.saved"))

# The forms are built from the appeal as the user last saw it, and act with that version:
# if someone changed it since, the service refuses with a conflict instead of overwriting.
seen = st.session_state.get("appeal_seen")
if not seen or seen["id"] != a["id"]:
    seen = a
version = seen["version"]
units = {u["id"]: u["name"] for u in read(appeal_queries.units)}
refused = set(a["refused_unit_ids"])


def act(name: str, fn, **kwargs):
    """One action; its confirmation survives the rerun. When the actor no longer sees the
    appeal (a unit that returned it), they land on their inbox with the message."""
    if run_action(fn, a["id"], version=version, **kwargs) is None:
        return
    st.session_state.pop("appeal_seen", None)  # our own change: show it fresh
    flash(tr(f"done.{name}", code=a["code"]))
    if not read(appeal_queries.in_scope, a["id"]):
        st.session_state.pop("appeal_id", None)
        st.query_params.pop("code", None)
        st.switch_page("pages/appeals.py")
    st.rerun()


if seen["actions"]:
    st.subheader(tr("detail.actions"))
    tabs = st.tabs([tr(f"action.{name}") for name in seen["actions"]])
    for tab, name in zip(tabs, seen["actions"], strict=True):
        with tab, st.form(f"act_{name}"):
            if name in ("dispatch", "reassign"):
                # 改派 after a 退单: the category's unit is suggested; a unit that refused
                # the appeal is never preselected (it stays choosable, listed last)
                choices = sorted(units, key=lambda u: u in refused)
                suggested = a["suggested_unit_id"]
                if suggested in units:
                    st.caption(tr("detail.suggested", unit=units[suggested]))
                if refused:
                    st.caption(tr("detail.refused_by", units="、".join(
                        units.get(u, "—") for u in sorted(refused))))
                lead = st.selectbox(tr("col.lead_unit"), choices, format_func=units.get,
                                    key=f"{name}_lead",
                                    index=choices.index(suggested) if suggested in units
                                    else None, placeholder=tr("detail.pick_unit"))
                co = st.multiselect(tr("detail.co_units"), list(units), format_func=units.get,
                                    key=f"{name}_co")
                note = st.text_input(tr("detail.note"), key=f"{name}_note")
                if st.form_submit_button(tr(f"action.{name}"), type="primary"):
                    if lead is None:
                        st.error(tr("detail.pick_unit"))
                    else:
                        act(name, getattr(appeals, name), lead_unit_id=lead,
                            co_unit_ids=co, note=note)
            elif name == "accept":
                if st.form_submit_button(tr("action.accept"), type="primary"):
                    act(name, appeals.accept)
            elif name == "return":
                reason = st.text_area(tr("detail.reason"), key="return_reason")
                if st.form_submit_button(tr("action.return")):
                    act(name, appeals.return_appeal, reason=reason)
            elif name == "reply":
                text = st.text_area(tr("detail.reply_text"), key="reply_text")
                solved = st.checkbox(tr("detail.solved"), key="reply_solved", value=True)
                if st.form_submit_button(tr("action.reply"), type="primary"):
                    act(name, appeals.reply, reply_text=text, solved=solved)
            elif name == "request_extension":
                days = st.number_input(tr("detail.days"), 1, 90, 5, key="ext_days")
                reason = st.text_area(tr("detail.reason"), key="ext_reason")
                if st.form_submit_button(tr("action.request_extension")):
                    act(name, appeals.request_extension, days=int(days), reason=reason)
            elif name == "decide_extension":
                choices = {True: tr("detail.approve"), False: tr("detail.reject")}
                approve = st.radio(tr("detail.decision"), list(choices), key="ext_decision",
                                   format_func=choices.get)
                if st.form_submit_button(tr("action.decide_extension"), type="primary"):
                    act(name, appeals.decide_extension, approve=approve)
            elif name == "callback":
                sat = st.radio(tr("detail.satisfaction"), ["satisfied", "basic", "unsatisfied"],
                               format_func=labeller("satisfaction"), key="cb_sat",
                               horizontal=True)
                solved = st.checkbox(tr("detail.solved"), key="cb_solved", value=True)
                note = st.text_input(tr("detail.note"), key="cb_note")
                if st.form_submit_button(tr("action.callback"), type="primary"):
                    act(name, appeals.callback, satisfaction=sat, solved=solved, note=note)
            elif name == "merge":
                into = st.text_input(tr("detail.merge_into"), key="merge_into",
                                     placeholder="QF…")
                if st.form_submit_button(tr("action.merge")):
                    act(name, appeals.merge, into_code=into)
            else:  # archive, reopen, note
                note = st.text_input(tr("detail.note"), key=f"{name}_text")
                if st.form_submit_button(tr(f"action.{name}"), type="primary"):
                    fn = {"archive": appeals.archive, "reopen": appeals.reopen,
                          "note": appeals.add_note}[name]
                    act(name, fn, note=note)

# financing pages (finui): an appeal about financing (融资) becomes a financing need
if financing.is_financing_appeal(a["category"]) and can("financing.raise"):
    with st.expander(tr("fin.from_appeal")), st.form("fin_from_appeal"):
        st.caption(tr("fin.from_appeal_hint"))
        left, mid, right = st.columns(3)
        amount = left.number_input(tr("fin.amount"), min_value=0.0, value=None, step=10.0,
                                   format="%.2f", key="fin_appeal_amount")
        term = mid.number_input(tr("col.term_months"), min_value=0, value=None, step=6,
                                key="fin_appeal_term")
        collateral = right.selectbox(tr("col.collateral"), COLLATERAL, index=None,
                                     format_func=labeller("collateral"),
                                     key="fin_appeal_collateral",
                                     placeholder=tr("fin.not_said"))
        if st.form_submit_button(tr("fin.from_appeal"), type="primary", key="fin_appeal_go"):
            if amount is None:
                st.error(tr("financing.amount_needed"))
            else:
                need = run_action(financing.need_from_appeal, appeal_id=a["id"], amount=amount,
                                  term_months=int(term) if term else None,
                                  collateral=collateral)
                if need is not None:
                    st.success(tr("fin.from_appeal_done", need_id=need.id))

st.subheader(tr("detail.timeline"))
st.dataframe([{
    tr("detail.at"): e["at"].strftime("%Y-%m-%d %H:%M"),
    tr("detail.step"): tr(f"event.{e['action']}"),
    tr("col.status"): lbl("status", e["to_status"]),
    tr("detail.who"): e["actor"] or "", tr("detail.unit"): e["unit"] or "",
    tr("detail.note"): e["note"] or ""} for e in a["timeline"]],
    hide_index=True, width="stretch", key="timeline")
st.session_state["appeal_seen"] = a
