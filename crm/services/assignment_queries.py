"""Reading 包联: the people and buildings a user may assign, firms to assign in bulk, the
assignment list and its export. Every query carries the actor's scope."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.access import ALL, STREET, scope_of
from crm.auth import Actor
from crm.errors import ValidationError
from crm.i18n import label
from crm.models import Assignment, Building, Enterprise, Person, Street, Unit
from crm.models.assignment import ASSIGNMENT_KINDS
from crm.services.assignments import BULK_LIMIT, CADRE, SERVING_KINDS
from crm.services.scope import assignment_scope, enterprise_scope

LIST_LIMIT = 500


def people(session: Session, *, actor: Actor, include_inactive: bool = False) -> list[dict]:
    """Cadres and leaders the actor may assign, with how many firms each serves now."""
    serving = (select(Assignment.person_id, func.count().label("firms"))
               .where(Assignment.kind == CADRE, Assignment.end_date.is_(None))
               .group_by(Assignment.person_id).subquery())
    query = (select(Person.id, Person.name, Person.kind, Person.title, Person.active,
                    Street.name.label("street"),
                    func.coalesce(serving.c.firms, 0).label("firms"))
             .outerjoin(Street, Person.street_id == Street.id)
             .outerjoin(serving, serving.c.person_id == Person.id)
             .where(Person.kind.in_(SERVING_KINDS))
             .order_by(Street.sort_order, Person.kind.desc(), Person.name, Person.id))
    if not include_inactive:
        query = query.where(Person.active)
    return _rows_in_scope(session, actor, query, Person.street_id)


def _rows_in_scope(session: Session, actor: Actor, query, street_column) -> list[dict]:
    """The query's rows as dicts: a liaison's own street only, everything for those who
    read everything, nothing for anyone else."""
    scope = scope_of(actor.role, "assignment.manage") or scope_of(actor.role, "assignment.read")
    if scope == STREET:
        query = query.where(street_column == actor.street_id)
    elif scope != ALL:
        return []
    return [dict(row._mapping) for row in session.execute(query)]


def buildings(session: Session, *, actor: Actor) -> list[dict]:
    """Buildings the actor may assign, with their street and number of firms."""
    firms = (select(Enterprise.building_id, func.count().label("firms"))
             .where(Enterprise.active).group_by(Enterprise.building_id).subquery())
    query = (select(Building.id, Building.name, Street.name.label("street"),
                    func.coalesce(firms.c.firms, 0).label("firms"))
             .join(Street, Building.street_id == Street.id)
             .outerjoin(firms, firms.c.building_id == Building.id)
             .order_by(Street.sort_order, Building.name))
    return _rows_in_scope(session, actor, query, Building.street_id)


def street_units(session: Session, *, actor: Actor) -> list[dict]:
    """The offices (科室) that may own firms: street offices, the liaison's own."""
    query = (select(Unit.id, Unit.name).where(Unit.kind == "street_office", Unit.active)
             .order_by(Unit.name))
    return _rows_in_scope(session, actor, query, Unit.street_id)


def firms_to_assign(session: Session, *, actor: Actor, building_id: int | None = None,
                    street_id: int | None = None, text: str = "", uncovered_only: bool = False,
                    above_scale_only: bool = False, limit: int = BULK_LIMIT) -> list[dict]:
    """A filtered list of firms in scope, each with its current cadre, for bulk assigning."""
    cadre = (select(Assignment.enterprise_id, Person.name.label("cadre"))
             .join(Person, Assignment.person_id == Person.id)
             .where(Assignment.kind == CADRE, Assignment.end_date.is_(None)).subquery())
    query = (select(Enterprise.id, Enterprise.name, Enterprise.uscc,
                    Enterprise.is_above_scale, Building.name.label("building"), cadre.c.cadre)
             .outerjoin(Building, Enterprise.building_id == Building.id)
             .outerjoin(cadre, cadre.c.enterprise_id == Enterprise.id)
             .where(enterprise_scope(actor), Enterprise.active)
             .order_by(Enterprise.name).limit(limit))
    if building_id:
        query = query.where(Enterprise.building_id == building_id)
    if street_id:
        query = query.where(Enterprise.street_id == street_id)
    if text.strip():
        query = query.where(Enterprise.name.contains("".join(text.split()), autoescape=True))
    if uncovered_only:
        query = query.where(cadre.c.cadre.is_(None))
    if above_scale_only:
        query = query.where(Enterprise.is_above_scale)
    return [dict(row._mapping) for row in session.execute(query)]


def list_assignments(session: Session, *, actor: Actor, person_id: int | None = None,
                     enterprise_id: int | None = None, kinds: Sequence[str] = (),
                     active_only: bool = False, limit: int | None = LIST_LIMIT) -> list[dict]:
    """Assignments the actor may see, newest first: the page's list and the export."""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in ASSIGNMENT_KINDS]
    if unknown:
        raise ValidationError(f"unknown kind {unknown[0]!r}", key="assignment.bad_kind")
    query = (select(Assignment.id, Assignment.kind, Enterprise.uscc, Enterprise.name.label(
                    "enterprise"), Building.name.label("building"), Person.name.label("person"),
                    Unit.name.label("unit"), Street.name.label("street"), Assignment.start_date,
                    Assignment.end_date, Assignment.note)
             .outerjoin(Enterprise, Assignment.enterprise_id == Enterprise.id)
             .outerjoin(Building, Assignment.building_id == Building.id)
             .outerjoin(Person, Assignment.person_id == Person.id)
             .outerjoin(Unit, Assignment.unit_id == Unit.id)
             .outerjoin(Street, Street.id == func.coalesce(Enterprise.street_id,
                                                           Building.street_id))
             .where(assignment_scope(actor))
             .order_by(Assignment.start_date.desc(), Assignment.id.desc()))
    if person_id:
        query = query.where(Assignment.person_id == person_id)
    if enterprise_id:
        query = query.where(Assignment.enterprise_id == enterprise_id)
    if kinds:
        query = query.where(Assignment.kind.in_(kinds))
    if active_only:
        query = query.where(Assignment.end_date.is_(None))
    if limit:
        query = query.limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]


# The export's headers are the importer's first synonyms, so an exported list imports back.
EXPORT_COLUMNS = {"uscc": "统一社会信用代码", "enterprise": "企业名称", "street": "镇街",
                  "building": "楼宇", "kind": "包联方式", "person": "包联干部", "unit": "包联科室",
                  "start_date": "开始日期", "end_date": "结束日期", "note": "备注"}


def export_rows(session: Session, *, actor: Actor, active_only: bool = False) -> list[dict]:
    """All assignments in scope as rows under the spreadsheet's Chinese headers."""
    rows = list_assignments(session, actor=actor, active_only=active_only, limit=None)
    return [{header: (label("assignment", row[field]) if field == "kind" else row[field])
             for field, header in EXPORT_COLUMNS.items()} for row in rows]
