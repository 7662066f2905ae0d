"""Reminders and escalation (催办 / 督办), set-based: `python -m crm escalate` calls `escalate`.

The rules are data (crm.rules.ESCALATIONS: which appeals, the threshold setting and
its default, who is told). One run, for an as-of date, is per rule three statements
per slice of appeal ids, all INSERT … SELECT in the database (nothing is read into
Python row by row, so 1,000,000 appeals take seconds):

1. `appeal_escalation` gets a row for every appeal the rule picks that has none for
   its current due date (the unique key (appeal, kind, due date) makes a second run
   of the same day, or of a later day, write nothing; an approved extension moves the
   due date, and the appeal may earn a new 催办);
2. the appeal's timeline gets an event (action = the kind) for each new row;
3. each recipient group (RECIPIENTS) gets a notification for each new row.

Thresholds count working days (the holiday and 调休 calendar) when the appeal's limit
does (crm.rules.counts_working_days), else calendar days; the cutoff dates are worked
out once per run in Python, so the SQL only compares dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, case, exists, func, insert, literal, null, select, true
from sqlalchemy.orm import Session, aliased

from crm import rules
from crm.access import require
from crm.auth import Actor
from crm.db import now as _now
from crm.db import today as _today
from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal, AppealEvent, Category, Escalation, Notification, User
from crm.services import audit
from crm.services.calendar import WorkCalendar
from crm.services.reference import get_setting

SLICE = 100_000  # appeal ids per slice: the progress counter's step
Progress = Callable[[str, int, int], None]

# Who each recipient group of crm.rules.ESCALATIONS is, for an escalation row `e`.
RECIPIENTS: dict[str, Callable[[object], object]] = {
    "lead_unit_handlers": lambda e: and_(User.role == "handler", User.unit_id == e.unit_id),
    "officials": lambda e: User.role == "official",
    "street_liaisons": lambda e: and_(User.role == "liaison", User.street_id == e.street_id),
}


def thresholds(session: Session, *, actor: Actor | None = None) -> dict[str, int]:
    """Each rule's threshold in days: the setting, or the rule's default."""
    return {kind: int(get_setting(session, rule["setting"], rule["default"]))
            for kind, rule in rules.ESCALATIONS.items()}


def days_before(calendar: WorkCalendar, day: dt.date, days: int, *, working: bool) -> dt.date:
    """The day D such that `day` is `days` days (working days: counted over (D, day]) after D."""
    if not working:
        return day - dt.timedelta(days=days)
    left = days
    while left > 0:
        if calendar.is_working(day):
            left -= 1
        day -= dt.timedelta(days=1)
    return day


def cutoffs(calendar: WorkCalendar, as_of: dt.date, limits: dict[str, int]
            ) -> dict[str, dict[bool, dt.date]]:
    """{kind: {working?: the due date bound}} for a run on `as_of`.

    remind: due on or before the bound (and not before `as_of`); supervise: due on or
    before the bound (overdue by at least the threshold)."""
    return {
        "remind": {w: calendar.add(as_of, limits["remind"], working_days=w)
                   for w in (False, True)},
        "supervise": {w: days_before(calendar, as_of, limits["supervise"], working=w)
                      for w in (False, True)},
    }


def _picked(kind: str, bounds: dict[bool, dt.date], district_working: bool, as_of: dt.date):
    """The SQL condition for the appeals rule `kind` picks (joined with Category)."""
    rule = rules.ESCALATIONS[kind]
    if district_working:
        bound = literal(bounds[True])
    else:
        bound = case((Category.working_days == true(), bounds[True]), else_=bounds[False])
    cond = [Appeal.status.in_(rule["statuses"]), Appeal.due_date <= bound]
    if kind == "remind":
        cond += [Appeal.due_date >= as_of, Appeal.lead_unit_id.is_not(None)]
    already = exists().where(Escalation.appeal_id == Appeal.id, Escalation.kind == kind,
                             Escalation.due_date == Appeal.due_date)
    return and_(*cond, ~already)


def escalate(session: Session, *, actor: Actor, as_of: dt.date | None = None,
             progress: Progress | None = None, slice_size: int = SLICE) -> dict:
    """Raise today's 催办 and 督办: escalations, timeline events, notifications.

    Returns {"as_of", "remind", "supervise", "events", "notifications", "thresholds"};
    all zero on a second run for the same date. The caller commits.
    """
    require(actor, "appeal.escalate")
    as_of = as_of or _today()
    at = _now() if as_of == _today() else dt.datetime.combine(as_of, dt.time(8))
    limits = thresholds(session)
    calendar = WorkCalendar.load(session)
    district_working = bool(get_setting(session, "appeals.working_days", False))
    bounds = cutoffs(calendar, as_of, limits)
    counts = {"remind": 0, "supervise": 0, "events": 0, "notifications": 0}
    low, high = session.execute(select(func.min(Appeal.id), func.max(Appeal.id))).one()
    total = 0 if low is None else high - low + 1
    start = low or 0
    if progress:
        progress("escalate", 0, total)
    while total and start <= high:
        end = start + slice_size
        for kind in rules.ESCALATIONS:
            before = _last_id(session, Escalation)
            picked = (select(Appeal.id, literal(kind), Appeal.due_date, literal(as_of),
                             Appeal.lead_unit_id, Appeal.street_id, literal(at))
                      .join(Category, Category.id == Appeal.category_id)
                      .where(Appeal.id >= start, Appeal.id < end,
                             _picked(kind, bounds[kind], district_working, as_of)))
            session.execute(insert(Escalation.__table__).from_select(
                ["appeal_id", "kind", "due_date", "as_of", "unit_id", "street_id", "at"],
                picked))
            added = _added(session, Escalation, before)
            if not added:
                continue
            counts[kind] += added
            counts["events"] += _add_events(session, before)
            counts["notifications"] += _notify(session, kind, before)
        if progress:
            progress("escalate", min(end, high + 1) - low, total)
        start = end
    if counts["remind"] or counts["supervise"]:  # one entry per run, as for an import batch
        audit.record(session, actor, "appeal.escalate", "appeal_escalation", None,
                     as_of=as_of.isoformat(), **counts)
    return {"as_of": as_of.isoformat(), **counts, "thresholds": limits}


def _last_id(session: Session, model) -> int:
    return session.scalar(select(func.coalesce(func.max(model.id), 0)))


def _added(session: Session, model, after_id: int) -> int:
    """Rows of `model` inserted after `after_id` (the driver's rowcount of an INSERT …
    SELECT is -1 on PostgreSQL/psycopg here; the primary key range is exact and cheap)."""
    return session.scalar(select(func.count()).select_from(model).where(model.id > after_id))


def _add_events(session: Session, after_id: int) -> int:
    """One timeline event per escalation newer than `after_id` (no actor: the system)."""
    rows = (select(Escalation.appeal_id, Escalation.kind, Appeal.status, Appeal.status,
                   Escalation.unit_id, Escalation.at)
            .join(Appeal, Appeal.id == Escalation.appeal_id)
            .where(Escalation.id > after_id))
    before = _last_id(session, AppealEvent)
    session.execute(insert(AppealEvent.__table__).from_select(
        ["appeal_id", "action", "from_status", "to_status", "unit_id", "at"], rows))
    return _added(session, AppealEvent, before)


def _notify(session: Session, kind: str, after_id: int) -> int:
    e = aliased(Escalation)
    before = _last_id(session, Notification)
    for group in rules.ESCALATIONS[kind]["notify"]:
        rows = (select(User.id, e.kind, e.appeal_id, e.id, e.at, null())
                .join(e, RECIPIENTS[group](e))
                .where(e.id > after_id, User.active == true()))
        session.execute(insert(Notification.__table__).from_select(
            ["user_id", "kind", "appeal_id", "escalation_id", "created_at", "read_at"], rows))
    return _added(session, Notification, before)


# --- what the queues and KPI drill-downs show --------------------------------------------

def raised(kind: str, *, current: bool = True):
    """SQL: the appeal earned escalation `kind` (for its current due date when `current`)."""
    cond = [Escalation.appeal_id == Appeal.id, Escalation.kind == kind]
    if current:
        cond.append(Escalation.due_date == Appeal.due_date)
    return exists().where(*cond)


def flags(session: Session, appeal_ids: list[int]) -> dict[int, set[str]]:
    """{appeal id: the kinds it ever earned}, for a page of rows."""
    out: dict[int, set[str]] = {}
    if not appeal_ids:
        return out
    for appeal_id, kind in session.execute(
            select(Escalation.appeal_id, Escalation.kind).distinct()
            .where(Escalation.appeal_id.in_(appeal_ids))):
        out.setdefault(appeal_id, set()).add(kind)
    return out


def supervised_open():
    """SQL: an open appeal flagged 督办 for its current due date."""
    return and_(Appeal.status.in_(OPEN_STATUSES), raised("supervise"))
