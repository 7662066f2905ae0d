"""Finding firms and showing everything about one of them, within the viewer's scope.

Read-only: the list filters by name or USCC with SQL LIKE and is capped, the
detail gathers a firm's facts, tags, contacts, appeals, assignments, visits,
financing and job fairs in one place. A firm outside the actor's scope is
"not found", so a page cannot reveal that it exists.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm.access import allows
from crm.auth import Actor
from crm.errors import NotFound
from crm.models import (
    Appeal,
    Assignment,
    Building,
    Category,
    Chamber,
    Community,
    Contact,
    Enterprise,
    Person,
    Street,
    Tag,
    Unit,
    Visit,
    chamber_member,
    enterprise_tag,
)
from crm.services.firm_search import initials_condition, normalize_query
from crm.services.scope import appeal_scope, enterprise_scope
from crm.textsafety import like_contains

LIST_LIMIT = 200


def _like_pattern(text: str) -> str:
    return like_contains(text)


def _filtered(actor: Actor, text: str):
    query = select(Enterprise).where(enterprise_scope(actor))
    text = "".join(text.split())
    if text:
        pattern = _like_pattern(text)
        conds = [Enterprise.name.like(pattern, escape="\\"),
                 Enterprise.uscc.like(pattern.upper(), escape="\\")]
        by_initials = initials_condition(text)  # qxds → 齐祥灯饰, as on 登记诉求
        if by_initials is not None:
            conds.append(by_initials)
        query = query.where(or_(*conds))
    return query


def search(session: Session, text: str = "", *, actor: Actor,
           limit: int = LIST_LIMIT) -> list[dict]:
    """Firms in scope whose name or USCC contains `text`, by name, at most `limit`."""
    inner = _filtered(actor, text).subquery()
    rows = session.execute(
        select(inner.c.id, inner.c.name, inner.c.uscc, Street.name.label("street"),
               inner.c.industry, inner.c.size, inner.c.is_above_scale)
        .outerjoin(Street, inner.c.street_id == Street.id)
        .order_by(inner.c.name).limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]


def count(session: Session, text: str = "", *, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(_filtered(actor, text).subquery()))


def firm_id_by_uscc(session: Session, uscc: str, *, actor: Actor) -> int:
    """The firm `/enterprises?uscc=…` names, within the actor's scope (NotFound outside)."""
    code = normalize_query(uscc).upper()
    fid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == code,
                                                     enterprise_scope(actor)))
    if fid is None:
        raise NotFound(f"enterprise {code}", key="enterprises.not_found")
    return fid


def detail(session: Session, enterprise_id: int, *, actor: Actor) -> dict:
    """Everything about one firm the actor may see; NotFound outside their scope."""
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="enterprises.not_found")
    place = session.execute(
        select(Street.name, Community.name, Building.name)
        .select_from(Enterprise)
        .outerjoin(Street, Enterprise.street_id == Street.id)
        .outerjoin(Community, Enterprise.community_id == Community.id)
        .outerjoin(Building, Enterprise.building_id == Building.id)
        .where(Enterprise.id == firm.id)
    ).one()
    return {
        "facts": {
            "id": firm.id, "name": firm.name, "uscc": firm.uscc, "street": place[0],
            "community": place[1], "building": place[2], "address": firm.address,
            "industry": firm.industry, "size": firm.size, "registered_on": firm.registered_on,
            "registered_capital": float(firm.registered_capital)
            if firm.registered_capital is not None else None,
            "legal_rep": firm.legal_rep, "is_above_scale": firm.is_above_scale,
            "active": firm.active,
        },
        "tags": _tags(session, firm.id),
        "chambers": list(session.scalars(
            select(Chamber.name).join(chamber_member, chamber_member.c.chamber_id == Chamber.id)
            .where(chamber_member.c.enterprise_id == firm.id).order_by(Chamber.name))),
        "contacts": _contacts(session, firm.id),
        "appeals": _appeals(session, firm.id, actor),
        "assignments": _assignments(session, firm.id),
        "visits": _visits(session, firm.id),
        "financing": _financing(session, firm.id, actor),
        "job_fairs": _job_fairs(session, firm.id, actor),
        "hiring_needs": _hiring_needs(session, firm.id, actor),
    }


