"""首页: each role's starting point — their to-do list or the district's headline numbers."""

import streamlit as st

from crm.services import dashboard, escalation, notifications
from crm.ui.actions import load
from crm.ui.plain import plain
from crm.ui.queues_view import queue_table, queue_tabs
from crm.ui.state import can, require_page, scope, tr
from crm.ui.widgets import (
    appeal_table,
    fmt_amount,
    fmt_rate,
    metric_row,
    records_table,
)

actor = require_page("home")
st.title(tr("home.welcome", name=plain(actor.display_name)))
unread = load(notifications.unread_count)
if unread:
    st.page_link("pages/notifications.py", label=tr("home.unread", n=unread),
                 icon=":material/notifications_active:")


def worklist(heading: str) -> None:
    counts = load(dashboard.appeal_counts)
    metrics = [(tr("home.appeals_open"), counts["open"]),
               (tr("home.overdue_open"), counts["overdue"]),
               (tr("home.due_soon", days=dashboard.DUE_SOON_DAYS), counts["due_soon"])]
    if can("appeal.callback"):  # callbacks are the street's job, not the unit's
        metrics.append((tr("home.awaiting_callback"), counts["awaiting_callback"]))
    metric_row(metrics)
    st.subheader(tr("home.queues"))
    queue_tabs(load(dashboard.work_queues), key="home_queue",
               show_street=scope("appeal.read") != "street")
    st.subheader(heading)
    appeal_table(load(dashboard.my_open_appeals), key="home_appeals",
                 show_street=scope("appeal.read") != "street")


def cadre() -> None:
    firms = load(dashboard.cadre_firms)
    stale = sum(1 for f in firms if f["stale"])
    metric_row([(tr("home.my_firms_count"), len(firms)), (tr("home.firms_to_visit"), stale)])
    st.subheader(tr("home.my_firms"))
    records_table(firms, {"name": "col.enterprise", "street": "col.street",
                          "since": "col.since", "last_visit": "col.last_visit",
                          "days_since_visit": "col.days_since_visit"},
                  key="home_firms", dates=("since", "last_visit"), empty="home.no_firms")


def chamber() -> None:
    summary = load(dashboard.chamber_summary)
    if summary["chamber"]:
        st.subheader(plain(summary["chamber"]))
    metric_row([(tr("home.chamber_members"), summary["members"]),
                (tr("home.financing_needs"), summary["needs"]),
                (tr("home.amount_needed"), fmt_amount(summary["amount_needed"])),
                (tr("home.amount_approved"), fmt_amount(summary["amount_approved"])),
                (tr("home.amount_disbursed"), fmt_amount(summary["amount_disbursed"]))])
    st.subheader(tr("home.needs_by_status"))
    records_table(summary["by_status"], {"status": "col.status", "count": "col.count",
                                         "amount": "col.amount_wan"},
                  key="home_needs", labels={"status": "need_status"})


def employment() -> None:
    st.subheader(tr("home.job_fairs"))
    records_table([{**r, "fill_rate": fmt_rate(r["fill_rate"])}
                   for r in load(dashboard.job_fairs)],
                  {"fair": "col.fair", "held_on": "col.held_on", "street": "col.street",
                   "firms": "col.firms", "headcount": "jobfair.headcount",
                   "applicants": "col.applicants", "hired": "col.hired",
                   "fill_rate": "jobfair.fill_rate"},
                  key="home_fairs", dates=("held_on",), empty="home.no_fairs")


def supervision() -> None:
    """督办: the appeals flagged for the officials, overdue past the setting."""
    queue = load(dashboard.work_queues)["supervised"]
    days = load(escalation.thresholds)["supervise"]
    st.subheader(f"{tr('home.supervised_title', days=days)} ({queue['count']:,})")
    queue_table("supervised", queue, key="home_supervised")


def overview() -> None:
    st.subheader(tr("home.headline"))
    numbers = load(dashboard.headline)
    metric_row([(tr("home.enterprises"), numbers["enterprises"]),
                (tr("home.appeals_total"), numbers["appeals"]),
                (tr("home.appeals_open"), numbers["open"]),
                (tr("home.overdue_open"), numbers["overdue"]),
                (tr("home.closed_on_time_rate"), fmt_rate(numbers["closed_on_time_rate"])),
                (tr("home.satisfaction_rate"), fmt_rate(numbers["satisfaction_rate"]))])
    st.subheader(tr("home.by_street"))
    by_street = load(dashboard.appeals_by_street)
    chart = {tr("col.street"): [r["street"] for r in by_street],
             tr("home.appeals_open"): [r["open"] for r in by_street],
             tr("home.appeals_closed"): [r["total"] - r["open"] for r in by_street]}
    st.bar_chart(chart, x=tr("col.street"), y=[tr("home.appeals_open"), tr("home.appeals_closed")],
                 x_label="", y_label=tr("col.count"), stack=True, horizontal=True, sort=False)
    supervision()


{
    "liaison": lambda: worklist(tr("home.my_open_appeals")),
    "handler": lambda: worklist(tr("home.unit_inbox")),
    "cadre": cadre,
    "chamber": chamber,
    "employment": employment,
    "official": overview,
    "admin": overview,
}[actor.role]()
