"""银行产品: the loan-product catalogue the matching works from — the table, and a form to
add a product or change one (amounts in 万元, rates in percent, terms in months; an
empty choice of collateral, industries or sizes serves all)."""

import streamlit as st

from crm.services import financing
from crm.services.vocab import COLLATERAL, SIZES
from crm.ui.actions import read, run_action
from crm.ui.state import labeller, lbl, require_page, tr
from crm.ui.widgets import flash, records_table, show_flash

SEEN_KEY = "bp_seen"  # {product id: version} as last shown: a change meanwhile is a conflict

actor = require_page("bank_products")
st.title(tr("bp.title"))
show_flash()

products = read(financing.list_products)


def _span(low, high, unit: str = "") -> str:
    if low is None and high is None:
        return tr("bp.any")
    return f"{'' if low is None else f'{low:g}'}–{'' if high is None else f'{high:g}'}{unit}"


def _rate(value) -> float | None:
    return None if value is None else round(float(value) * 100, 4)


table = [{
    "bank": p["bank"], "name": p["name"],
    "amount": _span(None if p["amount_min"] is None else float(p["amount_min"]),
                    None if p["amount_max"] is None else float(p["amount_max"])),
    "rate": _span(_rate(p["rate_min"]), _rate(p["rate_max"]), "%"),
    "term": _span(p["term_min"], p["term_max"]),
    "collateral": "、".join(lbl("collateral", c) for c in p["collateral"] or ()) or tr("bp.any"),
    "industries": "、".join(p["industries"] or ()) or tr("bp.any"),
    "sizes": "、".join(lbl("size", s) for s in p["sizes"] or ()) or tr("bp.any"),
    "active": tr("bp.on_sale") if p["active"] else tr("bp.off_sale"),
} for p in products]
st.caption(tr("bp.count", n=len(products)))
records_table(table, {"bank": "col.bank", "name": "col.product", "amount": "bp.amount_range",
                      "rate": "bp.rate_range", "term": "bp.term_range",
                      "collateral": "col.collateral", "industries": "bp.industries",
                      "sizes": "bp.sizes", "active": "bp.active"}, key="bp_table",
              empty="bp.none")

st.subheader(tr("bp.edit"))
by_id = {p["id"]: p for p in products}
names = {None: tr("bp.new"), **{p["id"]: f"{p['bank']} · {p['name']}" for p in products}}
chosen = st.selectbox(tr("bp.pick"), list(names), format_func=names.get, key="bp_pick")
current = by_id.get(chosen, {})
seen = st.session_state.get(SEEN_KEY, {})
banks = {b["id"]: b["name"] for b in read(financing.list_banks)}
NEW_BANK = 0
bank_names = {**banks, NEW_BANK: tr("bp.new_bank")}
industry_choices = read(financing.industries)
k = f"bp_{chosen or 'new'}"  # fresh widgets (and defaults) for each product picked


def _num(value):
    return None if value is None else float(value)


with st.form("bp_form"):
    left, right = st.columns(2)
    bank_list = list(bank_names)
    bank_id = left.selectbox(tr("col.bank"), bank_list, format_func=bank_names.get,
                             index=bank_list.index(current["bank_id"]) if current else
                             (0 if banks else bank_list.index(NEW_BANK)), key=f"{k}_bank")
    new_bank = right.text_input(tr("bp.new_bank_name"), key=f"{k}_new_bank",
                                help=tr("bp.new_bank_help"))
    name = st.text_input(tr("col.product"), value=current.get("name", ""), key=f"{k}_name")
    a1, a2, r1, r2, t1, t2 = st.columns(6)
    amount_min = a1.number_input(tr("bp.amount_min"), min_value=0.0,
                                 value=_num(current.get("amount_min")), key=f"{k}_amin")
    amount_max = a2.number_input(tr("bp.amount_max"), min_value=0.0,
                                 value=_num(current.get("amount_max")), key=f"{k}_amax")
    rate_min = r1.number_input(tr("bp.rate_min"), min_value=0.0, format="%.2f",
                               value=_rate(current.get("rate_min")), key=f"{k}_rmin")
    rate_max = r2.number_input(tr("bp.rate_max"), min_value=0.0, format="%.2f",
                               value=_rate(current.get("rate_max")), key=f"{k}_rmax")
    term_min = t1.number_input(tr("bp.term_min"), min_value=0, step=1,
                               value=current.get("term_min"), key=f"{k}_tmin")
    term_max = t2.number_input(tr("bp.term_max"), min_value=0, step=1,
                               value=current.get("term_max"), key=f"{k}_tmax")
    collateral = st.multiselect(tr("col.collateral"), COLLATERAL,
                                default=current.get("collateral") or [],
                                format_func=labeller("collateral"), key=f"{k}_collateral",
                                placeholder=tr("bp.any"))
    industries = st.multiselect(tr("bp.industries"),
                                sorted({*industry_choices, *(current.get("industries") or ())}),
                                default=current.get("industries") or [], key=f"{k}_industries",
                                accept_new_options=True, placeholder=tr("bp.any"))
    sizes = st.multiselect(tr("bp.sizes"), SIZES, default=current.get("sizes") or [],
                           format_func=labeller("size"), key=f"{k}_sizes",
                           placeholder=tr("bp.any"))
    active = st.checkbox(tr("bp.on_sale"), value=current.get("active", True), key=f"{k}_active")
    if st.form_submit_button(tr("bp.save"), type="primary", key="bp_save"):
        by_bank = {"bank": new_bank} if bank_id == NEW_BANK or new_bank.strip() \
            else {"bank_id": bank_id}
        saved = run_action(
            financing.save_bank_product, **by_bank, name=name,
            amount_min=amount_min, amount_max=amount_max,
            rate_min=None if rate_min is None else rate_min / 100,
            rate_max=None if rate_max is None else rate_max / 100,
            term_min=None if term_min is None else int(term_min),
            term_max=None if term_max is None else int(term_max),
            collateral=collateral, industries=industries, sizes=sizes, active=active,
            product_id=chosen, version=seen.get(chosen, current.get("version")))
        if saved is not None:
            st.session_state.pop(SEEN_KEY, None)
            flash(tr("bp.saved", name=name.strip()))
            st.rerun()

st.session_state[SEEN_KEY] = {p["id"]: p["version"] for p in products}
