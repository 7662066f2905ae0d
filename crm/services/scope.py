"""Role scopes as SQL conditions, so every query filters in the database.

A liaison sees their street, a handler the appeals dispatched to their unit
(lead or co-handling), a cadre the firms assigned to them and those firms'
appeals, a chamber its member firms; officials and admins read everything.
Services add these conditions to every query; pages never filter by role.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from crm.auth import Actor
from crm.models import Appeal, AppealUnit, Assignment, Building, Enterprise, chamber_member

EVERYTHING = true()


def _cadre_firms(actor: Actor):
    return select(Assignment.enterprise_id).where(
        Assignment.kind == "cadre_enterprise", Assignment.person_id == actor.person_id,
        Assignment.end_date.is_(None))


def enterprise_scope(actor: Actor) -> ColumnElement[bool]:
    """Which firms the actor may see."""
    if actor.role in {"official", "admin", "employment", "handler"}:
        # Handlers and employment staff look firms up across the district.
        return EVERYTHING
    if actor.role == "liaison":
        return Enterprise.street_id == actor.street_id if actor.street_id else false()
    if actor.role == "cadre":
        return Enterprise.id.in_(_cadre_firms(actor)) if actor.person_id else false()
    if actor.role == "chamber":
        if not actor.chamber_id:
            return false()
        return Enterprise.id.in_(select(chamber_member.c.enterprise_id)
                                 .where(chamber_member.c.chamber_id == actor.chamber_id))
    return false()


def appeal_scope(actor: Actor) -> ColumnElement[bool]:
    """Which appeals the actor may see."""
    if actor.reads_everything:
        return EVERYTHING
    if actor.role == "liaison":
        return Appeal.street_id == actor.street_id if actor.street_id else false()
    if actor.role == "handler":
        if not actor.unit_id:
            return false()
        return exists().where(and_(AppealUnit.appeal_id == Appeal.id,
                                   AppealUnit.unit_id == actor.unit_id, AppealUnit.active))
    if actor.role == "cadre":
        return Appeal.enterprise_id.in_(_cadre_firms(actor)) if actor.person_id else false()
    return false()


def assignment_scope(actor: Actor) -> ColumnElement[bool]:
    """Assignments of the firms and buildings the actor may manage."""
    if actor.reads_everything:
        return EVERYTHING
    if actor.role == "liaison" and actor.street_id:
        return or_(Assignment.enterprise_id.in_(
            select(Enterprise.id).where(Enterprise.street_id == actor.street_id)),
            Assignment.building_id.in_(
                select(Building.id).where(Building.street_id == actor.street_id)))
    if actor.role == "cadre" and actor.person_id:
        return Assignment.person_id == actor.person_id
    return false()
