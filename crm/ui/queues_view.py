"""Work queues on the home page: one tab per queue, its count in the label, rows that open
the appeal at its QF address (`/appeal?code=QF…`)."""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from crm.services.dashboard import DUE_SOON_DAYS
from crm.ui.state import lbl, tr
from crm.ui.widgets import date_column, urgency

# queue -> the extra fields it shows (field -> i18n key of the column)
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    "extensions": {"lead_unit": "col.lead_unit", "extension_days": "col.extension_days",
                   "extension_reason": "col.extension_reason"},
    "returned": {"returned_by": "col.returned_by", "return_reason": "col.return_reason"},
    "imported": {"received_at": "col.received_at"},
    "supervised": {"street": "col.street", "lead_unit": "col.lead_unit"},
}


def appeal_url(code: str) -> str:
    return f"/appeal?code={quote(code)}"


def flags_text(row: dict) -> str:
    """催办 / 督办 as words, for a row carrying `reminded` / `supervised`."""
    return "、".join(tr(f"event.{kind}") for kind, on in (("remind", row.get("reminded")),
                                                          ("supervise", row.get("supervised")))
                     if on)


def queue_label(queue: str, count: int) -> str:
    return f"{tr(f'home.queue.{queue}', days=DUE_SOON_DAYS)} ({count:,})"


def queue_table(queue: str, result: dict, *, key: str, show_street: bool = True) -> None:
    rows = result["rows"]
    if not rows:
        st.caption(tr("home.queue.empty"))
        return
    code, due = tr("col.open_link"), tr("col.due_date")
    columns = {"title": "col.title", "enterprise": "col.enterprise",
               "category": "col.category", "status": "col.status",
               **EXTRA_COLUMNS.get(queue, {})}
    if not show_street:
        columns.pop("street", None)
    table = []
    for row in rows:
        item = {code: appeal_url(row["code"]), due: row["due_date"],
                tr("col.urgency"): urgency(row)[1], tr("col.flags"): flags_text(row)}
        for field, caption in columns.items():
            value = row.get(field)
            if field == "status":
                value = lbl("status", value)
            elif field == "received_at" and value is not None:
                value = value.date()
            item[tr(caption)] = "—" if value in (None, "") else value
        table.append(item)
    st.dataframe(table, hide_index=True, key=key, width="stretch",
                 column_config={code: st.column_config.LinkColumn(
                     code, display_text=r"code=(.*)$"), due: date_column(due)})
    if result["count"] > len(rows):
        st.caption(tr("home.queue.more", n=result["count"], shown=len(rows)))


def queue_tabs(queues: dict[str, dict], *, key: str, show_street: bool = True) -> None:
    """All of a role's queues as tabs, each labelled with its count."""
    if not queues:
        return
    names = list(queues)
    for name, tab in zip(names, st.tabs([queue_label(n, queues[n]["count"]) for n in names]),
                         strict=True):
        with tab:
            queue_table(name, queues[name], key=f"{key}_{name}", show_street=show_street)
