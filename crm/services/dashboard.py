"""Read-only numbers and lists for the home pages and the appeal list.

Everything is counted in the database (COUNT / SUM CASE) within the viewer's
scope, so a page never pulls whole tables into memory, and a liaison's
"overdue" is the same number an official sees for that street. Results are
plain dicts: the UI may cache them, and no ORM object leaks out of a session.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from crm.access import condition, require
from crm.auth import Actor
from crm.db import today as _today
from crm.lifecycle import FINAL_STATUSES, OPEN_STATUSES
from crm.models import (
    Appeal,
    Assignment,
    Category,
    Chamber,
    Enterprise,
    FinancingMatch,
    FinancingNeed,
    Street,
    Unit,
    Visit,
    chamber_member,
)
from crm.models.appeal import STATUSES
from crm.services.reference import get_setting
from crm.services.scope import appeal_scope, enterprise_scope

DUE_SOON_DAYS = 3
LIST_LIMIT = 200
# A handler's to-do list is what their unit must sign for or answer; everyone
# else follows an appeal until it is archived (callback and archiving are theirs).
WORKLIST_STATUSES = {"handler": ("dispatched", "accepted")}
ACTIVE_STATUSES = tuple(s for s in STATUSES if s not in FINAL_STATUSES)


def _sum(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _is_overdue(today: dt.date):
    return and_(Appeal.status.in_(OPEN_STATUSES), Appeal.due_date < today)


def _appeal_rows(actor: Actor):
    return (
        select(Appeal.id, Appeal.code, Appeal.title, Appeal.status, Appeal.received_at,
               Appeal.due_date, Enterprise.name.label("enterprise"),
               Street.name.label("street"), Category.name.label("category"),
               Unit.name.label("lead_unit"))
        .join(Enterprise, Appeal.enterprise_id == Enterprise.id)
        .join(Category, Appeal.category_id == Category.id)
        .outerjoin(Street, Appeal.street_id == Street.id)
        .outerjoin(Unit, Appeal.lead_unit_id == Unit.id)
        .where(appeal_scope(actor))
    )


def _as_dicts(rows, today: dt.date) -> list[dict]:
    out = []
    for row in rows:
        item = dict(row._mapping)
        open_ = item["status"] in OPEN_STATUSES
        item["days_left"] = (item["due_date"] - today).days if open_ else None
        item["overdue"] = open_ and item["due_date"] < today
        out.append(item)
    return out


def worklist_statuses(role: str) -> tuple[str, ...]:
    return WORKLIST_STATUSES.get(role, ACTIVE_STATUSES)


def my_open_appeals(session: Session, *, actor: Actor, today: dt.date | None = None,
                    limit: int = LIST_LIMIT) -> list[dict]:
    """The actor's to-do list, most urgent (earliest due) first."""
    today = today or _today()
    query = (_appeal_rows(actor).where(Appeal.status.in_(worklist_statuses(actor.role)))
             .order_by(Appeal.due_date, Appeal.received_at, Appeal.id).limit(limit))
    return _as_dicts(session.execute(query), today)


def appeal_counts(session: Session, *, actor: Actor, today: dt.date | None = None) -> dict:
    """Open, overdue, due within DUE_SOON_DAYS, and replied-awaiting-callback, in scope."""
    today = today or _today()
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    is_open = Appeal.status.in_(OPEN_STATUSES)
    row = session.execute(
        select(_sum(is_open), _sum(_is_overdue(today)),
               _sum(and_(is_open, Appeal.due_date >= today, Appeal.due_date <= soon)),
               _sum(Appeal.status == "replied"))
        .select_from(Appeal)
        # every number counts open or replied appeals only: saying so lets the database
        # read the (status, due_date, …, street_id, …) index instead of the whole table
        .where(appeal_scope(actor), Appeal.status.in_((*OPEN_STATUSES, "replied")))
    ).one()
    return {"open": row[0], "overdue": row[1], "due_soon": row[2], "awaiting_callback": row[3]}


def headline(session: Session, *, actor: Actor, today: dt.date | None = None) -> dict:
    """District headline numbers and the two KPI rates officials are scored by.

    The appeal numbers are `kpi.compute`'s (all periods, as of today), so the home page
    and the KPI overview never disagree, and a million appeals are read from the KPI
    rollups rather than scanned: 按期办结率 = replied on or before the due date ÷ replied;
    满意率 = (满意 + w × 基本满意) ÷ valid callbacks (w: `kpi.basic_satisfied_weight`). A
    rate with no denominator is None. Merged appeals count nowhere.
    """
    from crm.services import kpi

    today = today or _today()
    enterprises = session.scalar(select(func.count()).select_from(Enterprise)
                                 .where(enterprise_scope(actor), Enterprise.active))
    k = kpi.compute(session, actor=actor, as_of=today)
    return {"enterprises": enterprises, "appeals": k["appeals_total"],
            "open": k["appeals_open"], "overdue": k["overdue_open"],
            "replied": k["appeals_replied"],
            "closed_on_time_rate": k["closed_on_time_rate"],
            "satisfaction_rate": k["satisfaction_rate"]}


