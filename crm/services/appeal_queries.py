"""Reading appeals: filtered, scoped lists with counts; due-soon and overdue; timelines.

Every query carries the actor's scope (crm.services.scope) so a page can only
ever show what its user may see.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from crm import rules
from crm.auth import Actor
from crm.db import today as _today
from crm.errors import NotFound
from crm.lifecycle import OPEN_STATUSES
from crm.models import (
    Appeal,
    AppealEvent,
    AppealUnit,
    Category,
    Enterprise,
    Extension,
    Street,
    Unit,
    User,
)
from crm.models.appeal import CHANNELS, PRIORITIES, STATUSES  # noqa: F401  (pages read them here)
from crm.services.scope import appeal_scope
from crm.textsafety import LIKE_ESCAPE, like_contains

TITLE_LIMIT = rules.limit("appeal", "title")  # shown on the form; the service enforces it


@dataclass
class AppealFilter:
    statuses: tuple[str, ...] = ()
    street_id: int | None = None
    unit_id: int | None = None          # lead or co-handling
    lead_unit_id: int | None = None     # lead only (whose KPI the appeal counts towards)
    category_id: int | None = None
    enterprise_id: int | None = None
    open_only: bool = False
    overdue_only: bool = False
    due_within_days: int | None = None  # open and due within N days (not yet overdue)
    text: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    as_of: dt.date = field(default_factory=_today)
    extra: tuple = ()                   # further SQL conditions (the KPI drill-down's)


def _conditions(f: AppealFilter) -> list:
    conds = []
    if f.statuses:
        conds.append(Appeal.status.in_(f.statuses))
    if f.open_only or f.overdue_only or f.due_within_days is not None:
        conds.append(Appeal.status.in_(OPEN_STATUSES))
    if f.overdue_only:
        conds.append(Appeal.due_date < f.as_of)
    if f.due_within_days is not None:
        conds.append(and_(Appeal.due_date >= f.as_of,
                          Appeal.due_date <= f.as_of + dt.timedelta(days=f.due_within_days)))
    if f.street_id:
        conds.append(Appeal.street_id == f.street_id)
    if f.category_id:
        conds.append(Appeal.category_id == f.category_id)
    if f.lead_unit_id:
        conds.append(Appeal.lead_unit_id == f.lead_unit_id)
    conds.extend(f.extra)
    if f.enterprise_id:
        conds.append(Appeal.enterprise_id == f.enterprise_id)
    if f.unit_id:
        conds.append(Appeal.id.in_(select(AppealUnit.appeal_id).where(
            AppealUnit.unit_id == f.unit_id, AppealUnit.active)))
    if f.received_from:
        conds.append(Appeal.received_at >= dt.datetime.combine(f.received_from, dt.time()))
    if f.received_to:
        conds.append(Appeal.received_at < dt.datetime.combine(
            f.received_to + dt.timedelta(days=1), dt.time()))
    text = f.text.strip()
    if text:
        like = like_contains(text)  # % and _ typed by a user are literal
        conds.append(or_(Appeal.title.like(like, escape=LIKE_ESCAPE), Appeal.code == text,
                         Enterprise.name.like(like, escape=LIKE_ESCAPE)))
    return conds


def _base(actor: Actor, f: AppealFilter, *columns) -> Select:
    """The appeals of the filter in the actor's scope. The firm is joined only for a text
    search: without it a count or an ordering reads the appeal indexes alone, which on a
    million appeals is the difference between a fraction of a second and many seconds."""
    stmt = select(*(columns or (Appeal.id,))).select_from(Appeal)
    if f.text.strip():
        stmt = stmt.join(Enterprise, Enterprise.id == Appeal.enterprise_id)
    return stmt.where(appeal_scope(actor), *_conditions(f))


def list_appeals(session: Session, f: AppealFilter | None = None, *, actor: Actor,
                 limit: int = 200, offset: int = 0, order: str = "due") -> list[dict]:
    """Rows for a table, ordered by due date (open work) or newest first."""
    f = f or AppealFilter()
    lead = aliased(Unit)
    ordering = {"due": (Appeal.due_date, Appeal.id),
                "newest": (Appeal.received_at.desc(), Appeal.id.desc())}[order]
    # First the page's ids (an index-only read where the database can), then their rows.
    ids = list(session.scalars(_base(actor, f).order_by(*ordering).limit(limit)
                               .offset(offset)))
    if not ids:
        return []
    stmt = (select(Appeal.id, Appeal.code, Appeal.title, Appeal.status, Appeal.priority,
                   Appeal.received_at, Appeal.due_date, Appeal.replied_at, Appeal.version,
                   Enterprise.name.label("enterprise"), Street.name.label("street"),
                   Category.name.label("category"), lead.name.label("lead_unit"))
            .join(Enterprise, Enterprise.id == Appeal.enterprise_id)
            .join(Category, Category.id == Appeal.category_id)
            .outerjoin(Street, Street.id == Appeal.street_id)
            .outerjoin(lead, lead.id == Appeal.lead_unit_id)
            .where(Appeal.id.in_(ids)))
    position = {appeal_id: i for i, appeal_id in enumerate(ids)}
    rows = []
    for r in sorted(session.execute(stmt), key=lambda r: position[r.id]):
        row = r._asdict()
        is_open = r.status in OPEN_STATUSES
        row["overdue"] = is_open and r.due_date < f.as_of
        row["days_left"] = (r.due_date - f.as_of).days if is_open else None
        row["late"] = r.replied_at is not None and r.replied_at.date() > r.due_date
        rows.append(row)
    return rows


def count_appeals(session: Session, f: AppealFilter | None = None, *, actor: Actor) -> int:
    stmt = _base(actor, f or AppealFilter()).with_only_columns(func.count())
    return session.scalar(stmt) or 0


def counts_by_status(session: Session, f: AppealFilter | None = None, *, actor: Actor
                     ) -> dict[str, int]:
    stmt = _base(actor, f or AppealFilter(), Appeal.status, func.count()).group_by(
        Appeal.status)
    return dict(session.execute(stmt).all())


def workload(session: Session, f: AppealFilter | None = None, *, actor: Actor,
             soon_days: int = 3) -> dict[str, int]:
    """The three numbers at the top of an inbox: open, overdue, due soon."""
    f = f or AppealFilter()
    base = AppealFilter(**{**f.__dict__, "open_only": True, "overdue_only": False,
                           "due_within_days": None})
    overdue = Appeal.due_date < f.as_of
    soon = and_(Appeal.due_date >= f.as_of,
                Appeal.due_date <= f.as_of + dt.timedelta(days=soon_days))
    # one pass over the open appeals for all three numbers
    row = session.execute(_base(actor, base, func.count(), _count_if(overdue),
                                _count_if(soon))).one()
    return {"open": row[0], "overdue": int(row[1] or 0), "due_soon": int(row[2] or 0)}


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def timeline(session: Session, appeal_id: int) -> list[dict]:
    """The events of an appeal (the caller has already checked the actor may see it)."""
    stmt = (select(AppealEvent, User.display_name, Unit.name)
            .outerjoin(User, User.id == AppealEvent.actor_id)
            .outerjoin(Unit, Unit.id == AppealEvent.unit_id)
            .where(AppealEvent.appeal_id == appeal_id).order_by(AppealEvent.id))
    return [{"at": e.at, "action": e.action, "from_status": e.from_status,
             "to_status": e.to_status, "actor": who, "unit": unit, "note": e.note,
             "data": e.data or {}} for e, who, unit in session.execute(stmt)]


def handling_units(session: Session, appeal_id: int) -> list[dict]:
    stmt = (select(Unit.name, AppealUnit.role, AppealUnit.active, Unit.id)
            .join(Unit, Unit.id == AppealUnit.unit_id)
            .where(AppealUnit.appeal_id == appeal_id)
            .order_by(AppealUnit.role.desc(), Unit.name))
    return [{"unit": n, "unit_id": i, "role": r, "active": a}
            for n, r, a, i in session.execute(stmt)]


def extensions(session: Session, appeal_id: int) -> list[dict]:
    stmt = select(Extension).where(Extension.appeal_id == appeal_id).order_by(Extension.id)
    return [{"days": e.days, "reason": e.reason, "status": e.status,
             "requested_at": e.requested_at, "decided_at": e.decided_at}
            for e in session.scalars(stmt)]


def categories(session: Session, *, actor: Actor | None = None) -> list[dict]:
    stmt = select(Category).where(Category.active).order_by(Category.sort_order, Category.id)
    return [{"id": c.id, "name": c.name, "limit_days": c.limit_days}
            for c in session.scalars(stmt)]


def units(session: Session, *, actor: Actor | None = None) -> list[dict]:
    stmt = (select(Unit).where(Unit.active, Unit.merged_into_id.is_(None))
            .order_by(Unit.kind, Unit.name))
    return [{"id": u.id, "name": u.name} for u in session.scalars(stmt)]


def normalize_code(raw: str | None) -> str:
    """A QF number as typed or pasted: full-width, spaces and case forgiven."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split()).upper()


