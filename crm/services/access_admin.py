"""The access table and the lifecycles as the admin page shows them (read-only)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.access import CAPABILITIES, GRANTS, require
from crm.auth import Actor
from crm.lifecycle import APPEAL, StateMachine
from crm.models.people import ROLES


def capability_matrix(session: Session, *, actor: Actor) -> dict:
    """{roles, rows}: one row per capability, the scope each role holds it in (None: not)."""
    require(actor, "access.view")
    return {"roles": list(ROLES),
            "rows": [{"capability": cap, **{role: GRANTS[cap].get(role) for role in ROLES}}
                     for cap in CAPABILITIES]}


def job_fair_lifecycles(session: Session, *, actor: Actor) -> dict[str, list[dict]]:
    """The job-fair machines (a firm's sign-up, a hiring need), as `lifecycle` gives them."""
    from crm.lifecycle import HIRING_NEED, PARTICIPATION

    return {m.name: lifecycle(session, actor=actor, machine=m)
            for m in (PARTICIPATION, HIRING_NEED)}


def lifecycle(session: Session, *, actor: Actor, machine: StateMachine = APPEAL) -> list[dict]:
    """The machine's actions: from which states, to which, the capability, the guards."""
    require(actor, "access.view")
    return [{"action": a.name, "sources": sorted(a.sources, key=machine.states.index),
             "target": a.target, "capability": a.capability, "guards": list(a.guards)}
            for a in machine.actions.values()]
