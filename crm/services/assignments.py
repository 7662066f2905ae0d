"""包联: who owns which building or firm, dated, with history that survives people leaving.

Three kinds (DOMAIN.md §2): 班子包楼宇 a street leader owns a building
(leader_building), 科室包企业 an office owns a firm (office_enterprise),
干部一对一 a cadre serves a firm (cadre_enterprise). An assignment is active
while `end_date` is empty; ending one sets the last day served (inclusive),
so the successor starts the day after. Rows are never deleted.

A firm has at most one active cadre: the services check it and say who the
cadre is; the partial unique index `uq_assignment_one_active_cadre` enforces
it in the database should two people assign the same firm at once.

Admins assign anywhere; a street liaison assigns the firms, buildings and
people of their own street. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm import rules
from crm.access import STREET, condition, require
from crm.auth import Actor
from crm.db import today as _today
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.models import Assignment, Building, Enterprise, Person, Unit
from crm.services import audit
from crm.services.bulk_rows import BulkResult
from crm.services.scope import enterprise_scope

SERVING_KINDS = rules.SERVING_KINDS  # people who can own a firm or a building
CADRE = "cadre_enterprise"
BULK_LIMIT = 5000  # firms one bulk assignment may cover (a whole street's list)


# --- checks ----------------------------------------------------------------------------------

def _require_assigner(actor: Actor) -> None:
    if require(actor, "assignment.manage") == STREET and not actor.street_id:
        raise Forbidden("a liaison without a street may not assign",
                        key="assignment.role_forbidden", role=actor.role)


def _firm(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="assignment.firm_not_found")
    require(actor, "assignment.manage", firm)
    return firm


def _person(session: Session, actor: Actor, person_id: int, *,
            must_be_active: bool = True) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id}", key="assignment.person_not_found")
    if not rules.may_serve(person.kind):
        raise ValidationError(f"{person.name} is a {person.kind}, not a cadre or leader",
                              key="rules.not_serving", name=person.name, kind=person.kind)
    if must_be_active and not person.active:
        raise ValidationError(f"{person.name} is inactive", key="assignment.person_inactive",
                              name=person.name)
    require(actor, "assignment.manage", person)  # a liaison: people of their street (or none)
    return person


def _start(start_date: dt.date | None) -> dt.date:
    start = start_date or _today()
    if rules.assignment_dates_problem(start, None, _today()) == "future_start":
        raise ValidationError("an assignment cannot start in the future",
                              key="assignment.future_start")
    return start


def active_cadre(session: Session, enterprise_id: int) -> Assignment | None:
    return session.scalar(select(Assignment).where(
        Assignment.enterprise_id == enterprise_id, Assignment.kind == CADRE,
        Assignment.end_date.is_(None)))


def _close(assignment: Assignment, successor_start: dt.date) -> None:
    """End an assignment the day before its successor starts (never before it began)."""
    if successor_start < assignment.start_date:
        raise ValidationError("the new assignment would start before the current one",
                              key="assignment.starts_before_current",
                              since=assignment.start_date.isoformat())
    assignment.end_date = max(assignment.start_date, successor_start - dt.timedelta(days=1))


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as err:  # someone assigned the same firm a moment ago
        raise Conflict(str(err.orig), key="assignment.conflict") from err


# --- one at a time ---------------------------------------------------------------------------

def assign_cadre(session: Session, *, actor: Actor, enterprise_id: int, person_id: int,
                 start_date: dt.date | None = None, note: str | None = None,
                 replace: bool = False) -> Assignment:
    """干部一对一: the cadre serves the firm from `start_date` (today by default).

    A firm already served by this cadre is left as it is. A firm served by
    someone else is refused with that person's name, unless `replace`: then
    the current assignment ends the day before and stays as history.
    """
    _require_assigner(actor)
    assignment, _closed = _assign_cadre(session, actor, enterprise_id, person_id,
                                        _start(start_date), note, replace)
    new = assignment.id is None
    _flush(session)
    if new:
        audit.created(session, actor, "assignment.cadre", assignment)
    return assignment


def _assign_cadre(session: Session, actor: Actor, enterprise_id: int, person_id: int,
                  start: dt.date, note: str | None, replace: bool,
                  end: dt.date | None = None) -> tuple[Assignment, bool]:
    firm = _firm(session, actor, enterprise_id)
    person = _person(session, actor, person_id, must_be_active=end is None)
    current = active_cadre(session, firm.id)
    closed = False
    if end is None and current is not None:
        if current.person_id == person.id:
            return current, False
        if not replace:
            name = session.scalar(select(Person.name).where(Person.id == current.person_id))
            raise ValidationError(f"{firm.name} is served by {name}", key="assignment.has_cadre",
                                  firm=firm.name, name=name)
        _close(current, start)
        audit.changed(session, actor, "assignment.handover_end", current, successor=person.id)
        closed = True
        session.flush()  # the closed row must leave the partial unique index first
    if end is not None and rules.assignment_dates_problem(start, end, end) is not None:
        raise ValidationError("the end is before the start", key="assignment.dates_ordered")
    assignment = Assignment(kind=CADRE, person_id=person.id, enterprise_id=firm.id,
                            start_date=start, end_date=end, note=_note(note),
                            created_by_id=actor.id)
    session.add(assignment)
    return assignment, closed


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if rules.too_long("assignment", "note", text):
        raise ValidationError("the note is longer than 200 characters",
                              key="assignment.note_too_long")
    return text or None


def assign_building(session: Session, *, actor: Actor, building_id: int, person_id: int,
                    start_date: dt.date | None = None, note: str | None = None) -> Assignment:
    """班子包楼宇: a street leader owns a building; several leaders may share one."""
    _require_assigner(actor)
    building = session.get(Building, building_id)
    if building is None:
        raise NotFound(f"building {building_id}", key="assignment.building_not_found")
    require(actor, "assignment.manage", building)
    person = _person(session, actor, person_id)
    existing = session.scalar(select(Assignment).where(
        Assignment.kind == "leader_building", Assignment.building_id == building.id,
        Assignment.person_id == person.id, Assignment.end_date.is_(None)))
    if existing is not None:
        return existing
    assignment = Assignment(kind="leader_building", person_id=person.id,
                            building_id=building.id, start_date=_start(start_date),
                            note=_note(note), created_by_id=actor.id)
    session.add(assignment)
    _flush(session)
    audit.created(session, actor, "assignment.building", assignment)
    return assignment


def assign_office(session: Session, *, actor: Actor, enterprise_id: int, unit_id: int,
                  start_date: dt.date | None = None, note: str | None = None) -> Assignment:
    """科室包企业: an office of the street (a unit) owns the firm."""
    _require_assigner(actor)
    firm = _firm(session, actor, enterprise_id)
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise NotFound(f"unit {unit_id}", key="assignment.unit_not_found")
    require(actor, "assignment.manage", unit)
    existing = session.scalar(select(Assignment).where(
        Assignment.kind == "office_enterprise", Assignment.enterprise_id == firm.id,
        Assignment.unit_id == unit.id, Assignment.end_date.is_(None)))
    if existing is not None:
        return existing
    assignment = Assignment(kind="office_enterprise", unit_id=unit.id, enterprise_id=firm.id,
                            start_date=_start(start_date), note=_note(note),
                            created_by_id=actor.id)
    session.add(assignment)
    _flush(session)
    audit.created(session, actor, "assignment.office", assignment)
    return assignment


def end_assignment(session: Session, assignment_id: int, *, actor: Actor,
                   end_date: dt.date | None = None) -> Assignment:
    """End an assignment on `end_date` (today by default); the row stays as history."""
    _require_assigner(actor)
    assignment = session.scalar(select(Assignment).where(
        Assignment.id == assignment_id, condition(actor, "assignment.manage", Assignment)))
    if assignment is None:
        raise NotFound(f"assignment {assignment_id}", key="assignment.not_found")
    if assignment.end_date is not None:
        raise ValidationError("the assignment has ended already", key="assignment.ended")
    end = end_date or _today()
    if rules.assignment_dates_problem(assignment.start_date, end, end) is not None:
        raise ValidationError("the end is before the start", key="assignment.dates_ordered")
    assignment.end_date = end
    audit.changed(session, actor, "assignment.end", assignment)
    _flush(session)
    return assignment


# --- many at once ----------------------------------------------------------------------------

def assign_firms(session: Session, enterprise_ids: Iterable[int], *, actor: Actor,
                 person_id: int, start_date: dt.date | None = None, note: str | None = None,
                 replace: bool = False) -> BulkResult:
    """One cadre for many firms (a building's firms, a filtered list), row by row.

    Firms served by someone else are reported, not changed, unless `replace`.
    """
    _require_assigner(actor)
    start = _start(start_date)
    ids = list(dict.fromkeys(enterprise_ids))
    if len(ids) > BULK_LIMIT:
        raise ValidationError(f"at most {BULK_LIMIT} firms at once",
                              key="assignment.too_many", limit=BULK_LIMIT)
    _person(session, actor, person_id)
    result = BulkResult()
    for position, enterprise_id in enumerate(ids):
        _apply(session, actor, result, position + 1,
               lambda eid=enterprise_id: _assign_cadre(session, actor, eid, person_id, start,
                                                       note, replace))
    _flush(session)
    audit.record(session, actor, "assignment.assign_many", "person", person_id,
                 created=result.created, unchanged=result.unchanged, closed=result.closed,
                 refused=len(result.errors), records=sorted(set(result.records.values())))
    return result


def _apply(session: Session, actor: Actor, result: BulkResult, row: int, make) -> None:
    try:
        assignment, closed = make()
    except (NotFound, ValidationError, Forbidden) as err:
        result.refuse(row, err)
        return
    if assignment.id is None:
        _flush(session)
        result.created += 1
    else:
        result.unchanged += 1
    result.closed += int(closed)
    result.records[row] = assignment.id


def reassign_all(session: Session, *, actor: Actor, from_person_id: int, to_person_id: int,
                 on_date: dt.date | None = None, note: str | None = None) -> dict:
    """A cadre leaves: everything they own (firms and buildings) passes to the successor.

    Each active assignment of the leaver (within the actor's street, for a
    liaison) ends the day before `on_date` and a new one for the successor
    starts on it; the old rows stay, closed, as the firms' history.
    """
    _require_assigner(actor)
    if from_person_id == to_person_id:
        raise ValidationError("the successor is the same person", key="assignment.same_person")
    leaver = _person(session, actor, from_person_id, must_be_active=False)
    successor = _person(session, actor, to_person_id)
    start = _start(on_date)
    current = list(session.scalars(
        select(Assignment).where(Assignment.person_id == leaver.id,
                                 Assignment.end_date.is_(None),
                                 Assignment.kind.in_((CADRE, "leader_building")),
                                 condition(actor, "assignment.manage", Assignment))
        .order_by(Assignment.id)))
    for assignment in current:
        _close(assignment, start)
    session.flush()
    text = _note(note) or f"接替{leaver.name}"[:200]
    for assignment in current:
        session.add(Assignment(kind=assignment.kind, person_id=successor.id,
                               enterprise_id=assignment.enterprise_id,
                               building_id=assignment.building_id, start_date=start,
                               note=text, created_by_id=actor.id))
    _flush(session)
    firms = sum(1 for a in current if a.kind == CADRE)
    moved = {"firms": firms, "buildings": len(current) - firms}
    audit.record(session, actor, "assignment.reassign_all", "person", leaver.id,
                 successor=successor.id, on=start.isoformat(), **moved,
                 ended=[a.id for a in current])
    return moved
