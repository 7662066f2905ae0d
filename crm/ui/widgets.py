"""Shared display helpers: Chinese-friendly dates, rates, amounts, metric rows, appeal tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from crm.services.dashboard import DUE_SOON_DAYS
from crm.ui.plain import plain
from crm.ui.state import language, lbl, tr

DATE_FORMAT = {"zh": "YYYY年MM月DD日", "en": "YYYY-MM-DD"}
DATETIME_FORMAT = {"zh": "YYYY年MM月DD日 HH:mm", "en": "YYYY-MM-DD HH:mm"}
FLASH_KEY = "flash"
DASH = "—"  # what a table or a number shows for a missing value, in both languages


def flash(message: str) -> None:
    """Keep a success message for the next run (a page reruns to show fresh data)."""
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(plain(message))


def fmt_date(day: dt.date | None) -> str:
    if day is None:
        return "—"
    if language() == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def fmt_day(day: dt.date | dt.datetime | None, *, with_time: bool = False) -> str:
    """A date as a table shows it (zero-padded, so it sorts as text); "—" for none."""
    if day is None:
        return DASH
    if isinstance(day, dt.datetime) and with_time:
        return day.strftime("%Y年%m月%d日 %H:%M" if language() == "zh" else "%Y-%m-%d %H:%M")
    return day.strftime("%Y年%m月%d日" if language() == "zh" else "%Y-%m-%d")


def shown_value(value: object) -> object:
    """A cell for a table column that has gaps: numbers with thousands separators and "—"
    for a missing value (st.dataframe would print None)."""
    if value is None or (isinstance(value, float) and value != value):
        return DASH
    if isinstance(value, bool):
        return tr("common.yes") if value else tr("common.no")
    if isinstance(value, dt.date):
        return fmt_day(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return value


def dash_gaps(table: list[dict]) -> list[dict]:
    """Rows for st.dataframe where a column with a missing value shows "—" (the whole
    column as text, numbers with separators) instead of None."""
    gaps = {k for row in table for k, v in row.items() if v is None}
    return [{k: shown_value(v) if k in gaps else v for k, v in row.items()} for row in table]


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def fmt_amount(wan: float | None) -> str:
    """Amounts are kept in 万元 (10,000 yuan), as the chambers and banks report them."""
    return "—" if wan is None else tr("fmt.wan", amount=f"{wan:,.1f}")


def date_column(label: str) -> st.column_config.DateColumn:
    return st.column_config.DateColumn(label, format=DATE_FORMAT[language()])


def datetime_column(label: str) -> st.column_config.DatetimeColumn:
    return st.column_config.DatetimeColumn(label, format=DATETIME_FORMAT[language()])


def metric_columns(n: int) -> list:
    """Columns for `n` headline numbers, at most four a row (five or more: three a row), so
    a value like "1,252 / 2,000" or "6,020.0" is never cut off with an ellipsis."""
    per_row = n if n <= 4 else 3
    columns = []
    for start in range(0, n, per_row):
        columns += st.columns(per_row)[:min(per_row, n - start)]
    return columns


def metric_row(items: Sequence[tuple[str, object]]) -> None:
    for column, (caption, value) in zip(metric_columns(len(items)), items, strict=True):
        column.metric(caption, DASH if value is None else value)


def urgency(row: dict) -> tuple[str | None, str]:
    """(kind, text) of the flag the eye should catch first: overdue, or due within 3 days."""
    days = row.get("days_left")
    if days is None:
        return None, ""
    if days < 0:
        return "overdue", tr("worklist.overdue_by", days=-days)
    if days == 0:
        return "soon", tr("worklist.due_today")
    if days <= DUE_SOON_DAYS:  # the same window the home page counts
        return "soon", tr("worklist.due_in", days=days)
    return None, ""


_ROW_STYLE = {"overdue": "background-color: #fdecea; color: #8a1c12",
              "soon": "background-color: #fff4e0"}


def appeal_link(code: str) -> str:
    """The address that opens an appeal by its QF number (pages/appeal.py)."""
    return f"/appeal?code={code}"


def appeal_table(rows: list[dict], *, key: str, show_street: bool = True,
                 show_unit: bool = True, selectable: bool = False) -> str | None:
    """Appeals with overdue rows tinted red and those due within three days amber; the QF
    number is a link to the appeal. `selectable`: clicking a row selects it, and the
    selected row's QF number is returned (the page opens it in this session)."""
    if not rows:
        st.info(tr("worklist.none"))
        return None
    cols = {"urgency": tr("col.urgency"), "due_date": tr("col.due_date"),
            "code": tr("col.code"), "title": tr("col.title"),
            "enterprise": tr("col.enterprise"), "category": tr("col.category"),
            "status": tr("col.status"), "street": tr("col.street"),
            "lead_unit": tr("col.lead_unit"), "received_at": tr("col.received_at")}
    if not show_street:
        del cols["street"]
    if not show_unit:
        del cols["lead_unit"]
    if "escalation" in rows[0]:  # the KPI drill-down: 催办 / 督办 the appeal earned
        cols["escalation"] = tr("col.flags")
    kinds, table = [], []
    for row in rows:
        kind, flag = urgency(row)
        kinds.append(kind)
        shown = {**row, "urgency": flag, "status": lbl("status", row["status"]),
                 "escalation": "、".join(tr(f"event.{k}") for k in row.get("escalation", ())),
                 "code": appeal_link(row["code"]) if row.get("code") else None}
        table.append({caption: _blank(shown.get(field)) for field, caption in cols.items()})
    frame = pd.DataFrame(table)
    styled = frame.style.apply(
        lambda r: [_ROW_STYLE.get(kinds[r.name], "")] * len(r), axis=1)
    config = {cols["due_date"]: date_column(cols["due_date"]),
              cols["received_at"]: datetime_column(cols["received_at"]),
              cols["code"]: st.column_config.LinkColumn(cols["code"],
                                                        display_text=r"code=(.*)$")}
    if not selectable:
        st.dataframe(styled, hide_index=True, key=key, width="stretch", column_config=config)
        return None
    event = st.dataframe(styled, hide_index=True, key=key, width="stretch",
                         column_config=config, on_select="rerun", selection_mode="single-row")
    chosen = event.selection.rows if event is not None else []
    return rows[chosen[0]]["code"] if chosen and chosen[0] < len(rows) else None


