"""招聘会看板: one fair as of a day — firms, positions, the funnel chart, drop-off per
stage and fill rate, every number opening to its records; employment staff sign firms
up, add positions and record the funnel here; the report downloads as Excel."""

import streamlit as st

from crm.services import hiring, jobfair_report, jobfairs, visits
from crm.services.firm_search import search_firms
from crm.ui import jobfair_view as jv
from crm.ui.actions import load, read, run_action
from crm.ui.plain import plain
from crm.ui.state import can, labeller, language, lbl, require_page, tr
from crm.ui.widgets import flash, fmt_rate, metric_row, records_table, show_flash
from etl import app as etl_app

actor = require_page("jobfair")
st.title(tr("nav.jobfair"))
show_flash()
if "id" in st.query_params and st.query_params["id"].isdigit():
    st.session_state["fair_id"] = int(st.query_params["id"])
fairs = {f["id"]: f for f in load(jobfairs.list_fairs)}
if not fairs:
    st.info(tr("home.no_fairs"))
    st.stop()
if st.session_state.get("fair_id") not in fairs:
    st.session_state["fair_id"] = next(iter(fairs))
fair_id = st.selectbox(tr("col.fair"), list(fairs), key="fair_id",
                       format_func=lambda f: f"{fairs[f]['held_on']:%Y-%m-%d} {fairs[f]['name']}")
today = read(visits.local_today)
as_of = st.date_input(tr("jobfair.as_of"), value=today, key="fair_as_of")
board = load(jobfair_report.fair_report, fair_id, as_of=as_of)
fair, totals = board["fair"], board["totals"]
manage = can("jobfair.manage")

st.header(plain(fair["name"]))
st.caption(tr("jobfair.facts", day=fair["held_on"].isoformat(),
              place=plain(fair["place"]) or "—",
              street=plain(fair["street"]) or tr("jobfair.district"),
              kind=lbl("fair_kind", fair["kind"])))
if fair["note"]:
    st.markdown(plain(fair["note"]))
metric_row([(tr("col.firms"), totals["firms"]),
            (tr("jobfair.col.positions"), totals["positions"]),
            (tr("jobfair.headcount"), totals["headcount"]),
            (tr("stage.hired"), totals["hired"]),
            (tr("jobfair.fill_rate"), fmt_rate(totals["fill_rate"])),
            (tr("stage.retained_90d"), jv.retention_text(totals))])
if totals["retention_pending"]:
    st.caption(tr("jobfair.retention_from", day=board["retention_due"].isoformat()))

left, right = st.columns([3, 2])
with left:
    st.subheader(tr("jobfair.funnel"))
    jv.funnel_chart(totals)
with right:
    st.subheader(tr("jobfair.drop_off"))
    jv.drop_off_table(board["drop_off"])
