"""Coverage of 包联送: how many firms have an owner cadre, which were not visited lately.

Definitions (the numbers officials are shown, and the lists behind them):

- a firm counts when it is active (`enterprise.active`) and in the viewer's scope;
- *covered*: it has an active cadre_enterprise assignment (no end date);
- *above scale*: a 四上 firm (`enterprise.is_above_scale`);
- *not visited*: no visit recorded on or after today − N days, N being the
  setting `coverage.not_visited_days` (90 by default), whoever made the visit;
  firms without a cadre are counted too, as they were not visited either;
- *visits in the last 30 days*: visits dated today − 29 … today to firms in scope.

Every count is one aggregate query in the database (EXISTS probes on the
partial unique index of active cadres and on the visit index by firm and
date), so 100,000 firms take well under half a second on SQLite. Rates are
fractions 0–1, or None when there is nothing to divide by.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, exists, func, literal_column, not_, select
from sqlalchemy.orm import Session

from crm.access import ALL, STREET, condition, require
from crm.auth import Actor
from crm.db import today as _today
from crm.errors import ValidationError
from crm.models import Assignment, Building, Enterprise, Person, Street, Visit
from crm.services import audit
from crm.services.reference import get_setting, set_setting

NOT_VISITED_KEY = "coverage.not_visited_days"
NOT_VISITED_DEFAULT = 90
RECENT_DAYS = 30
LIST_LIMIT = 500
MEASURES = ("all", "covered", "uncovered", "above_scale", "above_scale_covered",
            "above_scale_uncovered", "not_visited")
NO_BUILDING = 0  # the drill-down's building id for "firms not in any building"

# The kind is written as a literal so SQLite can use the partial unique index
# (its WHERE clause must match the query's text, which a bound parameter does not).
_CADRE_KIND = literal_column("'cadre_enterprise'")


def _core(session: Session):
    """The session's connection: Core rows without the ORM's per-row bookkeeping, which
    costs more than the query itself on thousands of aggregate rows."""
    return session.connection()


def _require(actor: Actor) -> str:
    return require(actor, "coverage.read")


def not_visited_days(session: Session) -> int:
    return int(get_setting(session, NOT_VISITED_KEY, NOT_VISITED_DEFAULT))


def visit_interval(session: Session, *, actor: Actor) -> int:
    """N: a firm not visited for more than N days is due (the pages' wording needs it)."""
    return not_visited_days(session)


def set_not_visited_days(session: Session, days: int, *, actor: Actor) -> int:
    """An admin changes N; the change is audited."""
    require(actor, "coverage.configure")
    if not isinstance(days, int) or not 7 <= days <= 730:
        raise ValidationError("7 to 730 days", key="coverage.bad_days")
    before = not_visited_days(session)
    set_setting(session, NOT_VISITED_KEY, days)
    audit.record(session, actor, "setting.change", "setting", None, key=NOT_VISITED_KEY,
                 before=before, after=days)
    return days


def _covered():
    return exists().where(Assignment.enterprise_id == Enterprise.id,
                          Assignment.kind == _CADRE_KIND, Assignment.end_date.is_(None))


def _visited_since(cutoff: dt.date):
    return exists().where(Visit.enterprise_id == Enterprise.id, Visit.visited_on >= cutoff)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _firm_filter(actor: Actor, street_id: int | None):
    conds = [Enterprise.active, condition(actor, "coverage.read", Enterprise)]
    if street_id is not None:
        conds.append(Enterprise.street_id == street_id)
    return and_(*conds)


def _counts(session: Session, actor: Actor, street_id: int | None, cutoff: dt.date,
            grouped: bool) -> dict[tuple, list[int]]:
    """{(street_id, building_id): [total, covered, above, above_covered, not_visited]}.

    Three aggregate queries rather than one with two EXISTS per firm: the
    firms by place, the active cadre assignments joined to their firms, and
    the firms with a recent visit. Each is a plain scan or index join, which
    keeps 100,000 firms well under the page's budget; `grouped=False` gives
    one key, (None, None), for the summary.
    """
    where = _firm_filter(actor, street_id)
    keys = (Enterprise.street_id, Enterprise.building_id) if grouped else ()
    above = func.coalesce(func.sum(case((Enterprise.is_above_scale, 1), else_=0)), 0)
    out: dict[tuple, list[int]] = {}

    def slot(row) -> list[int]:
        key = (row[0], row[1]) if grouped else (None, None)
        return out.setdefault(key, [0, 0, 0, 0, 0])

    for row in _core(session).execute(select(*keys, func.count(), above).where(where)
                               .group_by(*keys)):
        slot(row)[0:3:2] = [int(row[-2]), int(row[-1])]
    for row in _core(session).execute(
            select(*keys, func.count(), above).select_from(Assignment)
            .join(Enterprise, Assignment.enterprise_id == Enterprise.id)
            .where(Assignment.kind == _CADRE_KIND, Assignment.end_date.is_(None), where)
            .group_by(*keys)):
        slot(row)[1:4:2] = [int(row[-2]), int(row[-1])]
    recent = select(Visit.enterprise_id).where(Visit.visited_on >= cutoff).distinct().subquery()
    for row in _core(session).execute(
            select(*keys, func.count()).select_from(recent)
            .join(Enterprise, recent.c.enterprise_id == Enterprise.id)
            .where(where).group_by(*keys)):
        slot(row)[4] = -int(row[-1])
    for counts in out.values():
        counts[4] += counts[0]  # not visited = firms − firms visited since the cutoff
    return out


def _numbers(total, covered, above, above_covered, not_visited) -> dict:
    total, covered, above = int(total), int(covered), int(above)
    above_covered, not_visited = int(above_covered), int(not_visited)
    return {"firms_total": total, "firms_covered": covered,
            "coverage_rate": _rate(covered, total),
            "above_scale_total": above, "above_scale_covered": above_covered,
            "above_scale_coverage_rate": _rate(above_covered, above),
            "firms_without_cadre": total - covered, "not_visited": not_visited}


def summary(session: Session, *, actor: Actor, street_id: int | None = None,
            today: dt.date | None = None) -> dict:
    """The headline coverage numbers, district-wide or for one street, in the actor's scope.

    Keys: firms_total, firms_covered, coverage_rate, above_scale_total,
    above_scale_covered, above_scale_coverage_rate, firms_without_cadre,
    not_visited, not_visited_days, visits_last_30_days.
    """
    _require(actor)
    today = today or _today()
    days = not_visited_days(session)
    counts = _counts(session, actor, street_id, today - dt.timedelta(days=days), grouped=False)
    numbers = _numbers(*counts.get((None, None), [0] * 5))
    numbers["not_visited_days"] = days
    numbers["visits_last_30_days"] = _recent_visits(session, actor, street_id, today)
    return numbers


def _recent_visits(session: Session, actor: Actor, street_id: int | None,
                   today: dt.date) -> int:
    since = today - dt.timedelta(days=RECENT_DAYS - 1)
    query = (select(func.count()).select_from(Visit)
             .join(Enterprise, Visit.enterprise_id == Enterprise.id)
             .where(Visit.visited_on >= since, Visit.visited_on <= today,
                    condition(actor, "coverage.read", Enterprise)))
    if street_id is not None:
        query = query.where(Enterprise.street_id == street_id)
    return int(session.scalar(query) or 0)


def matrix(session: Session, *, actor: Actor, street_id: int | None = None,
           today: dt.date | None = None) -> list[dict]:
    """Coverage by street, each street followed by its buildings (and firms in none).

    Rows carry `level` ("street" or "building"), `street_id`, `building_id`
    (NO_BUILDING for firms in no building), names, and the summary's counts
    and rates. Streets are in the district's order; a street with no firms in
    scope is left out.
    """
    _require(actor)
    today = today or _today()
    days = not_visited_days(session)
    groups = _counts(session, actor, street_id, today - dt.timedelta(days=days), grouped=True)
    streets = {sid: (name, order) for sid, name, order in
               _core(session).execute(select(Street.id, Street.name, Street.sort_order))}
    building_ids = [b for _, b in groups if b is not None]
    buildings = dict(_core(session).execute(select(Building.id, Building.name)
                                     .where(Building.id.in_(building_ids))).all()) \
        if building_ids else {}
    by_street: dict[int | None, list[tuple[int | None, list[int]]]] = {}
    for (sid, bid), counts in groups.items():
        by_street.setdefault(sid, []).append((bid, counts))
    rows = []
    for sid in sorted(by_street, key=lambda s: (streets.get(s, ("", 10**6))[1], s or 0)):
        parts = by_street[sid]
        street_name = streets[sid][0] if sid in streets else None
        sums = [sum(counts[i] for _, counts in parts) for i in range(5)]
        rows.append({"level": "street", "street_id": sid, "building_id": None,
                     "street": street_name, "building": None, **_numbers(*sums)})
        for bid, counts in sorted(parts, key=lambda p: (p[0] is None, buildings.get(p[0], ""))):
            rows.append({"level": "building", "street_id": sid,
                         "building_id": NO_BUILDING if bid is None else bid,
                         "street": street_name, "building": buildings.get(bid),
                         **_numbers(*counts)})
    return rows


def overview(session: Session, *, actor: Actor, street_id: int | None = None,
             today: dt.date | None = None) -> dict:
    """The coverage page's numbers in one pass: {"summary": …, "matrix": […]}.

    The summary is the sum of the matrix's street rows (the same counts, so
    the headline and the table can never disagree) plus the recent visits.
    """
    _require(actor)
    today = today or _today()
    rows = matrix(session, actor=actor, street_id=street_id, today=today)
    streets_ = [r for r in rows if r["level"] == "street"]
    sums = [sum(r[k] for r in streets_) for k in ("firms_total", "firms_covered",
                                                  "above_scale_total", "above_scale_covered",
                                                  "not_visited")]
    numbers = _numbers(*sums)
    numbers["not_visited_days"] = not_visited_days(session)
    numbers["visits_last_30_days"] = _recent_visits(session, actor, street_id, today)
    return {"summary": numbers, "matrix": rows}


def firm_list(session: Session, *, actor: Actor, measure: str = "all",
              street_id: int | None = None, building_id: int | None = None,
              today: dt.date | None = None, limit: int | None = LIST_LIMIT) -> dict:
    """The firms behind a number: {"total": n, "rows": [...]} (rows capped at `limit`).

    `measure` is one of MEASURES; `building_id` NO_BUILDING means firms in no
    building. Rows: id, name, uscc, street, building, is_above_scale, cadre,
    last_visit, days_since_visit; the least recently visited first.
    """
    _require(actor)
    if measure not in MEASURES:
        raise ValidationError(f"unknown measure {measure!r}", key="coverage.bad_measure")
    today = today or _today()
    cutoff = today - dt.timedelta(days=not_visited_days(session))
    conds = [_firm_filter(actor, street_id)]
    if building_id == NO_BUILDING:
        conds.append(Enterprise.building_id.is_(None))
    elif building_id is not None:
        conds.append(Enterprise.building_id == building_id)
    if measure.startswith("above_scale"):
        conds.append(Enterprise.is_above_scale)
    if measure.endswith("_covered") or measure == "covered":
        conds.append(_covered())
    if measure.endswith("uncovered"):
        conds.append(not_(_covered()))
    if measure == "not_visited":
        conds.append(not_(_visited_since(cutoff)))
    where = and_(*conds)
    total = session.scalar(select(func.count()).select_from(Enterprise).where(where))
    last = (select(func.max(Visit.visited_on)).where(Visit.enterprise_id == Enterprise.id)
            .correlate(Enterprise).scalar_subquery())
    cadre = (select(Person.name).join(Assignment, Assignment.person_id == Person.id)
             .where(Assignment.enterprise_id == Enterprise.id, Assignment.kind == _CADRE_KIND,
                    Assignment.end_date.is_(None))
             .correlate(Enterprise).scalar_subquery())
    query = (select(Enterprise.id, Enterprise.name, Enterprise.uscc,
                    Street.name.label("street"), Building.name.label("building"),
                    Enterprise.is_above_scale, cadre.label("cadre"), last.label("last_visit"))
             .outerjoin(Street, Enterprise.street_id == Street.id)
             .outerjoin(Building, Enterprise.building_id == Building.id)
             .where(where).order_by(last.asc().nulls_first(), Enterprise.name))
    if limit:
        query = query.limit(limit)
    rows = []
    for row in _core(session).execute(query):
        item = dict(row._mapping)
        item["days_since_visit"] = (today - item["last_visit"]).days \
            if item["last_visit"] else None
        rows.append(item)
    return {"total": int(total or 0), "rows": rows}


def _next_month(key: str) -> dt.date:
    year, month = int(key[:4]), int(key[5:7])
    return dt.date(year + month // 12, month % 12 + 1, 1)


def last_months(today: dt.date, months: int) -> list[str]:
    """['2026-06', …, '2026-11'] for months=6 ending with today's month."""
    year, month = today.year, today.month
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def visits_by_cadre(session: Session, *, actor: Actor, months: int = 6,
                    street_id: int | None = None, today: dt.date | None = None) -> dict:
    """Visits per cadre per month over the last `months` months, to firms in scope.

    Returns {"months": [...], "rows": [{person_id, cadre, street, firms, total,
    by_month: {month: n}}]}: every cadre who made a visit or serves a firm in
    scope now (so a cadre who visited nobody shows with zeros), most visits first.
    """
    _require(actor)
    if not 1 <= months <= 36:
        raise ValidationError("1 to 36 months", key="coverage.bad_months")
    today = today or _today()
    keys = last_months(today, months)
    first = dt.date.fromisoformat(keys[0] + "-01")
    bounds = [dt.date.fromisoformat(k + "-01") for k in keys] + [_next_month(keys[-1])]
    # One row per person with a column per month (CASE over the date range): fewer rows
    # than grouping by month, and the same SQL on SQLite and PostgreSQL.
    per_month = [func.coalesce(func.sum(case((and_(Visit.visited_on >= lo,
                                                   Visit.visited_on < hi), 1), else_=0)), 0)
                 for lo, hi in zip(bounds, bounds[1:], strict=False)]
    visits = (select(Visit.person_id, *per_month)
              .where(Visit.visited_on >= first, Visit.visited_on <= today,
                     Visit.person_id.is_not(None))
              .group_by(Visit.person_id))
    if street_id is not None or _require(actor) != ALL:
        # Visits count whatever the firm's state now; only the scope needs the firm.
        visits = visits.join(Enterprise, Visit.enterprise_id == Enterprise.id).where(
            condition(actor, "coverage.read", Enterprise),
            *([Enterprise.street_id == street_id]
                                       if street_id is not None else []))
    by_person = {row[0]: tuple(map(int, row[1:])) for row in _core(session).execute(visits)}
    serving = _serving(session, actor, street_id)
    ids = sorted(set(by_person) | set(serving))
    people = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for pid, name, street in _core(session).execute(
                select(Person.id, Person.name, Street.name)
                .outerjoin(Street, Person.street_id == Street.id).where(Person.id.in_(chunk))):
            people[pid] = (name, street)
    zeros = (0,) * len(keys)
    rows = []
    for pid in ids:
        counts = by_person.get(pid, zeros)
        name, street = people.get(pid, (None, None))
        rows.append({"person_id": pid, "cadre": name, "street": street,
                     "firms": serving.get(pid, 0), "total": sum(counts),
                     "by_month": dict(zip(keys, counts, strict=True))})
    rows.sort(key=lambda r: (-r["total"], -r["firms"], r["cadre"] or "", r["person_id"]))
    return {"months": keys, "rows": rows}


def _serving(session: Session, actor: Actor, street_id: int | None) -> dict[int, int]:
    """{person id: active firms in scope they serve now}.

    District-wide, the covering index of active cadres is counted alone and the
    few inactive firms are taken off; joining every assignment to its firm
    would read 60,000 firm rows. ("+ 0" keeps SQLite from walking the person
    index merely to save a sort.)
    """
    person = (Assignment.person_id + 0).label("person_id")
    active_cadre = and_(Assignment.kind == _CADRE_KIND, Assignment.end_date.is_(None))
    query = select(person, func.count()).where(active_cadre).group_by(person)
    if street_id is None and _require(actor) == ALL:
        counts = dict(_core(session).execute(query).all())
        inactive = select(Enterprise.id).where(not_(Enterprise.active))
        for pid, n in _core(session).execute(
                query.where(Assignment.enterprise_id.in_(inactive))):
            counts[pid] -= n
        return {pid: n for pid, n in counts.items() if n}
    scoped = query.join(Enterprise, Assignment.enterprise_id == Enterprise.id).where(
        _firm_filter(actor, street_id))
    return dict(_core(session).execute(scoped).all())


def streets(session: Session, *, actor: Actor) -> list[dict]:
    """The streets the actor may filter coverage by (a liaison: their own)."""
    scope = _require(actor)
    query = select(Street.id, Street.name).order_by(Street.sort_order, Street.id)
    if scope == STREET:
        query = query.where(Street.id == actor.street_id)
    return [dict(row._mapping) for row in _core(session).execute(query)]
