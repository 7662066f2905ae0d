"""Firms an appeal ledger introduced (unconfirmed): list, confirm, or merge into a firm.

An appeal row naming a firm no roster holds creates it unconfirmed
(etl/kinds/appeals.py `new_firm`), keyed by its USCC or, without one, by a
provisional key (`PROVISIONAL` + 12 hex digits). A liaison (their own street's
firms) or an administrator (any firm) then either confirms it, optionally giving
its real USCC, or merges it into the firm it really is: everything that points at
it (appeals, visits, assignments, financing needs, job-fair places, contacts,
tags, chamber memberships) moves to that firm and the unconfirmed one is deleted;
its name (and real code) stay as an alias of that firm, so the next ledger naming
it finds that firm.
Every change is audited.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import Session

from crm.access import condition, require
from crm.auth import Actor
from crm.db import Base, today
from crm.errors import Conflict, NotFound, ValidationError
from crm.models import Appeal, Assignment, Enterprise, EnterpriseAlias, OdooMapping, Street
from crm.services import audit
from crm.uscc import InvalidUSCC, validate

PROVISIONAL = "NOUSCC"  # no real USCC has an O: a provisional key never names a real firm


def provisional_uscc(name: str) -> str:
    """The key of a firm a ledger names without a USCC: PROVISIONAL + 12 hex digits of
    the name's SHA-1 (18 characters, like a USCC). The same name gives the same key, so
    a ledger imported again finds the firm it created; confirming the firm with its
    real USCC replaces it."""
    return PROVISIONAL + hashlib.sha1(name.encode()).hexdigest()[:12].upper()


def _firm(session: Session, enterprise_id: int, actor: Actor) -> Enterprise:
    """The firm, if the actor may change it (a liaison: their own street's only)."""
    firm = session.scalar(select(Enterprise).where(
        Enterprise.id == enterprise_id, condition(actor, "firm.review", Enterprise)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="firm.not_found")
    return firm


def list_unconfirmed(session: Session, *, actor: Actor | None) -> list[dict]:
    """Unconfirmed firms the actor may settle, newest first, with how many appeals each has."""
    require(actor, "firm.review")
    appeals = (select(func.count()).where(Appeal.enterprise_id == Enterprise.id)
               .correlate(Enterprise).scalar_subquery())
    query = (select(Enterprise.id, Enterprise.uscc, Enterprise.name, Street.name, appeals)
             .outerjoin(Street, Street.id == Enterprise.street_id)
             .where(Enterprise.confirmed.is_(False))
             .order_by(Enterprise.id.desc()))
    query = query.where(condition(actor, "firm.review", Enterprise))
    return [{"id": fid, "uscc": None if code.startswith(PROVISIONAL) else code, "name": name,
             "street": street, "appeals": n}
            for fid, code, name, street, n in session.execute(query)]


def confirm_enterprise(session: Session, enterprise_id: int, *, actor: Actor | None,
                       uscc: str | None = None) -> Enterprise:
    """Accept an unconfirmed firm as real; `uscc` gives (or corrects) its credit code."""
    require(actor, "firm.review")
    firm = _firm(session, enterprise_id, actor)
    detail: dict = {}
    if uscc:
        try:
            code = validate(uscc)
        except InvalidUSCC as err:
            raise ValidationError(err.reason_en, key="firm.bad_uscc", reason=err.reason) \
                from None
        other = session.scalar(select(Enterprise.name).where(Enterprise.uscc == code,
                                                             Enterprise.id != firm.id))
        if other is not None:
            raise Conflict(f"{code} belongs to {other}", key="firm.uscc_taken", uscc=code,
                           name=other)
        if code != firm.uscc:
            detail = {"uscc": [firm.uscc, code]}
            firm.uscc = code
    elif firm.uscc.startswith(PROVISIONAL):
        raise ValidationError("a firm without a credit code needs one to be confirmed",
                              key="firm.needs_uscc")
    if not firm.confirmed or detail:
        firm.confirmed = True
        audit.record(session, actor, "enterprise.confirm", "enterprise", firm.id, **detail)
    session.flush()
    return firm


def _references() -> list[tuple]:
    """(table, column) of every foreign key pointing at enterprise.id."""
    out = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "enterprise" and fk.column.name == "id":
                out.append((table, fk.parent))
    return out


def merge_enterprise(session: Session, source_id: int, target_id: int, *,
                     actor: Actor | None) -> dict[str, int]:
    """Merge an unconfirmed firm into the firm it really is: every record pointing at it
    moves to `target_id`, then it is deleted. A link the target already has (the same
    tag, chamber or job fair) is dropped rather than doubled; an active cadre assignment
    ends today when the target already has its own cadre. Returns {table: rows moved}."""
    require(actor, "firm.review")
    source = _firm(session, source_id, actor)
    target = _firm(session, target_id, actor)
    if source.id == target.id:
        raise ValidationError("a firm cannot be merged into itself", key="firm.merge_self")
    if source.confirmed:
        raise ValidationError("only an unconfirmed firm is merged", key="firm.merge_confirmed")
    session.flush()
    cadre = and_(Assignment.kind == "cadre_enterprise", Assignment.end_date.is_(None))
    if session.scalar(select(exists().where(cadre, Assignment.enterprise_id == target.id))):
        session.execute(update(Assignment).where(cadre, Assignment.enterprise_id == source.id)
                        .values(end_date=today()))
    moved: dict[str, int] = {}
    for table, column in _references():
        # links the target has already (same other key columns): dropped, not doubled
        for group in [c for c in table.constraints if column.name in getattr(c, "columns", {})
                      and c.__class__.__name__ in ("PrimaryKeyConstraint", "UniqueConstraint")
                      and len(c.columns) > 1]:
            others = [c for c in group.columns if c.name != column.name]
            twin = table.alias("twin")
            session.execute(delete(table).where(column == source.id, exists().where(
                twin.c[column.name] == target.id,
                *(twin.c[o.name] == o for o in others))))
        values = {column.name: target.id}
        if "version" in table.c:
            values["version"] = table.c.version + 1
        n = session.execute(update(table).where(column == source.id).values(**values)).rowcount
        if n:
            moved[table.name] = n
    # a remote mapping follows the firm unless the target has its own
    mapping = and_(OdooMapping.entity == "enterprise", OdooMapping.local_id == source.id)
    if session.scalar(select(exists().where(OdooMapping.entity == "enterprise",
                                            OdooMapping.local_id == target.id))):
        session.execute(delete(OdooMapping).where(mapping))
    else:
        session.execute(update(OdooMapping).where(mapping).values(local_id=target.id))
    # the next ledger naming it (by name or real code) finds the firm it was merged into
    session.add(EnterpriseAlias(enterprise_id=target.id, name=source.name,
                                uscc=None if source.uscc.startswith(PROVISIONAL) else source.uscc))
    audit.record(session, actor, "enterprise.merge", "enterprise", target.id,
                 merged=source.id, name=source.name, uscc=source.uscc, moved=moved)
    session.flush()
    session.execute(delete(Enterprise).where(Enterprise.id == source.id))
    session.expire_all()
    return moved
