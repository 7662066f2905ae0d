"""KPIs of the 12345-style regime: rates, composite score, overdue and days to reply.

Everything is counted in the database over the appeals received in a period
(inclusive dates), status 'merged' excluded, within the viewer's scope. Two
sources give the same numbers:
- the rollup tables (crm/models/kpi.py, kept current on every write by
  crm/services/kpi_facts.py): a few thousand rows for years of appeals, so the
  overview answers in milliseconds. Used when the scope is the district or a
  street (officials, admins, liaisons);
- the `appeal` table itself, with COUNT / SUM(CASE …) and a `GROUP BY days`
  histogram for the percentiles: used for scopes the rollups cannot express
  (a handler's lead-or-co-handling appeals, a cadre's firms) and as the
  reference the rollups are tested against.
Overdue open is always counted on `appeal` (open appeals are few and indexed by
status and due date), because it depends on the as-of date.

Definitions (see DOMAIN.md "KPIs"):
- closed_on_time_rate = replied with replied_at's date ≤ due_date ÷ replied
- satisfaction_rate   = (satisfied + w × basic) ÷ valid callbacks (satisfaction set)
- resolution_rate     = callback_solved ÷ valid callbacks
- response_rate       = accepted within `kpi.sign_limit_days` of dispatch ÷ dispatched
- composite_score     = weights · (response, resolution, satisfaction); None if a part is None
Rates are fractions rounded to 4 decimals, None when the denominator is 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from crm.access import ALL, STREET, condition, require
from crm.auth import Actor
from crm.db import today as _today
from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal, Category, Setting, Street, Unit
from crm.models.kpi import HIST, HIST_DAYS, MEASURES, NO_ID, kpi_day_cell, kpi_day_street
from crm.services import escalation, kpi_facts

KEYS = ("appeals_total", "appeals_replied", "appeals_open", "closed_on_time_rate",
        "satisfaction_rate", "resolution_rate", "response_rate", "composite_score",
        "overdue_open", "median_days_to_reply", "p90_days_to_reply")
DIMENSIONS = ("street", "unit", "category", "month")
DEFAULT_WEIGHTS = {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}

_COUNTS = ("total", "replied", "open", "on_time", "callbacks", "satisfied", "basic", "solved",
           "dispatched", "responded", "overdue")


# --- dialect helpers ---------------------------------------------------------------------

def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month(session: Session):
    if _dialect(session) == "sqlite":
        return func.strftime("%Y-%m", Appeal.received_at)
    return func.to_char(Appeal.received_at, "YYYY-MM")


# --- building blocks ---------------------------------------------------------------------

def _scope(actor: Actor) -> str:
    """The scope the actor reads KPIs in ("kpi.read"); refused without it. No actor (the
    command line, the bulletin job) reads the whole district."""
    return require(actor, "kpi.read")


def _filters(*, actor: Actor | None, date_from: dt.date | None, date_to: dt.date | None,
             street_id: int | None, unit_id: int | None = None,
             category_id: int | None = None) -> list:
    conds = [Appeal.status != "merged"]
    if unit_id is not None:
        conds.append(Appeal.lead_unit_id == unit_id)
    if category_id is not None:
        conds.append(Appeal.category_id == category_id)
    if actor is not None:
        _scope(actor)  # refuses a role without "kpi.read"
        conds.append(condition(actor, "kpi.read", Appeal))
    if date_from is not None:
        conds.append(Appeal.received_at >= dt.datetime.combine(date_from, dt.time()))
    if date_to is not None:
        conds.append(Appeal.received_at
                     < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    if street_id is not None:
        conds.append(Appeal.street_id == street_id)
    return conds


def _count_columns(session: Session, as_of: dt.date, sign_days: float) -> list:
    """The `_COUNTS` in order: the rollups' flag sums plus overdue on the as-of date."""
    flags = kpi_facts.flag_sums(_dialect(session), sign_days)
    is_open = kpi_facts.conditions(_dialect(session), sign_days)["open"]
    return [flags[f"n_{name}"] for name in _COUNTS[:-1]] + [
        kpi_facts.sum_of(and_(is_open, Appeal.due_date < as_of))]