def appeal_id_by_code(session: Session, code: str, *, actor: Actor) -> int:
    """The appeal a QF number names (`/appeal?code=QF…`, the lookup box, the merge target),
    within the actor's scope; outside it, the same NotFound as any appeal out of scope."""
    wanted = normalize_code(code)
    as_typed = "".join(unicodedata.normalize("NFKC", code or "").split())
    found = session.scalar(select(Appeal.id).where(Appeal.code.in_({wanted, as_typed}),
                                                   appeal_scope(actor)))
    if found is None:
        raise NotFound(f"appeal {wanted}", key="appeal.not_found", id=wanted or "—")
    return found


def in_scope(session: Session, appeal_id: int, *, actor: Actor) -> bool:
    """Whether the actor still sees the appeal (a unit that returned it no longer does)."""
    return session.scalar(select(Appeal.id).where(Appeal.id == appeal_id,
                                                  appeal_scope(actor))) is not None


@lru_cache(maxsize=1)
def _default_units() -> dict[str, str]:
    from crm.services.reference import load_reference

    return {c["name"]: c["default_unit"] for c in load_reference()["categories"]
            if c.get("default_unit")}


def suggested_unit(session: Session, category: str, street: str | None,
                   refused: set[int] | frozenset = frozenset()) -> int | None:
    """The unit an appeal of this category goes to by default (the reference data's
    `default_unit`; "{street}" is the appeal's street), unless it refused the appeal."""
    name = _default_units().get(category)
    if not name:
        return None
    if "{street}" in name:
        if not street:
            return None
        name = name.replace("{street}", street)
    unit = session.scalar(select(Unit.id).where(Unit.name == name, Unit.active,
                                                Unit.merged_into_id.is_(None)))
    return None if unit in refused else unit


