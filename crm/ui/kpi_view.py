"""What the KPI pages share: filters, headline numbers with change, tables, drill-down.

Numbers come from crm.services.kpi through `load`, keyed on the KPI revision, so
a page shows cached results until any appeal changes anywhere (this app, another
browser, the CLI, an import), and recomputes then.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from crm.services import kpi
from crm.ui.actions import load, read
from crm.ui.state import tr
from crm.ui.widgets import DASH, appeal_table, fmt_date, metric_columns

RATE_KEYS = ("composite_score", "response_rate", "resolution_rate", "satisfaction_rate",
             "closed_on_time_rate")
COUNT_KEYS = ("appeals_total", "appeals_replied", "appeals_open", "overdue_open")
DAY_KEYS = ("median_days_to_reply", "p90_days_to_reply")
TABLE_KEYS = RATE_KEYS + COUNT_KEYS + DAY_KEYS
# Fewer is better for these: a rise shows red.
LOWER_IS_BETTER = {"overdue_open", "median_days_to_reply", "p90_days_to_reply", "appeals_open"}


def revision() -> int:
    return read(kpi.revision)


def options() -> dict:
    return load(kpi.filter_options, version=revision())


def period_picker(key: str) -> tuple[dt.date, dt.date]:
    """Preset periods (last month first: the bulletin's) or two dates."""
    presets = kpi.period_presets()
    names = {**{p: tr(f"kpi.period.{p}") for p in kpi.PERIOD_PRESETS},
             "custom": tr("kpi.period.custom")}
    left, mid, right = st.columns([2, 1, 1])
    chosen = left.selectbox(tr("kpi.period"), list(names), key=f"{key}_period",
                            format_func=names.get)
    if chosen == "custom":
        start, end = presets["last_12_months"]
        date_from = mid.date_input(tr("kpi.from"), value=start, key=f"{key}_from")
        date_to = right.date_input(tr("kpi.to"), value=end, key=f"{key}_to")
        if date_from > date_to:
            st.warning(tr("kpi.bad_period"))
            st.stop()
        return date_from, date_to
    date_from, date_to = presets[chosen]
    mid.caption(tr("kpi.period_shown", start=fmt_date(date_from), end=fmt_date(date_to)))
    return date_from, date_to


def as_of_line(date_to: dt.date) -> dt.date:
    """State the day the page's numbers are judged on (kpi.as_of_for), and return it."""
    as_of = kpi.as_of_for(date_to)
    st.caption(tr("kpi.as_of", as_of=fmt_date(as_of)))
    return as_of


def _choice(column, caption: str, items: list[dict], key: str, *, everyone: str) -> int | None:
    names = {None: everyone, **{i["id"]: i["name"] for i in items}}
    if len(items) == 1:
        names = {items[0]["id"]: items[0]["name"]}
    return column.selectbox(caption, list(names), key=key, format_func=names.get)


def filters(key: str, *, dims: tuple[str, ...] = ("street", "unit", "category")) -> dict:
    """Street, lead unit and category pickers; returns the service keyword arguments."""
    opts = options()
    columns = st.columns(len(dims))
    chosen = {}
    for column, dim in zip(columns, dims, strict=True):
        items = opts[{"street": "streets", "unit": "units", "category": "categories"}[dim]]
        chosen[f"{dim}_id"] = _choice(column, tr(f"kpi.filter.{dim}"), items, f"{key}_{dim}",
                                      everyone=tr(f"kpi.all.{dim}"))
    return chosen


def fmt_value(key: str, value) -> str:
    if value is None:
        return DASH
    if key in RATE_KEYS:
        return f"{value:.1%}"
    if key in DAY_KEYS:
        return tr("kpi.days", n=value)
    return f"{value:,}"


def _delta(key: str, now, before) -> str | None:
    if now is None or before is None:
        return None
    if key in RATE_KEYS:
        return tr("kpi.pp", n=f"{(now - before) * 100:+.1f}")
    return f"{now - before:+,}"


def headline(current: dict, previous: dict, keys: tuple[str, ...]) -> None:
    """st.metric per KPI with the change against the previous period."""
    for column, k in zip(st.columns(len(keys)), keys, strict=True):
        column.metric(tr(f"kpi.key.{k}"), fmt_value(k, current[k]),
                      delta=_delta(k, current[k], previous[k]),
                      delta_color="inverse" if k in LOWER_IS_BETTER else "normal",
                      help=tr(f"kpi.help.{k}"))


def frame(rows: list[dict], dimension: str) -> pd.DataFrame:
    """Rows as a table: name, rank, then every KPI (rates in percent)."""
    # a column with a gap (no callbacks yet, no rank) is shown as text: "—", not None
    gaps = {k for k in (*TABLE_KEYS, "rank") if any(row.get(k) is None for row in rows)}
    table = []
    for row in rows:
        shown = {tr(f"kpi.dim.{dimension}"): row[dimension] or tr("kpi.none"),
                 tr("kpi.rank"): DASH if row.get("rank") is None else row["rank"]}
        if "rank" in gaps:
            shown[tr("kpi.rank")] = str(shown[tr("kpi.rank")])
        for k in TABLE_KEYS:
            value = row[k]
            if k in gaps:
                shown[tr(f"kpi.key.{k}")] = fmt_value(k, value)
            else:
                shown[tr(f"kpi.key.{k}")] = round(value * 100, 2) if k in RATE_KEYS else value
        table.append(shown)
    return pd.DataFrame(table)


def _column_config(data: pd.DataFrame) -> dict:
    """Percent and rank formats for the columns that stayed numbers."""
    numeric = set(data.select_dtypes("number").columns)
    config = {tr(f"kpi.key.{k}"): st.column_config.NumberColumn(format="%.1f%%")
              for k in RATE_KEYS if tr(f"kpi.key.{k}") in numeric}
    if tr("kpi.rank") in numeric:
        config[tr("kpi.rank")] = st.column_config.NumberColumn(format="%d")
    return config


def kpi_table(rows: list[dict], dimension: str, *, key: str) -> tuple[dict, str] | None:
    """The KPI table; clicking a cell returns (its row, its KPI key) for the drill-down."""
    data = frame(rows, dimension)
    event = st.dataframe(data, hide_index=True, width="stretch", key=key,
                         column_config=_column_config(data), on_select="rerun",
                         selection_mode="single-cell")
    cells = event.selection.get("cells", []) if event else []
    if not cells:
        return None
    row_index, column = cells[0]
    by_caption = {tr(f"kpi.key.{k}"): k for k in TABLE_KEYS}
    if row_index >= len(rows):
        return None
    return rows[row_index], by_caption.get(column, "appeals_total")


def drilldown(base: dict, *, key: str, targets: dict[object, str], target_kw: str | None,
              clicked: tuple[object, str] | None = None) -> None:
    """The appeals behind a number: pick a row of the table (or the whole) and a measure.

    `base` holds the period, as-of and filters; `targets` maps a row's id to its name
    (None: the whole selection); `target_kw` is the service keyword the row id sets
    (street_id, unit_id, category_id, month). A click on a table cell (`clicked`:
    row id, KPI key) preselects both pickers.
    """
    st.subheader(tr("kpi.drill.title"))
    target_key, measure_key = f"{key}_target", f"{key}_measure"
    if clicked is not None and st.session_state.get(f"{key}_clicked") != clicked:
        st.session_state[f"{key}_clicked"] = clicked
        st.session_state[target_key] = clicked[0] if clicked[0] in targets else None
        st.session_state[measure_key] = kpi.DRILL_FOR_KEY.get(clicked[1], "total")
    names = {None: tr("kpi.drill.all"), **targets}
    measures = {m: tr(f"kpi.measure.{m}") for m in kpi.DRILL_MEASURES}
    left, right = st.columns(2)
    target = left.selectbox(tr("kpi.drill.target"), list(names), key=target_key,
                            format_func=names.get)
    measure = right.selectbox(tr("kpi.drill.measure"), list(measures), key=measure_key,
                              format_func=measures.get)
    kw = dict(base)
    if target is not None and target_kw is not None:
        kw[target_kw] = target
    result = load(kpi.drill, measure, version=revision(), **kw)
    st.caption(tr("kpi.drill.count", n=result["count"], shown=len(result["rows"])))
    appeal_table(result["rows"], key=f"{key}_appeals")
    rows = {r["id"]: f"{r['code']} · {r['title']}" for r in result["rows"]}
    chosen = st.selectbox(tr("appeals.open_one"), list(rows), format_func=rows.get, index=None,
                          key=f"{key}_open", placeholder=tr("appeals.open_hint"))
    if chosen is not None:
        st.session_state["appeal_id"] = chosen
        st.switch_page("pages/appeal.py")


def axis_title(title: str, low: float) -> str:
    """A rate axis that does not start at 0 says so in its title."""
    return title if low <= 0 else tr("kpi.axis_from", title=title, low=f"{low:g}")


def trend_chart(trend: list[dict]) -> None:
    """Composite and the three scored rates per month, as lines on a zoomed axis (its
    title says where it starts)."""
    import altair as alt

    if not trend:
        st.caption(tr("kpi.no_data"))
        return
    keys = ("composite_score", "response_rate", "resolution_rate", "satisfaction_rate")
    month, name, value = tr("kpi.dim.month"), tr("kpi.drill.measure"), "%"
    data = pd.DataFrame([{month: r["month"], name: tr(f"kpi.key.{k}"),
                          value: round(r[k] * 100, 1)}
                         for r in trend for k in keys if r[k] is not None])
    if data.empty:
        st.caption(tr("kpi.no_data"))
        return
    low = max(0.0, (data[value].min() // 5) * 5 - 5)
    chart = (alt.Chart(data).mark_line(point=True).encode(
        x=alt.X(f"{month}:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{value}:Q", scale=alt.Scale(domain=[low, 100]),
                title=axis_title(tr("kpi.axis_rate"), low)),
        color=alt.Color(f"{name}:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[month, name, value]).properties(height=280))
    st.altair_chart(chart, width="stretch")


def ranking_chart(rows: list[dict], dimension: str) -> None:
    """Composite score per row as horizontal bars, best on top, every row labelled; the
    axis starts just below the lowest score so close scores stay apart, and says so."""
    import altair as alt

    if not any(r["composite_score"] is not None for r in rows):
        return
    name, score = tr(f"kpi.dim.{dimension}"), tr("kpi.key.composite_score")
    # every row keeps its label, a row without a score too (no bar), best on top
    data = pd.DataFrame({name: [r[dimension] or tr("kpi.none") for r in rows],
                         score: [None if r["composite_score"] is None
                                 else round(r["composite_score"] * 100, 1) for r in rows]})
    low = max(0.0, (data[score].min() // 5) * 5 - 5)
    order = data.sort_values(score, ascending=False, na_position="last")[name].tolist()
    chart = (alt.Chart(data).mark_bar(clip=True).encode(
        x=alt.X(f"{score}:Q", scale=alt.Scale(domain=[low, 100]),
                title=axis_title(f"{score} (%)", low)),
        y=alt.Y(f"{name}:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=0, labelOverlap=False, labelFontSize=12)),
        tooltip=[name, score]).properties(height=max(160, 28 * len(data))))
    st.altair_chart(chart, width="stretch")


def coverage_headline(street_id: int | None) -> None:
    """The 包联送 coverage numbers beside the appeal KPIs (the coverage page has the rest)."""
    from crm.services import coverage

    c = load(coverage.summary, street_id=street_id)
    st.subheader(tr("kpi.coverage"))
    rate = c["coverage_rate"]
    above = c["above_scale_coverage_rate"]
    items = [
        (tr("coverage.covered"), f"{c['firms_covered']:,} / {c['firms_total']:,}",
         None if rate is None else f"{rate:.1%}"),
        (tr("coverage.above_scale_covered"),
         f"{c['above_scale_covered']:,} / {c['above_scale_total']:,}",
         None if above is None else f"{above:.1%}"),
        (tr("coverage.without_cadre"), f"{c['firms_without_cadre']:,}", None),
        (tr("coverage.not_visited", days=c["not_visited_days"]), f"{c['not_visited']:,}", None),
        (tr("coverage.visits_30"), f"{c['visits_last_30_days']:,}", None),
    ]
    for column, (caption, value, note) in zip(metric_columns(len(items)), items, strict=True):
        column.metric(caption, value, delta=note, delta_color="off")