def _counts_by(session: Session, key, conds: list, as_of: dt.date,
               sign_days: float) -> dict:
    """{key: {count name: int}}; key None means one district-wide row under None."""
    cols = _count_columns(session, as_of, sign_days)
    query = select(*(([key] if key is not None else []) + cols)).select_from(Appeal).where(*conds)
    if key is not None:
        query = query.group_by(key)
    out = {}
    for row in session.execute(query).all():
        k, values = (row[0], row[1:]) if key is not None else (None, row)
        out[k] = {name: int(v or 0) for name, v in zip(_COUNTS, values, strict=True)}
    return out


def nearest_rank(counts: Iterable[tuple[int, int]], q: float) -> int | None:
    """Nearest-rank percentile of a (value, count) histogram: the smallest value whose
    cumulative count reaches ceil(q·n). None for an empty histogram."""
    hist = sorted((int(v), int(c)) for v, c in counts if c)
    n = sum(c for _, c in hist)
    if not n:
        return None
    need = max(1, math.ceil(Fraction(str(q)) * n))
    seen = 0
    for value, count in hist:
        seen += count
        if seen >= need:
            return value
    return hist[-1][0]


def _days_hist_by(session: Session, key, conds: list) -> dict:
    """{key: [(days, count), …]} over replied appeals."""
    days = kpi_facts.days_to_reply(_dialect(session)).label("days")
    cols = ([key] if key is not None else []) + [days, func.count()]
    query = (select(*cols).select_from(Appeal).where(*conds, Appeal.replied_at.is_not(None))
             .group_by(*([key] if key is not None else []), days))
    out: dict = {}
    for row in session.execute(query).all():
        k, d, c = (row[0], row[1], row[2]) if key is not None else (None, row[0], row[1])
        out.setdefault(k, []).append((d, c))
    return out