def _blank(value: object) -> object:
    return DASH if value is None else value


def records_table(rows: list[dict], columns: dict[str, str], *, key: str,
                  dates: tuple[str, ...] = (), datetimes: tuple[str, ...] = (),
                  labels: dict[str, str] | None = None, empty: str = "common.none") -> None:
    """A read-only table: `columns` maps field → i18n key; `labels` maps field → label kind."""
    if not rows:
        st.caption(tr(empty))
        return
    labels = labels or {}
    captions = {field: tr(key_) for field, key_ in columns.items()}
    texts = {f for f in columns if f not in dates and f not in datetimes
             and all(isinstance(r.get(f), str | type(None)) for r in rows)}
    # a column with a gap is shown as text, so the gap reads "—" and not None
    gaps = {f for f in columns if f not in texts and f not in labels
            and any(r.get(f) is None for r in rows)}
    table = []
    for row in rows:
        values = {f: lbl(labels[f], row.get(f)) if f in labels else row.get(f) for f in columns}
        for f in gaps:
            values[f] = (fmt_day(values[f], with_time=f in datetimes) if f in dates + datetimes
                         else shown_value(values[f]))
        table.append({captions[f]: _blank(v) if f in texts or f in labels else v
                      for f, v in values.items()})
    st.dataframe(table, hide_index=True, key=key, width="stretch",
                 column_config={**{captions[f]: date_column(captions[f])
                                   for f in dates if f not in gaps},
                                **{captions[f]: datetime_column(captions[f])
                                   for f in datetimes if f not in gaps}})


def edited_rows(edited: list[dict], original: list[dict],
                fields: Sequence[str]) -> dict[int, dict]:
    """{row id: {field: new value}} for the rows a st.data_editor changed."""
    changes = {}
    for new, old in zip(edited, original, strict=True):
        diff = {f: new[f] for f in fields if new[f] != old[f]}
        if diff:
            changes[old["id"]] = diff
    return changes


def facts_list(pairs: Sequence[tuple[str, object]]) -> str:
    """Markdown bullets "**label**: value" for a record's facts; blanks show a dash. The
    values are people's text, shown as text (crm.ui.plain)."""
    sep = "：" if language() == "zh" else ": "
    return "\n".join(f"- **{tr(key)}**{sep}{plain(value) if value not in (None, '') else '—'}"
                     for key, value in pairs)
