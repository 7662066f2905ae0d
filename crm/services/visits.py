"""走访: a cadre's (or liaison's) visits to a firm, the policies delivered, the appeals raised.

A visit records firm, cadre, date, way (on site / phone / meeting), notes
and the policies delivered (送政策, from the list the admin keeps). Appeals a
firm raises during the visit are logged through `crm.services.appeals` in the
same transaction and linked to the visit, so the closed loop starts from it.

Cadres record visits to the firms they serve now; liaisons to the firms of
their street (naming the cadre who went, or themselves); admins anywhere.
The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import require
from crm.auth import Actor
from crm.db import today as _today
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import label
from crm.models import (
    Appeal,
    Enterprise,
    FinancingNeed,
    Person,
    Policy,
    Street,
    Visit,
    visit_policy,
)
from crm.models.assignment import VISIT_WAYS
from crm.services import appeals as appeal_service
from crm.services import audit
from crm.services.scope import enterprise_scope

EARLIEST = rules.EARLIEST_VISIT
NOTES_LIMIT = rules.limit("visit", "notes")
LIST_LIMIT = 500


def _require_visitor(actor: Actor) -> None:
    require(actor, "visit.record")


def _check_date(visited_on: dt.date | None) -> dt.date:
    day = visited_on or _today()
    if isinstance(day, dt.datetime):
        day = day.date()
    if day > _today() or day < EARLIEST:
        raise ValidationError(f"{day} is not a possible visit date", key="visit.bad_date",
                              field="visited_on")
    return day


def _visitor(session: Session, actor: Actor, person_id: int | None) -> int | None:
    """Who went: the recorder by default; a liaison may credit a cadre of their street, an
    admin anyone, a cadre only themselves ("visit.credit")."""
    if person_id is None or person_id == actor.person_id:
        if person_id is None and not actor.person_id and require(actor, "visit.credit") == "self":
            raise Forbidden("the login is not linked to a person", key="visit.no_person")
        return actor.person_id  # the recorder went; `recorded_by_id` names them
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id}", key="assignment.person_not_found")
    if not rules.may_serve(person.kind):
        raise ValidationError(f"{person.name} is a {person.kind}, not a cadre or leader",
                              key="rules.not_serving", name=person.name, kind=person.kind)
    require(actor, "visit.credit", person)
    return person_id


def _policies(session: Session, policy_ids: Sequence[int]) -> list[Policy]:
    ids = list(dict.fromkeys(policy_ids))
    if not ids:
        return []
    found = list(session.scalars(select(Policy).where(Policy.id.in_(ids))))
    if len(found) != len(ids):
        raise NotFound("unknown policy", key="visit.policy_not_found")
    return found


def record_visit(session: Session, *, actor: Actor, enterprise_id: int, way: str,
                 visited_on: dt.date | None = None, notes: str = "",
                 policy_ids: Sequence[int] = (), person_id: int | None = None,
                 appeals: Sequence[dict] = (), financing: dict | None = None) -> Visit:
    """Record a visit; each dict in `appeals` becomes an appeal linked to it, and
    `financing` (if given) a financing need the firm raised, dated the visit's day.

    An appeal dict carries `category_id`, `title` and optionally `description`,
    `priority`, `contact_name`, `contact_phone` (see appeals.log_appeal). The
    financing dict carries `amount` and optionally `purpose`, `term_months`,
    `collateral`, `urgency`, `note` (see financing.add_financing_need).
    """
    _require_visitor(actor)
    if way not in VISIT_WAYS:
        raise ValidationError(f"unknown way {way!r}", key="visit.bad_way", field="way")
    day = _check_date(visited_on)
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="visit.firm_not_found")
    require(actor, "visit.record", firm)
    text = (notes or "").strip()
    if len(text) > NOTES_LIMIT:
        raise ValidationError("notes too long", key="visit.notes_too_long", limit=NOTES_LIMIT)
    visitor = _visitor(session, actor, person_id)
    if _same_visit(session, rules.visit_key(firm.id, day, visitor, way)):
        raise ValidationError("this visit is on file already", key="visit.exists")
    visit = Visit(enterprise_id=firm.id, person_id=visitor, recorded_by_id=actor.id,
                  visited_on=day, way=way, notes=text or None)
    visit.policies = _policies(session, policy_ids)
    session.add(visit)
    session.flush()
    audit.created(session, actor, "visit.record", visit,
                  policies=[p.id for p in visit.policies] or None)
    for spec in appeals:
        raise_appeal(session, visit.id, actor=actor, **spec)
    if financing:
        from crm.services.financing import add_financing_need

        add_financing_need(session, actor=actor, enterprise_id=firm.id, requested_on=day,
                           visit_id=visit.id, **financing)
    return visit


def _same_visit(session: Session, key: tuple) -> int | None:
    """The visit with this natural key (crm.rules.visit_key), as the importer finds it."""
    firm, day, person, way = key
    return session.scalar(select(Visit.id).where(
        Visit.enterprise_id == firm, Visit.visited_on == day, Visit.way == way,
        Visit.person_id.is_(None) if person is None else Visit.person_id == person))


def save_visit(session: Session, *, actor: Actor, **fields) -> dict:
    """The visit form's action: record_visit, then say what was saved in plain values."""
    visit = record_visit(session, actor=actor, **fields)
    raised = session.execute(select(Appeal.code, Appeal.due_date)
                             .where(Appeal.visit_id == visit.id).order_by(Appeal.id)).all()
    needs = session.scalars(select(FinancingNeed.id).where(FinancingNeed.visit_id == visit.id))
    return {"visit_id": visit.id, "appeals": [{"code": c, "due_date": d} for c, d in raised],
            "financing_needs": list(needs)}


