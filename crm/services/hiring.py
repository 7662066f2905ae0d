"""用工需求: firms asking for workers between fairs, and a fair's invitation list.

A need comes from an appeal of category 用工 (`hiring_need_from_appeal`: the appeal's
firm, day and words) or is entered directly. Its lifecycle is
crm.lifecycle.HIRING_NEED (open → invited → met / closed); signing the firm up to a
fair invites it (crm.services.jobfairs.sign_up). A fair's invitation list starts from
the firms with open needs that have not signed up yet. The caller commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import condition, require
from crm.auth import Actor
from crm.db import today
from crm.errors import Conflict, NotFound, ValidationError
from crm.lifecycle import HIRING_NEED
from crm.models import Appeal, Category, Enterprise, FairParticipation, HiringNeed, Street
from crm.models.jobfair import HIRING_NEED_STATUSES
from crm.services import audit
from crm.services.jobfairs import get_fair
from crm.services.scope import enterprise_scope

HIRING_CATEGORY = "用工"
__all__ = ["HIRING_NEED_STATUSES"]  # re-exported for the pages (they import services only)


def need_actions(status: str) -> list[str]:
    """What may be done to a hiring need in this state (crm.lifecycle.HIRING_NEED)."""
    return [a.name for a in HIRING_NEED.from_state(status)]


def _firm(session: Session, enterprise_id: int, actor: Actor) -> Enterprise:
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    return firm


def _fields(headcount: int | None, positions: str | None, note: str | None) -> dict:
    if headcount is not None and headcount < 1:
        raise ValidationError("headcount", key="jobfair.bad_headcount", field="headcount")
    return {"headcount": headcount,
            "positions": rules.checked_text(positions, "hiring_need", "positions"),
            "note": rules.checked_text(note, "hiring_need", "note")}


def add_hiring_need(session: Session, *, actor: Actor, enterprise_id: int,
                    requested_on: dt.date | None = None, headcount: int | None = None,
                    positions: str | None = None, note: str | None = None) -> HiringNeed:
    """A hiring need entered directly (a call, a visit)."""
    require(actor, "hiring.manage")
    firm = _firm(session, enterprise_id, actor)
    require(actor, "hiring.manage", firm)
    requested_on = requested_on or today()
    if requested_on > today():
        raise ValidationError("future date", key="etl.future_date", field="requested_on")
    need = HiringNeed(enterprise_id=firm.id, requested_on=requested_on,
                      status=HIRING_NEED.initial, created_by_id=actor.id,
                      **_fields(headcount, positions, note))
    session.add(need)
    session.flush()
    audit.created(session, actor, "hiring.need", need)
    return need


def hiring_need_from_appeal(session: Session, appeal_id: int, *, actor: Actor,
                            headcount: int | None = None,
                            positions: str | None = None) -> HiringNeed:
    """A hiring need from an appeal of category 用工: its firm, its day, its words as the
    note. Once per appeal; only 用工 appeals (their firm, title and text are what the
    need holder sees)."""
    require(actor, "hiring.manage")
    row = session.execute(select(Appeal, Category.name).join(
        Category, Category.id == Appeal.category_id).where(Appeal.id == appeal_id)).first()
    if row is None or row[1] != HIRING_CATEGORY:
        raise NotFound(f"hiring appeal {appeal_id}", key="hiring.appeal_not_found",
                       id=appeal_id)
    appeal = row[0]
    firm = _firm(session, appeal.enterprise_id, actor)
    require(actor, "hiring.manage", firm)
    if session.scalar(select(HiringNeed.id).where(HiringNeed.appeal_id == appeal.id)):
        raise ValidationError("the appeal has a hiring need", key="hiring.appeal_taken",
                              code=appeal.code)
    text = "\n".join(t for t in (appeal.title, appeal.description) if t)
    need = HiringNeed(enterprise_id=firm.id, requested_on=appeal.received_at.date(),
                      appeal_id=appeal.id, status=HIRING_NEED.initial,
                      created_by_id=actor.id,
                      **_fields(headcount, positions or appeal.title,
                                text[:rules.limit("hiring_need", "note")]))
    session.add(need)
    session.flush()
    audit.created(session, actor, "hiring.need", need, appeal_id=appeal_id)
    return need


def _need(session: Session, need_id: int, actor: Actor, capability: str) -> HiringNeed:
    need = session.scalar(select(HiringNeed).where(
        HiringNeed.id == need_id, condition(actor, "hiring.read", HiringNeed))
        .execution_options(populate_existing=True))
    if need is None:
        raise NotFound(f"hiring need {need_id}", key="hiring.not_found", id=need_id)
    require(actor, capability, need)
    return need


def move_hiring_need(session: Session, need_id: int, action: str, *, actor: Actor,
                     version: int | None = None) -> HiringNeed:
    """invite / meet / close / reopen (crm.lifecycle.HIRING_NEED)."""
    need = _need(session, need_id, actor, "hiring.manage")
    if version is not None and version != need.version:
        raise Conflict(f"hiring need {need_id} changed", key="error.conflict")
    if action not in HIRING_NEED.actions:
        raise ValidationError(f"unknown action {action!r}", key="jobfair.bad_action")
    HIRING_NEED.check(need, action, actor)
    need.status = HIRING_NEED.action(action).target
    audit.changed(session, actor, f"hiring.{action}", need)
    session.flush()
    return need


def list_hiring_needs(session: Session, *, actor: Actor, status: str | None = None,
                      enterprise_id: int | None = None) -> list[dict]:
    """Hiring needs within scope, open ones first, then by day (latest first)."""
    require(actor, "hiring.read")
    stmt = (select(HiringNeed.id, HiringNeed.enterprise_id, Enterprise.name.label("firm"),
                   Street.name.label("street"), HiringNeed.headcount, HiringNeed.positions,
                   HiringNeed.requested_on, HiringNeed.status, HiringNeed.appeal_id,
                   Appeal.code.label("appeal"), HiringNeed.note, HiringNeed.version)
            .join(Enterprise, Enterprise.id == HiringNeed.enterprise_id)
            .outerjoin(Street, Street.id == Enterprise.street_id)
            .outerjoin(Appeal, Appeal.id == HiringNeed.appeal_id)
            .where(condition(actor, "hiring.read", HiringNeed)))
    if status is not None:
        stmt = stmt.where(HiringNeed.status == status)
    if enterprise_id is not None:
        stmt = stmt.where(HiringNeed.enterprise_id == enterprise_id)
    order = [HiringNeed.status != "open", HiringNeed.requested_on.desc(), HiringNeed.id.desc()]
    return [dict(r) for r in session.execute(stmt.order_by(*order)).mappings()]


def hiring_appeals(session: Session, *, actor: Actor, limit: int = 200) -> list[dict]:
    """用工 appeals no hiring need was made from yet, latest first (to turn into needs)."""
    require(actor, "hiring.manage")
    taken = exists().where(HiringNeed.appeal_id == Appeal.id)
    stmt = (select(Appeal.id, Appeal.code, Appeal.title, Appeal.received_at,
                   Enterprise.name.label("firm"))
            .join(Category, Category.id == Appeal.category_id)
            .join(Enterprise, Enterprise.id == Appeal.enterprise_id)
            .where(Category.name == HIRING_CATEGORY, ~taken,
                   condition(actor, "hiring.manage", Enterprise), enterprise_scope(actor))
            .order_by(Appeal.received_at.desc(), Appeal.id.desc()).limit(limit))
    return [dict(r) for r in session.execute(stmt).mappings()]


def invitation_list(session: Session, fair_id: int, *, actor: Actor) -> list[dict]:
    """Whom to invite to a fair: firms with open hiring needs that have not signed up to it,
    the most workers asked for first; each with its needs' total headcount and positions."""
    require(actor, "jobfair.manage")
    require(actor, "hiring.read")
    fair = get_fair(session, fair_id, actor=actor)
    signed = exists().where(and_(FairParticipation.fair_id == fair.id,
                                 FairParticipation.enterprise_id == HiringNeed.enterprise_id))
    rows = session.execute(
        select(HiringNeed.enterprise_id, Enterprise.name.label("firm"),
               Street.name.label("street"),
               func.count(HiringNeed.id).label("needs"),
               func.sum(HiringNeed.headcount).label("headcount"),
               func.min(HiringNeed.requested_on).label("since"))
        .join(Enterprise, Enterprise.id == HiringNeed.enterprise_id)
        .outerjoin(Street, Street.id == Enterprise.street_id)
        .where(HiringNeed.status == "open", ~signed,
               condition(actor, "hiring.read", HiringNeed))
        .group_by(HiringNeed.enterprise_id, Enterprise.name, Street.name)
        .order_by(func.coalesce(func.sum(HiringNeed.headcount), 0).desc(),
                  func.min(HiringNeed.requested_on), Enterprise.name)).mappings().all()
    positions: dict[int, list[str]] = {}
    for eid, text in session.execute(select(HiringNeed.enterprise_id, HiringNeed.positions)
                                     .where(HiringNeed.status == "open")):
        if text:
            positions.setdefault(eid, []).append(text)
    return [{**dict(r), "positions": "；".join(positions.get(r["enterprise_id"], []))}
            for r in rows]