def _contacts(session: Session, enterprise_id: int) -> list[dict]:
    rows = session.scalars(select(Contact).where(Contact.enterprise_id == enterprise_id)
                           .order_by(Contact.is_primary.desc(), Contact.id))
    return [{"name": c.name, "title": c.title, "phone": c.phone, "is_primary": c.is_primary}
            for c in rows]


def _tags(session: Session, enterprise_id: int) -> list[str]:
    return list(session.scalars(
        select(Tag.name).join(enterprise_tag, enterprise_tag.c.tag_id == Tag.id)
        .where(enterprise_tag.c.enterprise_id == enterprise_id).order_by(Tag.kind, Tag.name)))


def _appeals(session: Session, enterprise_id: int, actor: Actor) -> list[dict]:
    """The firm's appeals that the actor may also see as appeals (a chamber sees none)."""
    rows = session.execute(
        select(Appeal.id, Appeal.code, Appeal.title, Appeal.status, Category.name.label("category"),
               Appeal.received_at, Appeal.due_date, Unit.name.label("lead_unit"),
               Appeal.satisfaction)
        .join(Category, Appeal.category_id == Category.id)
        .outerjoin(Unit, Appeal.lead_unit_id == Unit.id)
        .where(Appeal.enterprise_id == enterprise_id, appeal_scope(actor))
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
    ).all()
    return [dict(row._mapping) for row in rows]


def _assignments(session: Session, enterprise_id: int) -> list[dict]:
    rows = session.execute(
        select(Assignment.kind, Person.name.label("person"), Unit.name.label("unit"),
               Assignment.start_date, Assignment.end_date, Assignment.note)
        .outerjoin(Person, Assignment.person_id == Person.id)
        .outerjoin(Unit, Assignment.unit_id == Unit.id)
        .where(Assignment.enterprise_id == enterprise_id)
        .order_by(Assignment.end_date.is_not(None), Assignment.start_date.desc())
    ).all()
    return [dict(row._mapping) for row in rows]


def _visits(session: Session, enterprise_id: int) -> list[dict]:
    rows = session.execute(
        select(Visit.visited_on, Visit.way, Person.name.label("person"), Visit.notes)
        .outerjoin(Person, Visit.person_id == Person.id)
        .where(Visit.enterprise_id == enterprise_id)
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
    ).all()
    return [dict(row._mapping) for row in rows]


def _financing(session: Session, enterprise_id: int, actor: Actor) -> dict:
    """The firm's financing needs (status from their matches) and its loans (approved or
    disbursed matches), for those who may read financing."""
    from crm.services.financing import list_needs, loans

    if not allows(actor, "financing.read"):
        return {"needs": [], "loans": []}
    needs = [{**n, "amount": float(n["amount"])}
             for n in list_needs(session, actor=actor, enterprise_id=enterprise_id)]
    return {"needs": needs, "loans": loans(session, actor=actor, enterprise_id=enterprise_id)}


def _job_fairs(session: Session, enterprise_id: int, actor: Actor) -> list[dict]:
    """The firm's hiring history: its fairs and positions with the funnel as of today."""
    if not allows(actor, "jobfair.read"):
        return []
    from crm.services.jobfair_report import firm_history

    return firm_history(session, enterprise_id, actor=actor)


def _hiring_needs(session: Session, enterprise_id: int, actor: Actor) -> list[dict]:
    if not allows(actor, "hiring.read"):
        return []
    from crm.services.hiring import list_hiring_needs

    return list_hiring_needs(session, actor=actor, enterprise_id=enterprise_id)


def any_registered(session: Session) -> bool:
    """Whether the database holds any firm at all, whoever may see it (`seed-demo --if-empty`)."""
    return session.scalar(select(Enterprise.id).limit(1)) is not None
