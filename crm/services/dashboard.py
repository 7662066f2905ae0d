"""Read-only numbers and lists for the home pages and the appeal list.

Everything is counted in the database (COUNT / SUM CASE) within the viewer's
scope, so a page never pulls whole tables into memory, and a liaison's
"overdue" is the same number an official sees for that street. Results are
plain dicts: the UI may cache them, and no ORM object leaks out of a session.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from crm.access import condition, require
from crm.auth import Actor
from crm.db import today as _today
from crm.lifecycle import FINAL_STATUSES, OPEN_STATUSES
from crm.models import (
    Appeal,
    AppealEvent,
    Assignment,
    Category,
    Chamber,
    Enterprise,
    Extension,
    FinancingMatch,
    FinancingNeed,
    Street,
    Unit,
    Visit,
    chamber_member,
)
from crm.models.appeal import STATUSES
from crm.services import escalation
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


# --- work queues on each role's home -------------------------------------------------------
# Each queue is a count and its first QUEUE_LIMIT rows, most urgent first, within the scope
# of the capability that acts on it (crm.access): a liaison's returned appeals are those
# they may dispatch again, a handler's "to sign" those they may sign for.
QUEUE_LIMIT = 50
QUEUES: dict[str, tuple[str, ...]] = {
    "liaison": ("extensions", "returned", "imported", "due_soon", "overdue"),
    "handler": ("to_sign", "to_reply", "due_soon"),
    "official": ("supervised",),
    "admin": ("supervised",),
}


def _latest_event_note(action: str):
    """SQL: the note of the appeal's latest event `action` (a return's reason)."""
    return (select(AppealEvent.note).where(AppealEvent.appeal_id == Appeal.id,
                                           AppealEvent.action == action)
            .order_by(AppealEvent.id.desc()).limit(1).correlate(Appeal).scalar_subquery())


def _latest_event_unit(action: str):
    return (select(Unit.name).join(AppealEvent, AppealEvent.unit_id == Unit.id)
            .where(AppealEvent.appeal_id == Appeal.id, AppealEvent.action == action)
            .order_by(AppealEvent.id.desc()).limit(1).correlate(Appeal).scalar_subquery())


def _status_led(cond):
    """`cond` with the street comparison written `street_id + 0`, so a queue's query walks
    the few appeals in its states (ix_appeal_status_due, which holds street_id too) rather
    than every appeal of the street: without ANALYZE statistics SQLite picks
    ix_appeal_street_received for `street_id = ?` (a liaison's overdue queue on 1,000,000
    appeals: 0.6 s against 4 ms). The unary-operator way of keeping a term off an index:
    https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_"""
    table = Appeal.__table__

    def swap(element):
        if getattr(element, "table", None) is table and getattr(element, "name", None) \
                == "street_id":
            return table.c.street_id + 0
        return None
    return replacement_traverse(cond, {}, swap)


def _queue_conditions(actor: Actor, today: dt.date) -> dict[str, list]:
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    is_open = Appeal.status.in_(OPEN_STATUSES)
    pending = exists().where(Extension.appeal_id == Appeal.id, Extension.status == "pending")
    returned = exists().where(AppealEvent.appeal_id == Appeal.id, AppealEvent.action == "return")
    return {
        "extensions": [condition(actor, "appeal.decide_extension", Appeal), pending,
                       Appeal.status.in_(("dispatched", "accepted"))],
        # 退单: back at the street after a unit sent it back (a re-dispatch moves it on)
        "returned": [condition(actor, "appeal.dispatch", Appeal), Appeal.status == "received",
                     returned],
        "imported": [condition(actor, "appeal.dispatch", Appeal), Appeal.status == "received",
                     Appeal.channel == "import", ~returned],
        "due_soon": [appeal_scope(actor), is_open, Appeal.due_date >= today,
                     Appeal.due_date <= soon],
        "overdue": [appeal_scope(actor), _is_overdue(today)],
        "to_sign": [condition(actor, "appeal.accept", Appeal), Appeal.status == "dispatched"],
        "to_reply": [condition(actor, "appeal.reply", Appeal), Appeal.status == "accepted"],
        "supervised": [appeal_scope(actor), escalation.supervised_open()],
    }


def _queue_rows(queue: str, conds: list):
    columns = [Appeal.id, Appeal.code, Appeal.title, Appeal.status, Appeal.channel,
               Appeal.received_at, Appeal.due_date, Enterprise.name.label("enterprise"),
               Street.name.label("street"), Category.name.label("category"),
               Unit.name.label("lead_unit"),
               escalation.raised("remind").label("reminded"),
               escalation.raised("supervise").label("supervised")]
    if queue == "returned":
        columns += [_latest_event_note("return").label("return_reason"),
                    _latest_event_unit("return").label("returned_by")]
    if queue == "extensions":
        ext = (select(Extension.days)
               .where(Extension.appeal_id == Appeal.id, Extension.status == "pending")
               .order_by(Extension.id.desc()).limit(1).correlate(Appeal))
        columns += [ext.with_only_columns(Extension.days).scalar_subquery()
                    .label("extension_days"),
                    ext.with_only_columns(Extension.reason).scalar_subquery()
                    .label("extension_reason")]
    order = (Appeal.received_at.desc(), Appeal.id.desc()) if queue in ("returned", "imported") \
        else (Appeal.due_date, Appeal.id)
    return (select(*columns)
            .join(Enterprise, Appeal.enterprise_id == Enterprise.id)
            .join(Category, Appeal.category_id == Category.id)
            .outerjoin(Street, Appeal.street_id == Street.id)
            .outerjoin(Unit, Appeal.lead_unit_id == Unit.id)
            .where(*conds).order_by(*order))


def work_queues(session: Session, *, actor: Actor, today: dt.date | None = None,
                limit: int = QUEUE_LIMIT) -> dict[str, dict]:
    """The actor's role's queues (QUEUES): {queue: {"count": n, "rows": first `limit`}}.

    Every row carries `reminded` (催办 for its current due date) and `supervised` (督办).
    """
    require(actor, "appeal.read")
    today = today or _today()
    conditions = _queue_conditions(actor, today)
    out = {}
    for queue in QUEUES.get(actor.role, ()):
        conds = [_status_led(c) for c in conditions[queue]]
        count = session.scalar(select(func.count()).select_from(Appeal).where(*conds)) or 0
        rows = _as_dicts(session.execute(_queue_rows(queue, conds).limit(limit)), today) \
            if count else []
        for row in rows:
            row["reminded"], row["supervised"] = bool(row["reminded"]), bool(row["supervised"])
        out[queue] = {"count": count, "rows": rows}
    return out