def appeals_by_street(session: Session, *, actor: Actor,
                      today: dt.date | None = None) -> list[dict]:
    """Per street/town, in the district's order: total, open and overdue appeals (the KPI
    numbers, see `headline`)."""
    from crm.services import kpi

    today = today or _today()
    numbers = {r["id"]: r for r in kpi.by_street(session, actor=actor, as_of=today)}
    streets = session.execute(select(Street.id, Street.name)
                              .order_by(Street.sort_order, Street.name)).all()
    return [{"street": name,
             "total": numbers[sid]["appeals_total"] if sid in numbers else 0,
             "open": numbers[sid]["appeals_open"] if sid in numbers else 0,
             "overdue": numbers[sid]["overdue_open"] if sid in numbers else 0}
            for sid, name in streets]


def cadre_firms(session: Session, *, actor: Actor, today: dt.date | None = None) -> list[dict]:
    """The firms a cadre serves now (包联), the least recently visited first.

    Each firm says when the next visit is due: N days after the last one (N is
    the setting `coverage.not_visited_days`, 90 by default), or now if it was
    never visited; `stale` once that day has passed. `open_appeals` counts
    the firm's appeals still in the loop.
    """
    if not actor.person_id:
        return []
    today = today or _today()
    stale_days = int(get_setting(session, "coverage.not_visited_days", 90))
    last_visit = (select(Visit.enterprise_id, func.max(Visit.visited_on).label("last"))
                  .group_by(Visit.enterprise_id).subquery())
    open_appeals = (select(func.count()).where(Appeal.enterprise_id == Enterprise.id,
                                               Appeal.status.in_(OPEN_STATUSES))
                    .correlate(Enterprise).scalar_subquery())
    rows = session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.uscc, Street.name.label("street"),
               Assignment.start_date.label("since"), last_visit.c.last.label("last_visit"),
               open_appeals.label("open_appeals"))
        .join(Assignment, Assignment.enterprise_id == Enterprise.id)
        .outerjoin(Street, Enterprise.street_id == Street.id)
        .outerjoin(last_visit, last_visit.c.enterprise_id == Enterprise.id)
        .where(Assignment.kind == "cadre_enterprise", Assignment.person_id == actor.person_id,
               Assignment.end_date.is_(None))
        .order_by(last_visit.c.last.asc().nulls_first(), Enterprise.name)
    ).all()
    out = []
    for row in rows:
        item = dict(row._mapping)
        last = item["last_visit"]
        item["days_since_visit"] = (today - last).days if last else None
        item["due_on"] = last + dt.timedelta(days=stale_days) if last else None
        item["stale"] = last is None or (today - last).days > stale_days
        out.append(item)
    return out


def chamber_summary(session: Session, *, actor: Actor) -> dict:
    """Member firms and financing needs in the actor's scope (a clerk: their chamber's
    member firms), in counts and 万元; a need's status follows from its matches."""
    from crm.services.financing import need_status_sql

    require(actor, "financing.read")
    chamber_id = actor.chamber_id
    name = session.scalar(select(Chamber.name).where(Chamber.id == chamber_id)) \
        if chamber_id else None
    members = session.scalar(select(func.count()).select_from(chamber_member)
                             .where(chamber_member.c.chamber_id == chamber_id)) or 0
    in_scope = condition(actor, "financing.read", FinancingNeed)
    status = need_status_sql()
    needs = session.execute(
        select(status, func.count(), func.coalesce(func.sum(FinancingNeed.amount), 0))
        .where(in_scope).group_by(status)).all()
    money = session.execute(
        select(func.coalesce(func.sum(FinancingMatch.approved_amount), 0),
               func.coalesce(func.sum(FinancingMatch.disbursed_amount), 0))
        .join(FinancingNeed, FinancingMatch.need_id == FinancingNeed.id).where(in_scope)
    ).one()
    by_status = [{"status": s, "count": n, "amount": float(a)} for s, n, a in needs]
    return {"chamber": name, "members": members,
            "needs": sum(r["count"] for r in by_status),
            "amount_needed": sum(r["amount"] for r in by_status),
            "amount_approved": float(money[0]), "amount_disbursed": float(money[1]),
            "by_status": by_status}


def job_fairs(session: Session, *, actor: Actor, limit: int = LIST_LIMIT) -> list[dict]:
    """Job fairs, latest first, with their firms, openings and funnel totals as of today."""
    from crm.services.jobfair_report import report

    return list(reversed(report(session, actor=actor)))[:limit]


def scope_name(session: Session, *, actor: Actor) -> str | None:
    """The street, unit or chamber the actor works for, as the sidebar names it."""
    for model, key in ((Street, actor.street_id), (Unit, actor.unit_id),
                       (Chamber, actor.chamber_id)):
        if key:
            return session.scalar(select(model.name).where(model.id == key))
    return None
