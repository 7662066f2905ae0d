"""包联覆盖: firms with an owner cadre, by street and building; who was not visited; visits
per cadre per month. Every number can be opened to the list of firms behind it."""

import streamlit as st

from crm.services import coverage, visits
from crm.ui.actions import load, run_action
from crm.ui.state import can, require_page, scope, tr
from crm.ui.widgets import fmt_rate, metric_row, records_table

actor = require_page("coverage")
st.title(tr("coverage.title"))

streets = {s["id"]: s["name"] for s in load(coverage.streets)}
if scope("coverage.district") == "street":
    street_id = actor.street_id
else:
    options = {None: tr("coverage.district"), **streets}
    street_id = st.selectbox(tr("col.street"), list(options), format_func=options.get,
                             key="cov_street")

data = load(coverage.overview, street_id=street_id)
numbers, rows = data["summary"], data["matrix"]
days = numbers["not_visited_days"]
metric_row([
    (tr("coverage.firms_total"), numbers["firms_total"]),
    (tr("coverage.covered"), f"{numbers['firms_covered']}（{fmt_rate(numbers['coverage_rate'])}）"),
    (tr("coverage.above_scale_covered"),
     f"{numbers['above_scale_covered']}/{numbers['above_scale_total']}"
     f"（{fmt_rate(numbers['above_scale_coverage_rate'])}）"),
    (tr("coverage.without_cadre"), numbers["firms_without_cadre"]),
    (tr("coverage.not_visited", days=days), numbers["not_visited"]),
    (tr("coverage.visits_30"), numbers["visits_last_30_days"]),
])
st.caption(tr("coverage.definitions", days=days))

st.subheader(tr("coverage.matrix"))
table = [{**r, "place": r["street"] if r["level"] == "street"
          else f"　└ {r['building'] or tr('coverage.no_building')}",
          "coverage_rate": fmt_rate(r["coverage_rate"]),
          "above_scale_coverage_rate": fmt_rate(r["above_scale_coverage_rate"])} for r in rows]
records_table(table, {"place": "coverage.place", "firms_total": "coverage.col.total",
                      "firms_covered": "coverage.col.covered",
                      "coverage_rate": "coverage.col.rate",
                      "above_scale_total": "coverage.col.above",
                      "above_scale_covered": "coverage.col.above_covered",
                      "above_scale_coverage_rate": "coverage.col.above_rate",
                      "firms_without_cadre": "coverage.col.without",
                      "not_visited": "coverage.col.not_visited"},
              key="cov_matrix", empty="coverage.no_firms")

st.subheader(tr("coverage.drill"))
places = {"all": tr("coverage.whole_scope")}
for r in rows:
    key = f"{r['street_id']}:{'' if r['level'] == 'street' else r['building_id']}"
    places[key] = r["street"] if r["level"] == "street" else \
        f"{r['street']} · {r['building'] or tr('coverage.no_building')}"
left, right = st.columns(2)
place = left.selectbox(tr("coverage.place"), list(places), format_func=places.get,
                       key="cov_place")
chosen = numbers if place == "all" else next(
    r for r in rows if f"{r['street_id']}:{'' if r['level'] == 'street' else r['building_id']}"
    == place)
counts = {"all": chosen["firms_total"], "covered": chosen["firms_covered"],
          "uncovered": chosen["firms_without_cadre"],
          "above_scale": chosen["above_scale_total"],
          "above_scale_covered": chosen["above_scale_covered"],
          "above_scale_uncovered": chosen["above_scale_total"] - chosen["above_scale_covered"],
          "not_visited": chosen["not_visited"]}
measures = {m: f"{tr(f'coverage.measure.{m}', days=days)}（{counts[m]}）"
            for m in coverage.MEASURES}
measure = right.selectbox(tr("coverage.measure"), list(measures), format_func=measures.get,
                          index=None, key="cov_measure", placeholder=tr("coverage.pick_measure"))
if measure:
    if place == "all":
        where = {"street_id": street_id}
    else:
        sid, bid = place.split(":")
        where = {"street_id": int(sid) if sid not in ("", "None") else None,
                 "building_id": int(bid) if bid else None}
    found = load(coverage.firm_list, measure=measure, **where)
    st.caption(tr("coverage.showing", shown=len(found["rows"]), total=found["total"]))
    records_table(found["rows"], {"name": "col.enterprise", "uscc": "col.uscc",
                                  "street": "col.street", "building": "col.building",
                                  "cadre": "col.cadre", "last_visit": "col.last_visit",
                                  "days_since_visit": "col.days_since_visit"},
                  key="cov_firms", dates=("last_visit",), empty="coverage.no_firms")

st.subheader(tr("coverage.per_cadre"))
spans = {3: tr("coverage.months", n=3), 6: tr("coverage.months", n=6),
         12: tr("coverage.months", n=12)}
months = st.radio(tr("coverage.span"), list(spans), index=0, format_func=spans.get,
                  horizontal=True, key="cov_months")
per_cadre = load(coverage.visits_by_cadre, months=months, street_id=street_id)
month_keys, cadres = per_cadre["months"], per_cadre["rows"]
if cadres:
    top = cadres[:10]
    chart = {tr("coverage.month"): month_keys,
             **{f"{r['cadre']}（{r['street'] or '—'}）": [r["by_month"][m] for m in month_keys]
                for r in top}}
    st.bar_chart(chart, x=tr("coverage.month"), y=[k for k in chart if k != tr("coverage.month")],
                 x_label="", y_label=tr("coverage.visit_count"), stack=True)
    st.caption(tr("coverage.chart_top", n=len(top), total=len(cadres)))
if cadres:
    st.dataframe([{tr("col.cadre"): r["cadre"], tr("col.street"): r["street"] or "—",
                   tr("coverage.col.serving"): r["firms"], **r["by_month"],
                   tr("coverage.col.visits"): r["total"]} for r in cadres],
                 hide_index=True, width="stretch", key="cov_cadres")
else:
    st.caption(tr("coverage.no_visits"))

people = {r["person_id"]: f"{r['cadre']}（{r['street'] or '—'}）" for r in cadres}
left, right = st.columns(2)
person = left.selectbox(tr("col.cadre"), list(people), format_func=people.get, index=None,
                        key="cov_cadre", placeholder=tr("coverage.pick_cadre"))
month_options = {None: tr("coverage.all_months"), **{m: m for m in month_keys}}
month = right.selectbox(tr("coverage.month"), list(month_options),
                        format_func=month_options.get, key="cov_month")
if person is not None:
    chosen_cadre = next(r for r in cadres if r["person_id"] == person)
    st.caption(" · ".join(f"{m}: {chosen_cadre['by_month'][m]}" for m in month_keys))
    records_table(load(visits.list_visits, person_id=person, month=month, street_id=street_id),
                  {"visited_on": "col.visited_on", "enterprise": "col.enterprise",
                   "way": "col.way", "policies": "col.policies",
                   "appeals": "col.appeals_raised", "notes": "col.notes"},
                  key="cov_visits", dates=("visited_on",), labels={"way": "visit_way"},
                  empty="coverage.no_visits")

if can("coverage.configure"):
    with st.expander(tr("coverage.setting")):
        new_days = st.number_input(tr("coverage.setting_days"), min_value=7, max_value=730,
                                   value=days, step=1, key="cov_days")
        if st.button(tr("coverage.save_setting"), key="cov_save_days") \
                and run_action(coverage.set_not_visited_days, int(new_days)) is not None:
            st.rerun()
