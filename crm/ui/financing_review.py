"""Unconfirmed chambers and banks (created by sheets naming ones the system did not know):
confirm each, renaming it if need be, or merge it into the one it really is.

Shown on 基础数据; every change goes through crm.services.financing (save_chamber /
save_bank with the id: rename and confirm) and crm.services.financing_admin (merge).
"""

from __future__ import annotations

import streamlit as st

from crm.services import coverage, financing, financing_admin
from crm.ui.actions import read, run_action
from crm.ui.state import tr
from crm.ui.widgets import flash, records_table


def _review(key: str, pick: str, rows: list[dict], targets: dict[int, str], confirm, merge,
            street_choices: dict[int | None, str] | None = None) -> None:
    """Pick one of `rows`; confirm it (a name, and for a chamber its street) or merge it
    into one of `targets`."""
    names = {row["id"]: row["name"] for row in rows}
    chosen = st.selectbox(pick, options=list(names),
                          format_func=names.get, index=None, key=f"fin_{key}_pick")
    if chosen is None:
        return
    row = next(r for r in rows if r["id"] == chosen)
    left, right = st.columns(2)
    with left.form(f"fin_{key}_confirm"):
        name = st.text_input(tr("finadmin.name"), value=row["name"], key=f"fin_{key}_name")
        extra = {}
        if street_choices is not None:
            options = list(street_choices)
            extra["street_id"] = st.selectbox(
                tr("col.street"), options, format_func=street_choices.get,
                index=options.index(row.get("street_id")), key=f"fin_{key}_street")
        if st.form_submit_button(tr("finadmin.confirm")) and run_action(
                confirm, name=name, **{f"{key}_id": chosen}, **extra) is not None:
            flash(tr("finadmin.confirmed", name=name))
            st.rerun()
    with right:
        target = st.selectbox(tr("finadmin.merge_into"), options=list(targets),
                              format_func=targets.get, index=None, key=f"fin_{key}_target")
        if st.button(tr("finadmin.merge"), key=f"fin_{key}_merge", disabled=target is None) \
                and run_action(merge, chosen, target) is not None:
            flash(tr("finadmin.merged", name=names[chosen], target=targets[target]))
            st.rerun()


def unconfirmed_chambers() -> None:
    rows = read(financing_admin.unconfirmed_chambers)
    if not rows:
        return
    st.subheader(tr("finadmin.chambers"))
    st.caption(tr("finadmin.chambers_help"))
    records_table(rows, {"name": "col.chamber", "street": "col.street",
                         "members": "finadmin.members", "needs": "finadmin.needs"},
                  key="fin_chamber_table")
    targets = {c["id"]: c["name"] for c in read(financing.list_chambers) if c["confirmed"]}
    streets = {None: "—", **{s["id"]: s["name"] for s in read(coverage.streets)}}
    _review("chamber", tr("finadmin.pick_chamber"), rows, targets, financing.save_chamber,
            financing_admin.merge_chamber, streets)


def unconfirmed_banks() -> None:
    rows = read(financing_admin.unconfirmed_banks)
    if not rows:
        return
    st.subheader(tr("finadmin.banks"))
    st.caption(tr("finadmin.banks_help"))
    records_table(rows, {"name": "col.bank", "products": "finadmin.products"},
                  key="fin_bank_table")
    targets = {b["id"]: b["name"] for b in read(financing.list_banks) if b["confirmed"]}
    _review("bank", tr("finadmin.pick_bank"), rows, targets, financing.save_bank,
            financing_admin.merge_bank)