def _rate(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _r4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _finish(c: dict | None, percentiles: tuple[int | None, int | None], weight: float,
            weights: dict) -> dict:
    c = c or dict.fromkeys(_COUNTS, 0)
    on_time = _rate(c["on_time"], c["replied"])
    satisfaction = _rate(c["satisfied"] + weight * c["basic"], c["callbacks"])
    resolution = _rate(c["solved"], c["callbacks"])
    response = _rate(c["responded"], c["dispatched"])
    parts = (response, resolution, satisfaction)
    composite = None if any(p is None for p in parts) else (
        weights["response"] * response + weights["resolution"] * resolution
        + weights["satisfaction"] * satisfaction)
    return {
        "appeals_total": c["total"],
        "appeals_replied": c["replied"],
        "appeals_open": c["open"],
        "closed_on_time_rate": _r4(on_time),
        "satisfaction_rate": _r4(satisfaction),
        "resolution_rate": _r4(resolution),
        "response_rate": _r4(response),
        "composite_score": _r4(composite),
        "overdue_open": c["overdue"],
        "median_days_to_reply": percentiles[0],
        "p90_days_to_reply": percentiles[1],
    }


def _settings(session: Session) -> tuple[float, dict, float]:
    """(基本满意 weight, composite weights, signing limit in days), in one query."""
    keys = ("kpi.basic_satisfied_weight", "kpi.weights", "kpi.sign_limit_days")
    stored = dict(session.execute(select(Setting.key, Setting.value)
                                  .where(Setting.key.in_(keys))).all())
    weight = float(stored.get(keys[0], 0.9))
    weights = {**DEFAULT_WEIGHTS, **(stored.get(keys[1]) or {})}
    weights = {k: float(weights[k]) for k in DEFAULT_WEIGHTS}
    sign_days = float(stored.get(keys[2], 1))
    return weight, weights, sign_days


# --- the rollup source -------------------------------------------------------------------

SOURCES = ("auto", "rollups", "appeals")


def _uses_rollups(actor: Actor | None, source: str) -> bool:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    can = actor is None or _scope(actor) in (ALL, STREET)
    if source == "rollups" and not can:
        raise ValueError("the rollups cannot express this scope")
    return can and source != "appeals"


def _rollup_counts(session: Session, dimension: str | None, *, actor: Actor | None,
                   date_from, date_to, street_id, unit_id, category_id) -> dict:
    """{key: {measure: int}} summed from the rollup table that is enough for the request."""
    fine = unit_id is not None or category_id is not None or dimension in ("unit", "category")
    table = kpi_day_cell if fine else kpi_day_street
    conds = []
    if actor is not None and _scope(actor) == STREET:
        conds.append(table.c.street_id == (actor.street_id or -1))
    if date_from is not None:
        conds.append(table.c.day >= date_from)
    if date_to is not None:
        conds.append(table.c.day <= date_to)
    if street_id is not None:
        conds.append(table.c.street_id == street_id)
    if unit_id is not None:
        conds.append(table.c.unit_id == unit_id)
    if category_id is not None:
        conds.append(table.c.category_id == category_id)
    if dimension == "month":
        key = (func.strftime("%Y-%m", table.c.day) if _dialect(session) == "sqlite"
               else func.to_char(table.c.day, "YYYY-MM"))
    else:
        key = {None: None, "street": table.c.get("street_id"), "unit": table.c.get("unit_id"),
               "category": table.c.get("category_id")}[dimension]
    sums = [func.coalesce(func.sum(table.c[m]), 0) for m in MEASURES]
    query = select(*(([key] if key is not None else []) + sums)).where(*conds)
    if key is not None:
        query = query.group_by(key)
    out = {}
    for row in session.execute(query).all():
        k, values = (row[0], row[1:]) if key is not None else (None, row)
        k = None if (dimension in ("street", "unit") and k == NO_ID) else k
        acc = out.setdefault(k, dict.fromkeys(MEASURES, 0))
        for name, v in zip(MEASURES, values, strict=True):
            acc[name] += int(v or 0)
    return out


def _overdue_by(session: Session, key, conds: list, as_of: dt.date) -> dict:
    query = (select(*([key] if key is not None else []), func.count()).select_from(Appeal)
             .where(*conds, Appeal.status.in_(OPEN_STATUSES), Appeal.due_date < as_of))
    if key is not None:
        query = query.group_by(key)
    return {(row[0] if key is not None else None): int(row[-1])
            for row in session.execute(query).all()}


def _from_rollup(m: dict | None, overdue: int) -> dict:
    m = m or dict.fromkeys(MEASURES, 0)
    return {"total": m["n_total"], "replied": m["n_replied"], "open": m["n_open"],
            "on_time": m["n_on_time"], "callbacks": m["n_callbacks"],
            "satisfied": m["n_satisfied"], "basic": m["n_basic"], "solved": m["n_solved"],
            "dispatched": m["n_dispatched"], "responded": m["n_responded"], "overdue": overdue}


def _rollup_percentiles(m: dict | None, exact) -> tuple[int | None, int | None]:
    """Median and p90 from the rollup histogram; `exact()` gives the full histogram when
    a percentile falls in the open-ended last bucket (31 days or more)."""
    if not m:
        return None, None
    hist = [(i, m[name]) for i, name in enumerate(HIST)]
    median, p90 = nearest_rank(hist, 0.5), nearest_rank(hist, 0.9)
    if (median is not None and median >= HIST_DAYS) or (p90 is not None and p90 >= HIST_DAYS):
        full = exact()
        return nearest_rank(full, 0.5), nearest_rank(full, 0.9)
    return median, p90


def _key_expr(session: Session, dimension: str | None):
    return {None: None, "street": Appeal.street_id, "unit": Appeal.lead_unit_id,
            "category": Appeal.category_id,
            "month": _month(session) if dimension == "month" else None}[dimension]


def _numbers_by(session: Session, dimension: str | None, *, actor: Actor | None,
                date_from, date_to, as_of, street_id, unit_id, category_id,
                source: str = "auto") -> dict:
    """{key: KPI dict} for the dimension (key None for the district)."""
    weight, weights, sign_days = _settings(session)
    conds = _filters(actor=actor, date_from=date_from, date_to=date_to, street_id=street_id,
                     unit_id=unit_id, category_id=category_id)
    key = _key_expr(session, dimension)
    if _uses_rollups(actor, source):
        kpi_facts.ensure_fresh(session)
        rolled = _rollup_counts(session, dimension, actor=actor, date_from=date_from,
                                date_to=date_to, street_id=street_id, unit_id=unit_id,
                                category_id=category_id)
        overdue = _overdue_by(session, key, conds, as_of)
        exact_cache: dict = {}

        def exact(k):
            if not exact_cache:
                exact_cache.update(_days_hist_by(session, key, conds))
            return exact_cache.get(k, [])

        return {k: _finish(_from_rollup(m, overdue.get(k, 0)),
                           _rollup_percentiles(m, lambda k=k: exact(k)), weight, weights)
                for k, m in rolled.items() if m["n_total"]}
    counts = _counts_by(session, key, conds, as_of, sign_days)
    hists = _days_hist_by(session, key, conds)
    return {k: _finish(c, (nearest_rank(hists.get(k, []), 0.5),
                           nearest_rank(hists.get(k, []), 0.9)), weight, weights)
            for k, c in counts.items()}


# --- public API --------------------------------------------------------------------------

def compute(session: Session, *, actor: Actor | None = None, date_from: dt.date | None = None,
            date_to: dt.date | None = None, as_of: dt.date | None = None,
            street_id: int | None = None, unit_id: int | None = None,
            category_id: int | None = None, group_by: str | None = None,
            source: str = "auto"):
    """District numbers (a dict with exactly `KEYS`) over the period and scope.

    `unit_id` filters on the lead unit (主办), whose score the appeal counts towards.
    `source` picks the rollup tables or the appeal table ("auto": the rollups
    whenever they can express the scope); both give the same numbers.
    With `group_by` in DIMENSIONS the result is `grouped(...)` instead (a list).
    """
    if group_by is not None:
        return grouped(session, group_by, actor=actor, date_from=date_from, date_to=date_to,
                       as_of=as_of, street_id=street_id, unit_id=unit_id,
                       category_id=category_id, source=source)
    numbers = _numbers_by(session, None, actor=actor, date_from=date_from, date_to=date_to,
                          as_of=as_of_for(date_to, as_of), street_id=street_id,
                          unit_id=unit_id, category_id=category_id, source=source)
    weight, weights, _ = _settings(session)
    return numbers.get(None) or _finish(None, (None, None), weight, weights)


def _rank(rows: list[dict]) -> None:
    scored = sorted((r for r in rows if r["composite_score"] is not None),
                    key=lambda r: -r["composite_score"])
    for rank, row in enumerate(scored, start=1):
        row["rank"] = rank
    for row in rows:
        row.setdefault("rank", None)


def grouped(session: Session, dimension: str, *, actor: Actor | None = None,
            date_from: dt.date | None = None, date_to: dt.date | None = None,
            as_of: dt.date | None = None, street_id: int | None = None,
            unit_id: int | None = None, category_id: int | None = None,
            source: str = "auto") -> list[dict]:
    """The KPIs per street, lead unit, category or month ('YYYY-MM' of received_at).

    Each row is {dimension: name, "id": key, **KPIs, "rank"}; rank is 1-based by
    composite score among rows that have one (equal scores get consecutive ranks in
    list order). Streets and categories are listed even without appeals (rates None);
    units only when they lead an appeal in the period; months only when they have
    appeals. Streets, units and categories are sorted by composite score (None last),
    then the reference order; months chronologically.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}, not {dimension!r}")
    numbers = _numbers_by(session, dimension, actor=actor, date_from=date_from,
                          date_to=date_to, as_of=as_of_for(date_to, as_of), street_id=street_id,
                          unit_id=unit_id, category_id=category_id, source=source)
    weight, weights, _ = _settings(session)
    if dimension == "street":
        query = select(Street.id, Street.name).order_by(Street.sort_order, Street.name)
        if street_id is not None:
            query = query.where(Street.id == street_id)
        if actor is not None and _scope(actor) == STREET:
            query = query.where(Street.id == actor.street_id)
        labels = session.execute(query).all()
    elif dimension == "category":
        query = select(Category.id, Category.name).order_by(Category.sort_order, Category.name)
        if category_id is not None:
            query = query.where(Category.id == category_id)
        labels = session.execute(query).all()
    elif dimension == "unit":
        ids = [k for k in numbers if k is not None]
        labels = session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))
                                 .order_by(Unit.name)).all() if ids else []
    else:
        labels = [(m, m) for m in sorted(k for k in numbers if k is not None)]
    empty = _finish(None, (None, None), weight, weights)
    rows = [{dimension: name, "id": k, **(numbers.get(k) or empty)} for k, name in labels]
    _rank(rows)
    if dimension != "month":
        # sorted() is stable: ties keep the reference order
        rows.sort(key=lambda r: (r["composite_score"] is None, -(r["composite_score"] or 0)))
    return rows


def by_street(session: Session, *, actor: Actor | None = None,
              date_from: dt.date | None = None, date_to: dt.date | None = None,
              as_of: dt.date | None = None, street_id: int | None = None) -> list[dict]:
    """Every street/town ({"street": name, "id", **KPIs, "rank"}), best composite first."""
    return grouped(session, "street", actor=actor, date_from=date_from, date_to=date_to,
                   as_of=as_of, street_id=street_id)


# --- periods, the overview page and the drill-down ---------------------------------------

def as_of_for(date_to: dt.date | None, as_of: dt.date | None = None) -> dt.date:
    """The day a period's open appeals are judged overdue on, unless `as_of` is given.

    The one rule for every KPI page, the bulletin and the CLI: the day after the
    period's last day, or today while the period is still running (or open-ended).
    A closed month is judged on the 1st of the next month however late it is looked
    at, so the overview and the bulletin of the same month show the same numbers.
    """
    if as_of is not None:
        return as_of
    today = _today()
    return today if date_to is None else min(date_to + dt.timedelta(days=1), today)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """('YYYY-MM') → its first and last day."""
    first = dt.date.fromisoformat(f"{month}-01")
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period just before: the same number of whole months when the period is whole
    months (Oct → Sep, Q3 → Q2), else the same number of days."""
    whole_months = (date_from.day == 1
                    and (date_to + dt.timedelta(days=1)).day == 1 and date_to >= date_from)
    if whole_months:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        start = _add_months(date_from, -months)
        return start, date_from - dt.timedelta(days=1)
    length = (date_to - date_from).days + 1
    return date_from - dt.timedelta(days=length), date_from - dt.timedelta(days=1)


def overview(session: Session, *, actor: Actor | None = None, date_from: dt.date,
             date_to: dt.date, as_of: dt.date | None = None, street_id: int | None = None,
             unit_id: int | None = None, category_id: int | None = None,
             trend_months: int = 12) -> dict:
    """Everything the KPI overview shows, in one call (the page caches it).

    - current / previous: the district numbers of the period and of the period before;
    - by_street: the ranking (see `grouped`);
    - trend: per month over the `trend_months` months ending with the period's last month.
    """
    as_of = as_of_for(date_to, as_of)
    scope = dict(actor=actor, as_of=as_of, street_id=street_id, unit_id=unit_id,
                 category_id=category_id)
    prev_from, prev_to = previous_period(date_from, date_to)
    trend_from = _add_months(date_to.replace(day=1), -(trend_months - 1))
    return {
        "period": (date_from, date_to),
        "as_of": as_of,
        "previous_period": (prev_from, prev_to),
        "current": compute(session, date_from=date_from, date_to=date_to, **scope),
        "previous": compute(session, date_from=prev_from, date_to=prev_to, **scope),
        "by_street": grouped(session, "street", date_from=date_from, date_to=date_to, **scope),
        "trend": grouped(session, "month", date_from=trend_from, date_to=date_to, **scope),
    }


# What a click on a number lists: the appeals behind it. A rate drills to the appeals
# that pulled it down by default (late, unsatisfied, unsolved, signed late).
DRILL_MEASURES = ("total", "replied", "open", "overdue", "on_time", "late", "callbacks",
                  "satisfied", "basic", "unsatisfied", "solved", "unsolved", "dispatched",
                  "responded", "not_responded")
DRILL_FOR_KEY = {"appeals_total": "total", "appeals_replied": "replied", "appeals_open": "open",
                 "closed_on_time_rate": "late", "satisfaction_rate": "unsatisfied",
                 "resolution_rate": "unsolved", "response_rate": "not_responded",
                 "composite_score": "unsolved", "overdue_open": "overdue",
                 "median_days_to_reply": "replied", "p90_days_to_reply": "replied"}


def measure_condition(session: Session, measure: str, *, as_of: dt.date,
                      sign_days: float | None = None):
    """The SQL condition that picks the appeals a KPI number counts."""
    if measure not in DRILL_MEASURES:
        raise ValueError(f"measure must be one of {DRILL_MEASURES}, not {measure!r}")
    if sign_days is None:
        sign_days = _settings(session)[2]
    c = kpi_facts.conditions(_dialect(session), sign_days)
    return {
        "total": Appeal.id.is_not(None),
        "replied": c["replied"],
        "open": c["open"],
        "overdue": and_(c["open"], Appeal.due_date < as_of),
        "on_time": c["on_time"],
        "late": and_(c["replied"], ~c["on_time"]),
        "callbacks": c["callbacks"],
        "satisfied": c["satisfied"],
        "basic": c["basic"],
        "unsatisfied": Appeal.satisfaction == "unsatisfied",
        "solved": c["solved"],
        "unsolved": and_(c["callbacks"], ~c["solved"]),
        "dispatched": c["dispatched"],
        "responded": c["responded"],
        "not_responded": and_(c["dispatched"], ~c["responded"]),
    }[measure]


def drill(session: Session, measure: str, *, actor: Actor, date_from: dt.date | None = None,
          date_to: dt.date | None = None, as_of: dt.date | None = None,
          street_id: int | None = None, unit_id: int | None = None,
          category_id: int | None = None, month: str | None = None, limit: int = 200
          ) -> dict:
    """The appeals behind a KPI number: {"count": n, "rows": first `limit` rows}.

    Same period, scope and filters as `compute`; `month` ('YYYY-MM') narrows the
    period to one month of the trend. `count` equals the numerator or denominator
    the number was computed from.
    """
    from crm.services.appeal_queries import AppealFilter, count_appeals, list_appeals

    as_of = as_of_for(date_to, as_of)
    if month:
        first, last = month_bounds(month)
        date_from = max(first, date_from) if date_from else first
        date_to = min(last, date_to) if date_to else last
    _scope(actor)
    f = AppealFilter(street_id=street_id, lead_unit_id=unit_id, category_id=category_id,
                     received_from=date_from, received_to=date_to, as_of=as_of,
                     extra=(Appeal.status != "merged",
                            measure_condition(session, measure, as_of=as_of)))
    rows = list_appeals(session, f, actor=actor, limit=limit, order="newest")
    marks = escalation.flags(session, [r["id"] for r in rows])  # 催办 / 督办 it earned
    for row in rows:
        row["escalation"] = sorted(marks.get(row["id"], ()))
    return {"count": count_appeals(session, f, actor=actor), "rows": rows}


# --- what the KPI pages offer ------------------------------------------------------------

PERIOD_PRESETS = ("last_month", "this_month", "this_quarter", "this_year", "last_12_months")


def period_presets(today: dt.date | None = None) -> dict[str, tuple[dt.date, dt.date]]:
    """The periods officials pick most, relative to today (the bulletin's month first)."""
    today = today or _today()
    this_month = today.replace(day=1)
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return {
        "last_month": (_add_months(this_month, -1), this_month - dt.timedelta(days=1)),
        "this_month": (this_month, today),
        "this_quarter": (quarter, today),
        "this_year": (dt.date(today.year, 1, 1), today),
        "last_12_months": (_add_months(this_month, -11), today),
    }


def filter_options(session: Session, *, actor: Actor | None = None) -> dict:
    """Streets, lead units and categories the viewer may filter by, and the months with
    appeals (newest first) for the bulletin."""
    if actor is not None:
        _scope(actor)
    streets = select(Street.id, Street.name).order_by(Street.sort_order, Street.name)
    if actor is not None and _scope(actor) == STREET:
        streets = streets.where(Street.id == actor.street_id)
    months_q = select(func.min(kpi_day_street.c.day), func.max(kpi_day_street.c.day)).where(
        kpi_day_street.c.n_total > 0)
    first, last = session.execute(months_q).one()
    months = []
    if first is not None:
        cursor = last.replace(day=1)
        while cursor >= first.replace(day=1):
            months.append(f"{cursor:%Y-%m}")
            cursor = _add_months(cursor, -1)
    return {
        "streets": [{"id": i, "name": n} for i, n in session.execute(streets)],
        "units": [{"id": i, "name": n} for i, n in session.execute(
            select(Unit.id, Unit.name).where(Unit.merged_into_id.is_(None))
            .order_by(Unit.kind, Unit.name))],
        "categories": [{"id": i, "name": n} for i, n in session.execute(
            select(Category.id, Category.name).order_by(Category.sort_order, Category.name))],
        "months": months,
    }


def revision(session: Session, *, actor: Actor | None = None) -> int:
    """Changes whenever any KPI input changes: the pages key their cache on it."""
    return kpi_facts.revision(session)