def appeal_detail(session: Session, appeal_id: int, *, actor: Actor) -> dict:
    """Everything the detail page shows, and the actions the actor may take now."""
    from crm.services.appeals import actions_for, get_appeal, pending_extension

    a = get_appeal(session, appeal_id, actor)
    pending = pending_extension(session, a.id)
    events = timeline(session, a.id)
    returns = [e for e in events if e["action"] == "return"]
    refused = set(session.scalars(select(AppealEvent.unit_id).where(
        AppealEvent.appeal_id == a.id, AppealEvent.action == "return",
        AppealEvent.unit_id.is_not(None))))
    street = a.street.name if a.street else None
    merged_into = session.scalar(select(Appeal.code).where(Appeal.id == a.merged_into_id)) \
        if a.merged_into_id else None
    return {
        "id": a.id, "code": a.code, "version": a.version, "status": a.status,
        "title": a.title, "description": a.description, "channel": a.channel,
        "priority": a.priority, "enterprise": a.enterprise.name,
        "enterprise_id": a.enterprise_id, "street": a.street.name if a.street else None,
        "category": a.category.name, "received_at": a.received_at, "due_date": a.due_date,
        "extension_days": a.extension_days, "lead_unit": a.lead_unit.name if a.lead_unit else None,
        "lead_unit_id": a.lead_unit_id, "reply_text": a.reply_text, "solved": a.solved,
        "satisfaction": a.satisfaction, "callback_solved": a.callback_solved,
        "reopen_count": a.reopen_count, "contact_name": a.contact_name,
        "contact_phone": a.contact_phone,
        "merged_into": a.merged_into_id, "merged_into_code": merged_into,
        "external_ref": a.external_ref,
        # 退单: the last return's reason and unit, shown until the appeal is dispatched again
        "last_return": ({"reason": returns[-1]["note"], "unit": returns[-1]["unit"],
                         "at": returns[-1]["at"]} if returns and a.status == "received"
                        else None),
        "refused_unit_ids": sorted(refused),
        "suggested_unit_id": suggested_unit(session, a.category.name, street, refused),
        "overdue": a.status in OPEN_STATUSES and a.due_date < _today(),
        "pending_extension": ({"days": pending.days, "reason": pending.reason}
                              if pending else None),
        "actions": actions_for(session, a, actor),
        "units": handling_units(session, a.id),
        "timeline": events,
        "extensions": extensions(session, a.id),
    }
