"""Role scopes as SQL conditions, so every query filters in the database.

Thin names over the capability table (crm.access): which firms, appeals and
assignments an actor may read. Services add these conditions to every query;
pages never filter by role.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from crm.access import condition
from crm.auth import Actor
from crm.models import Appeal, Assignment, Enterprise


def enterprise_scope(actor: Actor) -> ColumnElement[bool]:
    """Which firms the actor may see ("firm.read")."""
    return condition(actor, "firm.read", Enterprise)


def appeal_scope(actor: Actor) -> ColumnElement[bool]:
    """Which appeals the actor may see ("appeal.read")."""
    return condition(actor, "appeal.read", Appeal)


def assignment_scope(actor: Actor) -> ColumnElement[bool]:
    """Assignments of the firms and buildings the actor may read ("assignment.read")."""
    return condition(actor, "assignment.read", Assignment)
