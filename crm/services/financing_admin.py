"""Chambers and banks an import created unconfirmed: list them, and merge one into the
chamber or bank it really is.

A sheet naming a chamber (a roster's or a needs sheet's 所属商会) or a bank (the
product catalogue's 银行) the system does not know creates it unconfirmed
(etl/kinds/chambers.py). An administrator confirms a chamber, renaming it if need be
(`crm.services.financing.save_chamber` with its id); whoever keeps the catalogue
confirms a bank (`save_bank` with its id). Or they merge it into the one it is:
everything pointing at it moves there and it is deleted. A link the target has
already (a firm in both chambers, a bank at a meeting twice) is kept once. A bank
whose product has a name the target bank's products already use is not merged: the
two products would be one, and which terms are right is for a person to say.
Every merge is audited.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.db import Base
from crm.errors import NotFound, ValidationError
from crm.models import Bank, BankProduct, Chamber, FinancingNeed, Street, chamber_member
from crm.services import audit


def unconfirmed_chambers(session: Session, *, actor: Actor | None) -> list[dict]:
    """Unconfirmed chambers, newest first, with their street, members and needs."""
    require(actor, "chamber.manage")
    members = (select(func.count()).where(chamber_member.c.chamber_id == Chamber.id)
               .correlate(Chamber).scalar_subquery())
    needs = (select(func.count()).where(FinancingNeed.chamber_id == Chamber.id)
             .correlate(Chamber).scalar_subquery())
    rows = session.execute(
        select(Chamber.id, Chamber.name, Chamber.street_id, Street.name.label("street"),
               members.label("members"), needs.label("needs"))
        .outerjoin(Street, Street.id == Chamber.street_id)
        .where(Chamber.confirmed.is_(False)).order_by(Chamber.id.desc()))
    return [dict(r._mapping) for r in rows]


def unconfirmed_banks(session: Session, *, actor: Actor | None) -> list[dict]:
    """Unconfirmed banks, newest first, with how many products each has."""
    require(actor, "financing.catalogue")
    products = (select(func.count()).where(BankProduct.bank_id == Bank.id)
                .correlate(Bank).scalar_subquery())
    rows = session.execute(select(Bank.id, Bank.name, products.label("products"))
                           .where(Bank.confirmed.is_(False)).order_by(Bank.id.desc()))
    return [dict(r._mapping) for r in rows]


def _pair(session: Session, model, source_id: int, target_id: int, what: str):
    source, target = session.get(model, source_id), session.get(model, target_id)
    if source is None or target is None:
        raise NotFound(f"{what} {source_id if source is None else target_id}",
                       key="financing.not_found", what=what)
    if source.id == target.id:
        raise ValidationError(f"a {what} cannot be merged into itself",
                              key="financing.merge_self")
    if source.confirmed:
        raise ValidationError(f"only an unconfirmed {what} is merged",
                              key="financing.merge_confirmed", name=source.name)
    return source, target


def _move_references(session: Session, table_name: str, source_id: int,
                     target_id: int) -> dict[str, int]:
    """Point every foreign key at `table_name`.id from the source to the target; a row
    the target has already (same other key columns of a link or unique pair) is
    dropped, not doubled. Returns {table: rows moved}."""
    moved: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name != table_name or fk.column.name != "id":
                continue
            column = fk.parent
            for group in [c for c in table.constraints
                          if column.name in getattr(c, "columns", {}) and len(c.columns) > 1
                          and c.__class__.__name__ in ("PrimaryKeyConstraint",
                                                       "UniqueConstraint")]:
                others = [c for c in group.columns if c.name != column.name]
                twin = table.alias("twin")
                session.execute(delete(table).where(column == source_id, exists().where(
                    twin.c[column.name] == target_id, *(twin.c[o.name] == o for o in others))))
            values = {column.name: target_id}
            if "version" in table.c:
                values["version"] = table.c.version + 1
            n = session.execute(update(table).where(column == source_id).values(**values)
                                ).rowcount
            if n:
                moved[table.name] = n
    return moved


def merge_chamber(session: Session, source_id: int, target_id: int, *,
                  actor: Actor | None) -> dict[str, int]:
    """Merge an unconfirmed chamber into the chamber it is: its members, needs, meetings
    and logins move there (a firm in both stays once), then it is deleted."""
    require(actor, "chamber.manage")
    source, target = _pair(session, Chamber, source_id, target_id, "chamber")
    session.flush()
    moved = _move_references(session, "chamber", source.id, target.id)
    audit.record(session, actor, "chamber.merge", "chamber", target.id, merged=source.id,
                 name=source.name, moved=moved)
    session.execute(delete(Chamber).where(Chamber.id == source.id))
    session.flush()
    session.expire_all()
    return moved


def merge_bank(session: Session, source_id: int, target_id: int, *,
               actor: Actor | None) -> dict[str, int]:
    """Merge an unconfirmed bank into the bank it is: its products (and the meetings it
    was at) move there, then it is deleted. Refused, naming them, when the target has
    products of the same names."""
    require(actor, "financing.catalogue")
    source, target = _pair(session, Bank, source_id, target_id, "bank")
    session.flush()
    theirs = select(BankProduct.name).where(BankProduct.bank_id == target.id)
    clash = session.scalars(select(BankProduct.name).where(
        BankProduct.bank_id == source.id, BankProduct.name.in_(theirs))
        .order_by(BankProduct.name)).all()
    if clash:
        raise ValidationError(f"{target.name} has products named {', '.join(clash)}",
                              key="financing.merge_product_clash", bank=target.name,
                              names="、".join(clash))
    moved = _move_references(session, "bank", source.id, target.id)
    audit.record(session, actor, "bank.merge", "bank", target.id, merged=source.id,
                 name=source.name, moved=moved)
    session.execute(delete(Bank).where(Bank.id == source.id))
    session.flush()
    session.expire_all()
    return moved
