"""融资对接: a chamber's board — open needs (most urgent, then oldest first) with the matches
under way and the best products not yet proposed; one click to propose or to take the next
step; forms for the steps that carry an amount, a date or a reason; a need put on file
for a member firm, or withdrawn. Officials read it; who may act is crm.access.

The step buttons are the ones `crm.lifecycle.FINANCING` allows (`actions` from the
service). A step acts with the version of the match as the user last saw it, so a
change someone made meanwhile is refused (a conflict), not overwritten.
"""

import streamlit as st

from crm.services import dashboard, enterprises, financing, visits
from crm.services.financing import reason_text
from crm.services.vocab import COLLATERAL, URGENCY
from crm.ui.actions import read, run_action
from crm.ui.plain import plain
from crm.ui.state import can, labeller, language, lbl, require_page, scope, tr
from crm.ui.widgets import flash, fmt_amount, fmt_date, metric_row, show_flash

PAGE_SIZE = 10
SEEN_KEY = "fin_seen"  # {("match" | "need", id): {"version": …, "actions": […]}} as last shown
STEPS_WITH_FORMS = ("approve", "reject", "disburse")

actor = require_page("financing")
st.title(tr("fin.title"))
show_flash()
manage = can("financing.manage")
if not manage:
    st.caption(tr("fin.read_only"))

summary = read(dashboard.chamber_summary)
if summary["chamber"]:
    st.subheader(plain(summary["chamber"]))
metric_row([(tr("home.financing_needs"), summary["needs"]),
            (tr("home.amount_needed"), fmt_amount(summary["amount_needed"])),
            (tr("home.amount_approved"), fmt_amount(summary["amount_approved"])),
            (tr("home.amount_disbursed"), fmt_amount(summary["amount_disbursed"]))])

today = read(visits.local_today)
seen: dict = st.session_state.get(SEEN_KEY, {})
shown: dict = {}  # what this run shows, remembered for the next


def _done(message: str) -> None:
    """After our own change: forget the versions seen, show the board fresh."""
    st.session_state.pop(SEEN_KEY, None)
    flash(message)
    st.rerun()


def _as_seen(kind: str, record: dict) -> dict:
    """The version (and steps) of a record as the user last saw it, or as it is now."""
    now = {"version": record["version"], "actions": record.get("actions", [])}
    shown[(kind, record["match_id" if kind == "match" else "need_id"])] = now
    return seen.get((kind, record["match_id" if kind == "match" else "need_id"]), now)


def step_form(need: dict, m: dict, action: str, version: int) -> None:
    key = f"fin_{action}_{m['match_id']}"
    label = tr(f"financing.action.{action}")
    with st.form(key):
        st.markdown(tr(f"fin.step.{action}", bank=plain(m["bank"]), product=plain(m["product"])))
        left, right = st.columns(2)
        if action == "reject":
            reason = left.text_input(tr("fin.reject_reason"), key=f"{key}_reason")
        else:
            default = float(m["approved_amount"] if action == "disburse" and m["approved_amount"]
                            else need["amount"])
            amount = left.number_input(tr(f"fin.{action}_amount"), min_value=0.0,
                                       value=default, step=10.0, format="%.2f",
                                       key=f"{key}_amount")
            day = right.date_input(tr(f"fin.{action}_on"),
                                   value=max(today, need["requested_on"]),
                                   min_value=need["requested_on"], key=f"{key}_on")
        if st.form_submit_button(label, type="primary", key=f"{key}_go"):
            kwargs = {"reason": reason} if action == "reject" else {"amount": amount, "on": day}
            if run_action(financing.move_match, match_id=m["match_id"], action=action,
                          version=version, **kwargs) is not None:
                _done(tr("fin.moved", step=label))


def match_row(need: dict, m: dict) -> None:
    mine = _as_seen("match", m)
    money = []
    if m["approved_amount"] is not None:
        money.append(tr("fin.approved_line", amount=fmt_amount(float(m["approved_amount"])),
                        day=fmt_date(m["approved_on"])))
    if m["disbursed_amount"] is not None:
        money.append(tr("fin.disbursed_line", amount=fmt_amount(float(m["disbursed_amount"])),
                        day=fmt_date(m["disbursed_on"])))
    if m["rejected_reason"]:
        money.append(tr("fin.rejected_line", reason=plain(m["rejected_reason"])))
    st.markdown(f"**{plain(m['bank'])} · {plain(m['product'])}** "
                f":blue-badge[{lbl('match_status', m['status'])}]"
                + ("　" + "；".join(money) if money else ""))
    if m["reasons"]:
        st.caption(plain("；".join(reason_text(r, language()) for r in m["reasons"])))
    if not manage:
        return
    actions = mine["actions"]
    quick = [a for a in actions if a not in STEPS_WITH_FORMS]
    if quick:
        for column, action in zip(st.columns(len(quick) + 3)[:len(quick)], quick, strict=True):
            clicked = column.button(tr(f"financing.action.{action}"),
                                    key=f"fin_{action}_{m['match_id']}")
            if clicked and run_action(financing.move_match, match_id=m["match_id"],
                                      action=action, version=mine["version"]) is not None:
                _done(tr("fin.moved", step=tr(f"financing.action.{action}")))
    for action in actions:
        if action in STEPS_WITH_FORMS:
            step_form(need, m, action, mine["version"])