st.download_button(tr("jobfair.download"),
                   load(etl_app.jobfair_xlsx, fair_id, as_of=as_of, lang=language()),
                   file_name=f"jobfair-{fair['held_on']:%Y%m%d}-{as_of:%Y%m%d}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key="fair_xlsx")

st.subheader(tr("jobfair.drill"))
measures = list(jobfair_report.MEASURES)
measure_names = {m: tr(f"stage.{m}") if m in jobfairs.STAGES else
                 tr({"firms": "col.firms", "positions": "jobfair.col.positions",
                     "headcount": "jobfair.headcount"}[m]) for m in measures}
measure = st.selectbox(tr("jobfair.drill_measure"), measures, key="fair_drill",
                       format_func=measure_names.get)
records = load(jobfair_report.drill, fair_id, measure, as_of=as_of)
if measure == "firms":
    records_table(records, {"firm": "col.enterprise", "status": "col.status",
                            "positions": "jobfair.col.positions", "headcount": "jobfair.headcount",
                            "applicants": "stage.applicants", "hired": "stage.hired"},
                  key="fair_drill_table", labels={"status": "participation"})
else:
    records_table(records, {"firm": "col.enterprise", "title": "jobfair.col.title",
                            "headcount": "jobfair.headcount", "count": "jobfair.col.value",
                            "updated_on": "jobfair.col.updated_on"},
                  key="fair_drill_table", dates=("updated_on",))

st.subheader(tr("jobfair.firms"))
jv.firms_table(board["firms"], key="fair_firms", pending=totals["retention_pending"])
st.subheader(tr("jobfair.positions"))
st.caption(tr("jobfair.positions_hint"))
picked = jv.positions_table(board["positions"], key="fair_positions",
                            pending=totals["retention_pending"])
if picked is not None:
    st.markdown(f"**{tr('jobfair.history')}**")
    records_table(load(jobfairs.position_history, picked),
                  {"as_of": "jobfair.col.updated_on",
                   **{s: f"stage.{s}" for s in jobfairs.STAGES},
                   "recorded_at": "jobfair.recorded_at"},
                  key="fair_history", dates=("as_of",), datetimes=("recorded_at",))

if not manage:
    st.stop()

# --- employment staff: sign up, positions, results ---------------------------------------
st.divider()
parts = {f["participation_id"]: f for f in board["firms"]}
# A radio, not tabs: the chosen section survives the rerun a form submission makes, so a
# refusal shows next to the form that was refused.
st.subheader(tr("jobfair.work"))
sections = {k: tr(f"jobfair.tab.{k}") for k in ("sign_up", "position", "result")}
section = st.radio(tr("jobfair.section"), list(sections), format_func=sections.get,
                   horizontal=True, key="fair_section")
if section == "sign_up":
    invite = load(hiring.invitation_list, fair_id)
    if invite:
        st.markdown(f"**{tr('jobfair.invitations')}**")
        records_table(invite, {"firm": "col.enterprise", "street": "col.street",
                               "headcount": "jobfair.headcount", "positions": "jobfair.col.title",
                               "since": "col.requested_on"}, key="fair_invite",
                      dates=("since",))
    query = st.text_input(tr("log.find_firm"), key="fair_firm_query",
                          placeholder=tr("log.find_hint"))
    hits = read(search_firms, query) if query.strip() else []
    choices = {h.id: f"{h.name}（{h.street or '—'}）" for h in hits}
    choices.update({r["enterprise_id"]: r["firm"] for r in invite if not query.strip()})
    firm = st.selectbox(tr("col.enterprise"), list(choices), format_func=choices.get,
                        key="fair_firm", placeholder=tr("log.pick_firm"),
                        index=0 if choices else None)
    if st.button(tr("jobfair.sign_up"), key="fair_sign_up", type="primary"):
        if firm is None:
            st.error(tr("log.pick_firm"))
        elif run_action(jobfairs.sign_up, fair_id, firm) is not None:
            flash(tr("jobfair.signed_up", firm=choices[firm]))
            st.rerun()
    if parts:
        part_names = {p: f"{f['firm']}（{lbl('participation', f['status'])}）"
                      for p, f in parts.items()}
        who = st.selectbox(tr("jobfair.participation"), list(parts), key="fair_part_status",
                           format_func=part_names.get)
        allowed = jobfairs.participation_actions(parts[who]["status"])
        cols = st.columns(max(len(allowed), 1))
        for col, action in zip(cols, allowed, strict=False):
            if col.button(tr(f"jobfair.action.{action}"), key=f"fair_part_{action}") \
                    and run_action(jobfairs.move_participation, who, action) is not None:
                st.rerun()
elif section == "position":
    if not parts:
        st.info(tr("jobfair.sign_up_first"))
    else:
        with st.form("fair_position"):
            owner = st.selectbox(tr("col.enterprise"), list(parts), key="pos_part",
                                 format_func=lambda p: parts[p]["firm"])
            a, b = st.columns(2)
            title = a.text_input(tr("jobfair.col.title"), key="pos_title", max_chars=60)
            headcount = b.number_input(tr("jobfair.headcount"), min_value=0, value=1, step=1,
                                       key="pos_headcount")
            negotiable = st.checkbox(tr("jobfair.pay_negotiable"), key="pos_negotiable")
            c, d = st.columns(2)
            pay_min = c.number_input(tr("jobfair.pay_min"), min_value=0, value=None, step=500,
                                     key="pos_pay_min")
            pay_max = d.number_input(tr("jobfair.pay_max"), min_value=0, value=None, step=500,
                                     key="pos_pay_max")
            requirements = st.text_area(tr("jobfair.col.requirements"), key="pos_requirements")
            if st.form_submit_button(tr("jobfair.add_position"), type="primary"):
                saved = run_action(jobfairs.save_position, owner, title=title,
                                   headcount=int(headcount), pay_min=pay_min, pay_max=pay_max,
                                   pay_negotiable=negotiable, requirements=requirements)
                if saved is not None:
                    flash(tr("jobfair.position_saved", title=saved.title))
                    st.rerun()
else:
    live = [p for p in board["positions"] if p["status"] != "withdrawn"]
    if not live:
        st.info(tr("jobfair.add_position_first"))
    else:
        by_id = {p["position_id"]: p for p in live}
        pid = st.selectbox(tr("jobfair.pick_position"), list(by_id), key="upd_position",
                           format_func=lambda p: f"{by_id[p]['firm']} · {by_id[p]['title']}")
        current = by_id[pid]
        # No clear_on_submit: a refused update keeps what was typed, to correct it.
        with st.form("fair_update"):
            day = st.date_input(tr("jobfair.update_day"), value=today, max_value=today,
                                min_value=fair["held_on"], key="upd_day")
            cols = st.columns(5)
            values = {}
            for col, stage in zip(cols, jobfairs.STAGES, strict=True):
                values[stage] = col.number_input(
                    tr(f"stage.{stage}"), min_value=0, step=1, key=f"upd_{stage}_{pid}",
                    value=current[stage] if stage != "retained_90d" else None)
            st.caption(tr("jobfair.update_hint", day=board["retention_due"].isoformat()))
            if st.form_submit_button(tr("jobfair.record"), type="primary"):
                saved = run_action(jobfairs.record_update, pid, as_of=day,
                                   **{s: None if v is None else int(v)
                                      for s, v in values.items()})
                if saved is not None:
                    flash(tr("jobfair.recorded", day=day.isoformat()))
                    st.rerun()

with st.expander(tr("jobfair.edit")), st.form("fair_edit"):
    name = st.text_input(tr("jobfair.name"), value=fair["name"], key="edit_name")
    a, b = st.columns(2)
    held_on = a.date_input(tr("col.held_on"), value=fair["held_on"], key="edit_day")
    kinds = jobfairs.FAIR_KINDS
    kind = b.selectbox(tr("jobfair.col.kind"), kinds,
                       index=kinds.index(fair["kind"]) if fair["kind"] in kinds else 0,
                       format_func=labeller("fair_kind"), key="edit_kind")
    place = st.text_input(tr("col.place"), value=fair["place"] or "", key="edit_place")
    note = st.text_area(tr("jobfair.note"), value=fair["note"] or "", key="edit_note")
    if st.form_submit_button(tr("jobfair.save")) and run_action(
            jobfairs.edit_fair, fair_id, version=fair["version"], name=name, held_on=held_on,
            place=place, street_id=fair["street_id"], kind=kind, note=note) is not None:
        flash(tr("jobfair.saved"))
        st.rerun()
