"""融资成效: money needed, approved and paid out by chamber, bank and month; approval rate by
bank; days from a need to its money — and the records behind any number (click a cell, or
pick a row and a measure). Definitions: crm.services.financing_kpi."""

import streamlit as st

from crm.services import financing, financing_kpi
from crm.ui import financing_view as fv
from crm.ui import kpi_view as kv
from crm.ui.actions import read
from crm.ui.state import require_page, tr
from crm.ui.widgets import fmt_amount, fmt_date, fmt_rate, records_table

actor = require_page("financing_kpi")
st.title(tr("fkpi.title"))
st.session_state.setdefault("fkpi_period", "last_12_months")
date_from, date_to = kv.period_picker("fkpi")
chambers = {c["id"]: c["name"] for c in read(financing.list_chambers)}
banks = {b["id"]: b["name"] for b in read(financing.list_banks)}
left, right = st.columns(2)
chamber_names = {None: tr("fkpi.all_chambers"), **chambers}
bank_names = {None: tr("fkpi.all_banks"), **banks}
chamber_id = left.selectbox(tr("col.chamber"), list(chamber_names), format_func=chamber_names.get,
                            key="fkpi_chamber")
bank_id = right.selectbox(tr("col.bank"), list(bank_names), format_func=bank_names.get,
                          key="fkpi_bank")
base = dict(date_from=date_from, date_to=date_to, chamber_id=chamber_id, bank_id=bank_id)
data = read(financing_kpi.summary, **base)
totals = data["totals"]
st.caption(tr("fkpi.period", start=fmt_date(date_from), end=fmt_date(date_to)))
kv.as_of_line(date_to)


def shown(key: str, value) -> str:
    if value is None:
        return "—"
    if key in fv.AMOUNTS:  # the unit is in the label: a long amount keeps its last digit
        return f"{value:,.1f}"
    if key == "approval_rate":
        return fmt_rate(value)
    if key.endswith("days_to_money"):
        return tr("kpi.days", n=value)
    return f"{value:,}"


for keys in (("needs", "amount_needed", "amount_approved", "amount_disbursed"),
             ("approval_rate", "decided", "median_days_to_money", "mean_days_to_money")):
    for column, key in zip(st.columns(len(keys)), keys, strict=True):
        caption = tr(f"fkpi.key.{key}")
        column.metric(tr("fmt.in_wan", label=caption) if key in fv.AMOUNTS else caption,
                      shown(key, totals[key]),
                      help=tr(f"fkpi.help.{key}"))


def chamber_name(row: dict) -> str:
    return row["chamber"] or tr("fkpi.no_chamber")


hits = {}
st.subheader(tr("fkpi.by_month"))
fv.money_chart(data["by_month"], "month", lambda r: r["month"])
hit = fv.table(data["by_month"], "month", lambda r: r["month"], key="fkpi_months")
hits["months"] = hit and (("month", hit[0]["month"]), hit[1])

st.subheader(tr("fkpi.by_chamber"))
fv.money_chart(data["by_chamber"], "chamber", chamber_name)
hit = fv.table(data["by_chamber"], "chamber", chamber_name, key="fkpi_chambers")
hits["chambers"] = hit and (("chamber", hit[0]["chamber_id"]), hit[1])

st.subheader(tr("fkpi.by_bank"))
fv.rate_chart(data["by_bank"])
hit = fv.table(data["by_bank"], "bank", lambda r: r["bank"], key="fkpi_banks")
hits["banks"] = hit and (("bank", hit[0]["bank_id"]), hit[1])
# the table clicked last is the one whose selection changed since the last run
last = st.session_state.get("fkpi_hits", {})
clicked = next((v for k, v in hits.items() if v and v != last.get(k)), None)
st.session_state["fkpi_hits"] = hits

# --- the records behind a number ---------------------------------------------------------------

st.subheader(tr("fkpi.drill"))
st.caption(tr("fkpi.click_hint"))
targets = {("all", None): tr("fkpi.drill_all"),
           **{("month", r["month"]): tr("fkpi.in_month", month=r["month"])
              for r in data["by_month"]},
           **{("chamber", r["chamber_id"]): chamber_name(r) for r in data["by_chamber"]},
           **{("bank", r["bank_id"]): r["bank"] for r in data["by_bank"]}}
measures = {m: tr(f"fkpi.measure.{m}") for m in financing_kpi.MEASURES}
if clicked:
    st.session_state["fkpi_target"], st.session_state["fkpi_measure"] = clicked
if st.session_state.get("fkpi_target") not in targets:  # gone with a change of period
    st.session_state["fkpi_target"] = ("all", None)
left, right = st.columns(2)
target = left.selectbox(tr("fkpi.drill_target"), list(targets), format_func=targets.get,
                        key="fkpi_target")
measure = right.selectbox(tr("fkpi.measure"), list(measures), format_func=measures.get,
                          key="fkpi_measure")
kw = dict(base)
dimension, value = target
if dimension == "month":
    kw["month"] = value
elif dimension == "bank":
    kw["bank_id"] = value
elif dimension == "chamber":
    if value is None:
        kw["none_chamber"] = True
    else:
        kw["chamber_id"] = value
found = read(financing_kpi.drill, measure, **kw)
st.caption(tr("fkpi.drill_count", n=found["count"],
              total=fmt_amount(found["total"]) if measure in fv.AMOUNTS else found["total"]))
columns = {"firm": "col.enterprise", "chamber": "col.chamber", "requested_on": "col.requested_on",
           "amount": "col.amount_wan", "purpose": "col.purpose"}
if measure not in financing_kpi.NEED_MEASURES:
    columns |= {"bank": "col.bank", "product": "col.product", "status": "col.status",
                "approved_amount": "col.approved_wan", "approved_on": "col.approved_on",
                "disbursed_amount": "col.disbursed_wan", "disbursed_on": "col.disbursed_on",
                "rejected_reason": "fkpi.rejected_reason"}
else:
    columns |= {"disbursed_on": "fkpi.first_money", "days_to_money": "fkpi.days_to_money"}
records_table(found["rows"], columns, key="fkpi_records",
              dates=tuple(f for f in ("requested_on", "approved_on", "disbursed_on")
                          if f in columns),
              labels={"status": "match_status"}, empty="fkpi.no_records")