def proposals(need: dict) -> None:
    if not need["proposals"]:
        return
    st.markdown(f"**{tr('fin.proposals')}**")
    for p in need["proposals"]:
        text, button = st.columns([5, 1])
        text.markdown(tr("fin.proposal", bank=plain(p["bank"]), product=plain(p["product"]),
                         score=f"{p['score']:.0f}"))
        text.caption(plain("；".join(p["reasons"])))
        if not manage:
            continue
        clicked = button.button(tr("fin.propose"), type="primary",
                                key=f"fin_propose_{need['need_id']}_{p['product_id']}")
        if clicked and run_action(financing.propose, need_id=need["need_id"],
                                  product_id=p["product_id"]) is not None:
            _done(tr("fin.proposed", bank=p["bank"], product=p["product"]))


def withdraw(need: dict) -> None:
    mine = _as_seen("need", need)
    with st.expander(tr("fin.withdraw")), st.form(f"fin_withdraw_{need['need_id']}"):
        reason = st.text_input(tr("fin.withdraw_reason"),
                               key=f"fin_wd_reason_{need['need_id']}")
        clicked = st.form_submit_button(tr("fin.withdraw"), key=f"fin_wd_go_{need['need_id']}")
        if clicked and run_action(financing.withdraw_need, need_id=need["need_id"],
                                  reason=reason, version=mine["version"]) is not None:
            _done(tr("fin.withdrawn"))


def need_card(need: dict) -> None:
    with st.container(border=True, key=f"fin_need_{need['need_id']}"):
        urgent = " :red-badge[" + lbl("urgency", "high") + "]" if need["urgency"] == "high" \
            else ""
        st.markdown(f"#### {plain(need['firm'])} · {fmt_amount(float(need['amount']))}{urgent} "
                    f":blue-badge[{lbl('need_status', need['status'])}]")
        st.caption(tr("fin.need_facts", purpose=plain(need["purpose"]) or "—",
                      term=need["term_months"] or "—",
                      collateral=lbl("collateral", need["collateral"]) or "—",
                      requested=fmt_date(need["requested_on"]),
                      chamber=need["chamber"] or "—"))
        for m in need["matches"]:
            match_row(need, m)
        proposals(need)
        if manage:
            withdraw(need)


# --- the board ---------------------------------------------------------------------------------

needs = read(financing.board, lang=language())
st.subheader(tr("fin.board", n=len(needs)))
query = st.text_input(tr("fin.find"), key="fin_query", placeholder=tr("fin.find_hint")).strip()
if query:
    needs = [n for n in needs if query in n["firm"] or query in (n["purpose"] or "")]
if not needs:
    st.info(tr("fin.no_needs"))
pages = max(1, -(-len(needs) // PAGE_SIZE))
page = 1
if pages > 1:
    if st.session_state.get("fin_page", 1) > pages:  # fewer pages since the filter changed
        st.session_state["fin_page"] = pages
    page = st.number_input(tr("fin.page", pages=pages), min_value=1, max_value=pages, value=1,
                           step=1, key="fin_page")
for need in needs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]:
    need_card(need)

# --- a new need --------------------------------------------------------------------------------

if can("financing.raise"):
    st.subheader(tr("fin.add"))
    found = read(enterprises.search, st.text_input(tr("fin.firm_search"), key="fin_firm_query"))
    firms = {f["id"]: f["name"] for f in found}
    chambers = {c["id"]: c["name"] for c in read(financing.list_chambers)} \
        if scope("financing.raise") != "chamber" else {}
    meetings = {m["meeting_id"]: f"{fmt_date(m['held_on'])} {m['title']}"
                for m in read(financing.list_meetings)}
    with st.form("fin_add"):
        firm = st.selectbox(tr("fin.firm"), list(firms), format_func=firms.get, index=None,
                            key="fin_add_firm", placeholder=tr("fin.firm_hint"))
        left, mid, right = st.columns(3)
        amount = left.number_input(tr("fin.amount"), min_value=0.0, value=None, step=10.0,
                                   format="%.2f", key="fin_add_amount")
        term = mid.number_input(tr("col.term_months"), min_value=0, value=None, step=6,
                                key="fin_add_term")
        requested = right.date_input(tr("col.requested_on"), value=today, max_value=today,
                                     key="fin_add_on")
        collateral = left.selectbox(tr("col.collateral"), COLLATERAL, index=None,
                                    format_func=labeller("collateral"), key="fin_add_collateral",
                                    placeholder=tr("fin.not_said"))
        urgency = mid.selectbox(tr("fin.urgency"), URGENCY,
                                index=URGENCY.index("normal"),
                                format_func=labeller("urgency"), key="fin_add_urgency")
        approx = right.checkbox(tr("fin.amount_approx"), key="fin_add_approx")
        purpose = st.text_input(tr("col.purpose"), key="fin_add_purpose")
        chamber = st.selectbox(tr("col.chamber"), list(chambers), format_func=chambers.get,
                               index=None, key="fin_add_chamber",
                               placeholder=tr("fin.not_said")) if chambers else None
        meeting = st.selectbox(tr("fin.meeting"), list(meetings), format_func=meetings.get,
                               index=None, key="fin_add_meeting",
                               placeholder=tr("fin.not_at_meeting")) if meetings else None
        note = st.text_area(tr("fin.note"), key="fin_add_note")
        if st.form_submit_button(tr("fin.add_submit"), type="primary", key="fin_add_go"):
            if firm is None:
                st.error(tr("fin.pick_firm"))
            elif amount is None:
                st.error(tr("financing.amount_needed"))
            else:
                added = run_action(financing.add_financing_need, enterprise_id=firm,
                                   amount=amount, requested_on=requested, purpose=purpose,
                                   term_months=int(term) if term else None,
                                   collateral=collateral, urgency=urgency, note=note,
                                   chamber_id=chamber, amount_approx=approx,
                                   meeting_id=meeting)
                if added is not None:
                    _done(tr("fin.added", firm=firms[firm]))

st.session_state[SEEN_KEY] = shown