def raise_appeal(session: Session, visit_id: int, *, actor: Actor, category_id: int, title: str,
                 description: str = "", priority: str = "normal",
                 contact_name: str | None = None, contact_phone: str | None = None) -> Appeal:
    """An appeal the firm raised during the visit: logged (受理) and linked to the visit."""
    visit = get_visit(session, visit_id, actor=actor)
    channel = "meeting" if visit.way == "meeting" else "visit"
    return appeal_service.log_appeal(
        session, actor=actor, enterprise_id=visit.enterprise_id, category_id=category_id,
        title=title, description=description, channel=channel, priority=priority,
        contact_name=contact_name, contact_phone=contact_phone, visit_id=visit.id)


def get_visit(session: Session, visit_id: int, *, actor: Actor) -> Visit:
    visit = session.scalar(select(Visit).join(Enterprise, Visit.enterprise_id == Enterprise.id)
                           .where(Visit.id == visit_id, enterprise_scope(actor)))
    if visit is None:
        raise NotFound(f"visit {visit_id}", key="visit.not_found")
    return visit


# --- reading ---------------------------------------------------------------------------------

def local_today(session: Session, *, actor: Actor) -> dt.date:
    """Today on the district's clock (CRM_TIMEZONE), which bounds the forms' date pickers."""
    return _today()


def policies(session: Session, *, actor: Actor) -> list[dict]:
    """The active policies a visit may deliver, as the admin keeps them."""
    rows = session.execute(select(Policy.id, Policy.title, Policy.issuer)
                           .where(Policy.active).order_by(Policy.id))
    return [dict(row._mapping) for row in rows]


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """'2026-03' → (2026-03-01, 2026-04-01)."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValidationError(f"{month!r} is not a month", key="visit.bad_month") from None
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt


def list_visits(session: Session, *, actor: Actor, enterprise_id: int | None = None,
                person_id: int | None = None, month: str | None = None,
                street_id: int | None = None, since: dt.date | None = None,
                limit: int | None = LIST_LIMIT) -> list[dict]:
    """Visits to firms in the actor's scope, newest first, with policies and appeals raised."""
    appeal_count = (select(func.count()).where(Appeal.visit_id == Visit.id)
                    .correlate(Visit).scalar_subquery())
    query = (select(Visit.id, Visit.visited_on, Visit.way, Enterprise.uscc,
                    Enterprise.name.label("enterprise"), Street.name.label("street"),
                    Person.name.label("person"), Visit.notes, appeal_count.label("appeals"))
             .join(Enterprise, Visit.enterprise_id == Enterprise.id)
             .outerjoin(Street, Enterprise.street_id == Street.id)
             .outerjoin(Person, Visit.person_id == Person.id)
             .where(enterprise_scope(actor))
             .order_by(Visit.visited_on.desc(), Visit.id.desc()))
    if enterprise_id:
        query = query.where(Visit.enterprise_id == enterprise_id)
    if person_id:
        query = query.where(Visit.person_id == person_id)
    if street_id:
        query = query.where(Enterprise.street_id == street_id)
    if month:
        first, nxt = month_bounds(month)
        query = query.where(Visit.visited_on >= first, Visit.visited_on < nxt)
    if since:
        query = query.where(Visit.visited_on >= since)
    if limit:
        query = query.limit(limit)
    rows = [dict(row._mapping) for row in session.execute(query)]
    _attach_policies(session, rows)
    return rows


def _attach_policies(session: Session, rows: list[dict]) -> None:
    by_visit: dict[int, list[str]] = {}
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for visit_id, title in session.execute(
                select(visit_policy.c.visit_id, Policy.title)
                .join(Policy, visit_policy.c.policy_id == Policy.id)
                .where(visit_policy.c.visit_id.in_(chunk)).order_by(Policy.id)):
            by_visit.setdefault(visit_id, []).append(title)
    for row in rows:
        row["policies"] = "、".join(by_visit.get(row["id"], []))


EXPORT_COLUMNS = {"uscc": "统一社会信用代码", "enterprise": "企业名称", "street": "镇街",
                  "person": "走访干部", "visited_on": "走访日期", "way": "走访方式",
                  "notes": "走访情况", "policies": "送达政策", "appeals": "收集诉求数"}


def export_rows(session: Session, *, actor: Actor, since: dt.date | None = None) -> list[dict]:
    """Visits in scope under the visit log's Chinese headers (the importer reads them back)."""
    rows = list_visits(session, actor=actor, since=since, limit=None)
    return [{header: (label("visit_way", row[field]) if field == "way" else row[field])
             for field, header in EXPORT_COLUMNS.items()} for row in rows]
