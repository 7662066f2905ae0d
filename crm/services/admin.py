"""Administrator edits of reference data: category time limits and handling units.

Only an admin may change these, each change is validated and written to the
audit log with its before and after values. Changing a category's limit
affects appeals received from then on: an appeal's due date is fixed when it
is received (plus approved extensions), so past KPIs do not move.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.errors import NotFound, ValidationError
from crm.models import Category, Chamber, Street, Unit
from crm.services import audit

MIN_LIMIT_DAYS = 1
MAX_LIMIT_DAYS = 365


def _require_admin(actor: Actor | None) -> None:
    require(actor, "reference.manage")


def list_categories(session: Session, *, actor: Actor | None) -> list[dict]:
    _require_admin(actor)
    rows = session.scalars(select(Category).order_by(Category.sort_order, Category.id))
    return [{"id": c.id, "name": c.name, "limit_days": c.limit_days,
             "working_days": c.working_days, "active": c.active} for c in rows]


def list_units(session: Session, *, actor: Actor | None) -> list[dict]:
    """Units an admin keeps: unconfirmed ones (first seen in an import) first."""
    _require_admin(actor)
    rows = session.execute(
        select(Unit, Street.name).outerjoin(Street, Unit.street_id == Street.id)
        .where(Unit.merged_into_id.is_(None))
        .order_by(Unit.confirmed, Unit.kind, Unit.name)
    ).all()
    return [{"id": u.id, "name": u.name, "kind": u.kind, "street": street,
             "confirmed": u.confirmed, "active": u.active} for u, street in rows]


def scope_choices(session: Session, *, actor: Actor | None) -> dict[str, list[str]]:
    """Names the add-user form offers: streets in district order, active units, chambers."""
    require(actor, "user.manage")
    return {
        "streets": list(session.scalars(select(Street.name).order_by(Street.sort_order))),
        "units": list(session.scalars(select(Unit.name).where(Unit.active,
                                                              Unit.merged_into_id.is_(None))
                                      .order_by(Unit.kind, Unit.name))),
        "chambers": list(session.scalars(select(Chamber.name).order_by(Chamber.name))),
    }


def update_category_limit(session: Session, category_id: int, limit_days: int, *,
                          actor: Actor | None) -> Category:
    _require_admin(actor)
    try:
        days = int(limit_days)
    except (TypeError, ValueError):
        days = 0
    if not MIN_LIMIT_DAYS <= days <= MAX_LIMIT_DAYS:
        raise ValidationError(f"time limit must be {MIN_LIMIT_DAYS}–{MAX_LIMIT_DAYS} days",
                              key="admin.bad_limit", low=MIN_LIMIT_DAYS, high=MAX_LIMIT_DAYS)
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(f"category {category_id}", key="admin.category_not_found")
    if category.limit_days != days:
        audit.record(session, actor, "category.limit", "category", category.id,
                     before=category.limit_days, after=days)
        category.limit_days = days
    return category


def update_category_limits(session: Session, limits: dict[int, int], *,
                           actor: Actor | None) -> int:
    """Several limits in one transaction: all are saved, or none."""
    for category_id, days in limits.items():
        update_category_limit(session, category_id, days, actor=actor)
    session.flush()
    return len(limits)


def rename_unit(session: Session, unit_id: int, name: str, *, actor: Actor | None) -> Unit:
    _require_admin(actor)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError("the unit name is empty", key="admin.empty_unit_name")
    unit = _unit(session, unit_id)
    if unit.name == name:
        return unit
    clash = session.scalar(select(Unit.id).where(func.lower(Unit.name) == name.lower(),
                                                 Unit.id != unit.id))
    if clash is not None:
        raise ValidationError(f"unit {name!r} exists", key="admin.unit_exists", name=name)
    audit.record(session, actor, "unit.rename", "unit", unit.id, before=unit.name, after=name)
    unit.name = name
    return unit


def confirm_unit(session: Session, unit_id: int, *, actor: Actor | None) -> Unit:
    """Accept a unit first seen in an import as a real handling unit."""
    _require_admin(actor)
    unit = _unit(session, unit_id)
    if not unit.confirmed:
        unit.confirmed = True
        audit.record(session, actor, "unit.confirm", "unit", unit.id)
    return unit


def update_units(session: Session, changes: dict[int, dict], *, actor: Actor | None) -> int:
    """Renames and confirmations from the admin's table, in one transaction."""
    for unit_id, change in changes.items():
        if "name" in change:
            rename_unit(session, unit_id, change["name"], actor=actor)
        if change.get("confirmed"):
            confirm_unit(session, unit_id, actor=actor)
    session.flush()
    return len(changes)


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id}", key="admin.unit_not_found")
    return unit


def list_users(session: Session, *, actor: Actor | None) -> list[dict]:
    """Every login with its role and scope; only an admin may read the list."""
    from crm.services import users

    rows = users.list_users(session, actor=actor)
    for row in rows:
        stamp = row["last_login_at"]
        row["last_login_at"] = dt.datetime.fromisoformat(stamp) if stamp else None
    return rows
