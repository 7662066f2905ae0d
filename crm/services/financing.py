"""银企对接: chambers and their members, banks and the product catalogue, financing needs,
the matches that follow a need to the money, and bank–enterprise meetings.

Who may is `crm.access` (financing.read / financing.manage / financing.catalogue /
chamber.manage); which pipeline step follows which is `crm.lifecycle.FINANCING`; a
need's status follows from its matches (`crm.lifecycle.need_status`, with its SQL
twin `need_status_sql` here); field limits, keys and the loan-amount rule are
`crm.rules`, which the importer uses too; which products suit a need is the engine
`crm.matching`. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from crm import matching, rules
from crm.access import CHAMBER, condition, require, scope_of
from crm.auth import Actor
from crm.db import now
from crm.errors import Conflict, NotFound, ValidationError
from crm.lifecycle import FINANCING, NEED_STATUS_RULES, OPEN_NEED_STATUSES
from crm.models import (
    Appeal,
    Bank,
    BankMeeting,
    BankProduct,
    Category,
    Chamber,
    Enterprise,
    FinancingMatch,
    FinancingMatchEvent,
    FinancingNeed,
    User,
    Visit,
    chamber_member,
)
from crm.models.enterprise import SIZES
from crm.models.financing import COLLATERAL, URGENCY
from crm.services import audit


def _choice(value: str | None, allowed: Sequence[str], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValidationError(f"unknown {field} {value!r}", key="financing.bad_value",
                              field=field)
    return value


def _range(low, high, field: str, places: Decimal | None = None):
    if places is not None:
        low, high = (None if v is None else Decimal(str(v)).quantize(places)
                     for v in (low, high))
    if low is not None and high is not None and low > high:
        raise ValidationError(f"{field}: low above high", key="financing.bad_range", field=field)
    return low, high


def _amount(value, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(rules.AMOUNT_PLACES)
    except (ArithmeticError, ValueError) as err:
        raise ValidationError(f"{field}: not a number", key="financing.bad_value",
                              field=field) from err
    return amount


def _stale(record, version: int | None, what: str) -> None:
    if version is not None and version != record.version:
        raise Conflict(f"{what} {record.id} changed since version {version}",
                       key="error.conflict")


# --- a need's status, derived ------------------------------------------------------------------

def need_status_sql():
    """The SQL twin of `crm.lifecycle.need_status`: one CASE over the need's matches."""
    def any_match(statuses) -> object:
        return exists().where(FinancingMatch.need_id == FinancingNeed.id,
                              FinancingMatch.status.in_(sorted(statuses)))
    whens = [(FinancingNeed.withdrawn_on.is_not(None), literal("withdrawn"))]
    whens += [(any_match(gives), literal(status)) for status, gives in NEED_STATUS_RULES]
    return case(*whens, else_=literal("open"))


# --- chambers and members ----------------------------------------------------------------------

def list_chambers(session: Session, *, actor: Actor) -> list[dict]:
    """Every chamber with its street and member count (a chamber clerk sees their own)."""
    scope = require(actor, "financing.read")
    members = (select(chamber_member.c.chamber_id, func.count().label("n"))
               .group_by(chamber_member.c.chamber_id).subquery())
    query = (select(Chamber.id, Chamber.name, Chamber.street_id, Chamber.confirmed,
                    func.coalesce(members.c.n, 0).label("members"))
             .outerjoin(members, members.c.chamber_id == Chamber.id).order_by(Chamber.name))
    if scope == CHAMBER:
        query = query.where(Chamber.id == actor.chamber_id)
    return [dict(r._mapping) for r in session.execute(query)]


def _named(session: Session, model, record_id: int | None, name: str, what: str):
    """The chamber or bank `record_id` (or a new one) named `name` and confirmed: a name is
    needed and no other record of the kind may have it."""
    name = rules.checked_text(name, what, "name")
    if not name:
        raise ValidationError(f"a {what} needs a name", key="field.needed",
                              field="name" if what == "chamber" else what)
    record = session.get(model, record_id) if record_id else None
    if record_id and record is None:
        raise NotFound(f"{what} {record_id}", key="financing.not_found", what=what)
    clash = session.scalar(select(model.id).where(model.name == name))
    if clash is not None and (record is None or clash != record.id):
        raise ValidationError(f"a {what} of that name exists", key="financing.name_taken",
                              name=name)
    if record is None:
        record = model(name=name)
        session.add(record)
    record.name, record.confirmed = name, True
    return record, name


def save_chamber(session: Session, *, actor: Actor, name: str, street_id: int | None = None,
                 chamber_id: int | None = None, founded_on: dt.date | None = None) -> Chamber:
    """Create a chamber, or rename / confirm one (an unconfirmed one an import created)."""
    require(actor, "chamber.manage")
    chamber, name = _named(session, Chamber, chamber_id, name, "chamber")
    chamber.street_id = street_id
    if founded_on is not None:
        chamber.founded_on = founded_on
    session.flush()
    audit.record(session, actor, "chamber.save", "chamber", chamber.id, name=name)
    return chamber


def _own_chamber(actor: Actor, chamber_id: int | None) -> int:
    """The chamber a clerk acts for is their own, whatever the form said."""
    if scope_of(actor.role, "chamber.members") == CHAMBER:
        if not actor.chamber_id:
            raise ValidationError("this login belongs to no chamber", key="financing.no_chamber")
        return actor.chamber_id
    if chamber_id is None:
        raise ValidationError("which chamber?", key="field.needed", field="chamber")
    return chamber_id


def set_member(session: Session, *, actor: Actor, enterprise_id: int, member: bool = True,
               chamber_id: int | None = None) -> None:
    """Add a firm to a chamber (a chamber's clerk: to their own), or take it off the roll."""
    require(actor, "chamber.members")
    chamber_id = _own_chamber(actor, chamber_id)
    if session.get(Chamber, chamber_id) is None:
        raise NotFound(f"chamber {chamber_id}", key="financing.not_found", what="chamber")
    firm = session.get(Enterprise, enterprise_id)
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    key = and_(chamber_member.c.chamber_id == chamber_id,
               chamber_member.c.enterprise_id == enterprise_id)
    present = session.scalar(select(func.count()).select_from(chamber_member).where(key))
    if member and not present:
        session.execute(chamber_member.insert().values(chamber_id=chamber_id,
                                                       enterprise_id=enterprise_id))
    elif not member and present:
        session.execute(chamber_member.delete().where(key))
    audit.record(session, actor, "chamber.member" if member else "chamber.unmember",
                 "chamber", chamber_id, enterprise_id=enterprise_id)


def firm_by_uscc(session: Session, *, actor: Actor, uscc: str) -> dict | None:
    """A firm looked up by its code to be added to a chamber (any firm: joining is how a
    chamber's clerk comes to see it)."""
    require(actor, "chamber.members")
    row = session.execute(select(Enterprise.id, Enterprise.name, Enterprise.uscc)
                          .where(Enterprise.uscc == (uscc or "").strip().upper())).first()
    return dict(row._mapping) if row else None


# --- banks and the catalogue -------------------------------------------------------------------

def list_banks(session: Session, *, actor: Actor) -> list[dict]:
    require(actor, "financing.read")
    rows = session.execute(select(Bank.id, Bank.name, Bank.confirmed,
                                  func.count(BankProduct.id).label("products"))
                           .outerjoin(BankProduct, BankProduct.bank_id == Bank.id)
                           .group_by(Bank.id, Bank.name, Bank.confirmed).order_by(Bank.name))
    return [dict(r._mapping) for r in rows]


def save_bank(session: Session, *, actor: Actor, name: str, bank_id: int | None = None) -> Bank:
    """Add a bank, or rename / confirm one."""
    require(actor, "financing.catalogue")
    bank, name = _named(session, Bank, bank_id, name, "bank")
    audit.saved(session, actor, "bank.save", bank)
    session.flush()
    return bank


def _bank_named(session: Session, name: str) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        bank = Bank(name=name, confirmed=True)
        session.add(bank)
        session.flush()
    return bank


def save_bank_product(session: Session, *, actor: Actor, bank: str | None = None,
                      name: str, bank_id: int | None = None,
                      amount_min=None, amount_max=None, rate_min=None, rate_max=None,
                      term_min: int | None = None, term_max: int | None = None,
                      collateral: Sequence[str] = (), industries: Sequence[str] = (),
                      sizes: Sequence[str] = (), active: bool = rules.PRODUCT_ACTIVE,
                      product_id: int | None = None, version: int | None = None
                      ) -> BankProduct:
    """Add a product to the catalogue, or change one (by id, or the one of that bank and
    name). Amounts in 万元, rates as fractions (0.0385), terms in months. The bank is a
    record: given by id, or by name (a new name makes a new bank)."""
    require(actor, "financing.catalogue")
    name = rules.checked_text(name, "bank_product", "name")
    if bank_id is not None:
        bank_row = session.get(Bank, bank_id)
        if bank_row is None:
            raise NotFound(f"bank {bank_id}", key="financing.not_found", what="bank")
    else:
        bank = rules.checked_text(bank, "bank_product", "bank")
        if not bank:
            raise ValidationError("which bank?", key="field.needed", field="bank")
        bank_row = None
    if not name:
        raise ValidationError("a product needs a name", key="field.needed", field="name")
    for values, allowed, field in ((collateral, COLLATERAL, "collateral"),
                                   (sizes, SIZES, "sizes")):
        for v in values:
            _choice(v, allowed, field)
    amount_min, amount_max = _range(amount_min, amount_max, "amount", rules.AMOUNT_PLACES)
    rate_min, rate_max = _range(rate_min, rate_max, "rate", rules.RATE_PLACES)
    term_min, term_max = _range(term_min, term_max, "term")
    for v, field in ((amount_min, "amount"), (rate_min, "rate"), (term_min, "term")):
        if v is not None and v < 0:
            raise ValidationError(f"{field} is negative", key="financing.bad_value", field=field)
    if bank_row is None:
        bank_row = _bank_named(session, bank)
    if product_id is not None:
        product = session.get(BankProduct, product_id)
        if product is None:
            raise NotFound(f"product {product_id}", key="financing.not_found", what="product")
        _stale(product, version, "product")
    else:
        product = session.scalar(select(BankProduct).where(BankProduct.bank_id == bank_row.id,
                                                           BankProduct.name == name))
    clash = session.scalar(select(BankProduct.id).where(BankProduct.bank_id == bank_row.id,
                                                        BankProduct.name == name))
    if clash is not None and product is not None and clash != product.id:
        raise ValidationError("that bank has a product of that name", key="financing.name_taken",
                              name=name)
    if product is None:
        product = BankProduct(bank_id=bank_row.id, name=name)
        session.add(product)
    product.bank_id, product.name = bank_row.id, name
    product.amount_min, product.amount_max = amount_min, amount_max
    product.rate_min, product.rate_max = rate_min, rate_max
    product.term_min, product.term_max = term_min, term_max
    product.collateral = list(collateral) or None
    product.industries = list(industries) or None
    product.sizes = list(sizes) or None
    product.active = bool(active)
    audit.saved(session, actor, "bank_product.save", product)
    session.flush()
    return product


def list_products(session: Session, *, actor: Actor, on_sale_only: bool = False
                  ) -> list[dict]:
    """The catalogue, bank by bank."""
    require(actor, "financing.read")
    query = (select(BankProduct.id, Bank.name.label("bank"), BankProduct.bank_id,
                    BankProduct.name, BankProduct.amount_min, BankProduct.amount_max,
                    BankProduct.rate_min, BankProduct.rate_max, BankProduct.term_min,
                    BankProduct.term_max, BankProduct.collateral, BankProduct.industries,
                    BankProduct.sizes, BankProduct.active, BankProduct.version)
             .join(Bank, BankProduct.bank_id == Bank.id).order_by(Bank.name, BankProduct.name))
    if on_sale_only:
        query = query.where(BankProduct.active)
    return [dict(r._mapping) for r in session.execute(query)]


# --- needs -------------------------------------------------------------------------------------

def _firm_in_scope(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    firm = session.scalar(select(Enterprise).where(
        Enterprise.id == enterprise_id, condition(actor, "firm.read", Enterprise)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    return firm


def add_financing_need(session: Session, *, actor: Actor, enterprise_id: int,
                       amount: Decimal | int | str, requested_on: dt.date,
                       purpose: str | None = None, term_months: int | None = None,
                       collateral: str | None = None, urgency: str = rules.DEFAULT_URGENCY,
                       note: str | None = None, chamber_id: int | None = None,
                       amount_approx: bool = False, appeal_id: int | None = None,
                       visit_id: int | None = None, meeting_id: int | None = None
                       ) -> FinancingNeed:
    """A financing need (amount in 万元): put on file by a chamber's staff for a member
    firm (for their chamber), or by the liaison or cadre who heard it."""
    scope = require(actor, "financing.raise")
    firm = _firm_in_scope(session, actor, enterprise_id)
    require(actor, "financing.raise", firm)
    value = _amount(amount)
    if value <= 0:
        raise ValidationError("the amount is not above zero", key="financing.amount_needed")
    if term_months is not None and term_months <= 0:
        raise ValidationError("term not above zero", key="financing.bad_value",
                              field="term_months")
    purpose = rules.checked_text(purpose, "financing_need", "purpose")
    if scope == CHAMBER:
        chamber_id = actor.chamber_id
    elif chamber_id is not None and session.get(Chamber, chamber_id) is None:
        raise NotFound(f"chamber {chamber_id}", key="financing.not_found", what="chamber")
    for ref, model, what in ((appeal_id, Appeal, "appeal"), (visit_id, Visit, "visit"),
                             (meeting_id, BankMeeting, "meeting")):
        if ref is not None:
            row = session.get(model, ref)
            if row is None or getattr(row, "enterprise_id", firm.id) != firm.id:
                raise NotFound(f"{what} {ref}", key="financing.not_found", what=what)
    key = rules.need_key(firm.id, requested_on, purpose)
    same = session.scalar(select(FinancingNeed.id).where(
        FinancingNeed.enterprise_id == firm.id, FinancingNeed.requested_on == requested_on,
        FinancingNeed.purpose.is_(None) if not key[2] else FinancingNeed.purpose == key[2]))
    if same is not None:
        raise ValidationError("the need is on file already", key="financing.need_on_file",
                              need_id=same)
    need = FinancingNeed(
        enterprise_id=firm.id, chamber_id=chamber_id, amount=value,
        amount_approx=bool(amount_approx), purpose=purpose, term_months=term_months,
        collateral=_choice(collateral, COLLATERAL, "collateral"),
        urgency=_choice(urgency or rules.DEFAULT_URGENCY, URGENCY, "urgency"),
        requested_on=requested_on, appeal_id=appeal_id, visit_id=visit_id,
        meeting_id=meeting_id, created_by=actor.id,
        note=rules.checked_text(note, "financing_need", "note"))
    session.add(need)
    session.flush()
    audit.record(session, actor, "financing.need", "financing_need", need.id,
                 amount=str(value))
    return need


def need_from_appeal(session: Session, *, actor: Actor, appeal_id: int,
                     amount: Decimal | int | str, **fields) -> FinancingNeed:
    """A need raised by an appeal of category 融资: the firm and the day are the appeal's."""
    require(actor, "financing.raise")
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id}", key="financing.not_found", what="appeal")
    require(actor, "financing.raise", appeal)
    category = session.get(Category, appeal.category_id)
    if category is None or category.name != rules.FINANCING_CATEGORY:
        raise ValidationError("the appeal is not about financing",
                              key="financing.not_financing_appeal",
                              category=category.name if category else "")
    fields.setdefault("purpose", appeal.title)
    fields.setdefault("requested_on", appeal.received_at.date())
    return add_financing_need(session, actor=actor, enterprise_id=appeal.enterprise_id,
                              amount=amount, appeal_id=appeal.id, **fields)


def withdraw_need(session: Session, *, actor: Actor, need_id: int, reason: str,
                  on: dt.date | None = None, version: int | None = None) -> FinancingNeed:
    """The firm no longer needs the money (found it elsewhere, changed plans)."""
    need = _need(session, actor, need_id, "financing.manage")
    _stale(need, version, "need")
    if need.withdrawn_on is not None:
        raise ValidationError("already withdrawn", key="financing.need_withdrawn")
    reason = rules.checked_text(reason, "financing_need", "withdrawn_reason")
    if not reason:
        raise ValidationError("why?", key="field.needed", field="reason")
    need.withdrawn_on, need.withdrawn_reason = on or now().date(), reason
    session.flush()
    audit.record(session, actor, "financing.withdraw", "financing_need", need.id, reason=reason)
    return need


def _need(session: Session, actor: Actor, need_id: int, capability: str) -> FinancingNeed:
    need = session.get(FinancingNeed, need_id)
    if need is None:
        raise NotFound(f"need {need_id}", key="financing.not_found", what="need")
    require(actor, capability, need)
    return need


def _of_chamber(session: Session, name: str):
    """Needs of a chamber: its member firms' and those raised through it."""
    chamber_id = session.scalar(select(Chamber.id).where(Chamber.name == name))
    if chamber_id is None:
        raise NotFound(f"no chamber named {name!r}", key="financing.not_found", what=name)
    return or_(FinancingNeed.chamber_id == chamber_id, FinancingNeed.enterprise_id.in_(
        select(chamber_member.c.enterprise_id).where(chamber_member.c.chamber_id == chamber_id)))


def _need_rows(actor: Actor):
    status = need_status_sql().label("status")
    return (select(FinancingNeed.id.label("need_id"), FinancingNeed.enterprise_id,
                   Enterprise.uscc, Enterprise.name.label("firm"), Enterprise.industry,
                   Enterprise.size, FinancingNeed.amount, FinancingNeed.amount_approx,
                   FinancingNeed.purpose, FinancingNeed.term_months, FinancingNeed.collateral,
                   FinancingNeed.urgency, FinancingNeed.requested_on, FinancingNeed.chamber_id,
                   Chamber.name.label("chamber"), FinancingNeed.withdrawn_on,
                   FinancingNeed.version, status)
            .join(Enterprise, FinancingNeed.enterprise_id == Enterprise.id)
            .outerjoin(Chamber, FinancingNeed.chamber_id == Chamber.id)
            .where(condition(actor, "financing.read", FinancingNeed)))


def list_needs(session: Session, *, actor: Actor, statuses: Sequence[str] | None = None,
               chamber: str | None = None, enterprise_id: int | None = None,
               limit: int | None = None) -> list[dict]:
    """Needs in scope (none for a role without financing.read), newest first, each with
    its derived status."""
    query = _need_rows(actor)
    if statuses:
        query = query.where(need_status_sql().in_(list(statuses)))
    if chamber:
        query = query.where(_of_chamber(session, chamber))
    if enterprise_id is not None:
        query = query.where(FinancingNeed.enterprise_id == enterprise_id)
    query = query.order_by(FinancingNeed.requested_on.desc(), FinancingNeed.id.desc())
    if limit:
        query = query.limit(limit)
    return [dict(r._mapping) for r in session.execute(query)]


def get_need(session: Session, *, actor: Actor, need_id: int) -> dict:
    """One need with its matches (each with its events and the steps the actor may take)."""
    need = _need(session, actor, need_id, "financing.read")
    row = session.execute(_need_rows(actor).where(FinancingNeed.id == need_id)).one()
    out = dict(row._mapping)
    out["note"], out["withdrawn_reason"] = need.note, need.withdrawn_reason
    out["appeal_id"], out["meeting_id"] = need.appeal_id, need.meeting_id
    out["matches"] = _matches(session, actor, [need_id]).get(need_id, [])
    return out


def _matches(session: Session, actor: Actor, need_ids: Sequence[int]) -> dict[int, list[dict]]:
    if not need_ids:
        return {}
    matches = session.scalars(
        select(FinancingMatch).where(FinancingMatch.need_id.in_(list(need_ids)))
        .options(selectinload(FinancingMatch.events), selectinload(FinancingMatch.need),
                 selectinload(FinancingMatch.product).selectinload(BankProduct.bank))
        .order_by(FinancingMatch.need_id, FinancingMatch.score.desc(), FinancingMatch.id)).all()
    users = dict(session.execute(select(User.id, User.display_name)).all())
    out: dict[int, list[dict]] = {}
    for m in matches:
        out.setdefault(m.need_id, []).append({
            "match_id": m.id, "product_id": m.product_id, "bank": m.product.bank.name,
            "product": m.product.name, "score": m.score, "reasons": m.reasons or [],
            "status": m.status, "approved_amount": m.approved_amount,
            "approved_on": m.approved_on, "rejected_reason": m.rejected_reason,
            "disbursed_amount": m.disbursed_amount, "disbursed_on": m.disbursed_on,
            "version": m.version, "actions": FINANCING.allowed(m, actor),
            "events": [{"at": e.at, "from_status": e.from_status, "to_status": e.to_status,
                        "amount": e.amount, "note": e.note,
                        "by": users.get(e.actor_id)} for e in m.events]})
    return out


# --- matching ----------------------------------------------------------------------------------

def _products(session: Session) -> list[matching.Product]:
    rows = session.execute(select(BankProduct, Bank.name).join(Bank)).all()
    return [matching.Product(
        product_id=p.id, bank_id=p.bank_id, bank=bank, name=p.name,
        amount_min=None if p.amount_min is None else float(p.amount_min),
        amount_max=None if p.amount_max is None else float(p.amount_max),
        rate_min=None if p.rate_min is None else float(p.rate_min),
        rate_max=None if p.rate_max is None else float(p.rate_max),
        term_min=p.term_min, term_max=p.term_max, collateral=tuple(p.collateral or ()),
        industries=tuple(p.industries or ()), sizes=tuple(p.sizes or ()),
        active=bool(p.active)) for p, bank in rows]


def history(session: Session) -> matching.History:
    """Decided matches by bank and the firm's industry and size: what the engine learns from."""
    approved = FinancingMatch.status.in_(("approved", "disbursed"))
    rows = session.execute(
        select(BankProduct.bank_id, Enterprise.industry, Enterprise.size,
               func.sum(case((approved, 1), else_=0)), func.count())
        .select_from(FinancingMatch)
        .join(BankProduct, FinancingMatch.product_id == BankProduct.id)
        .join(FinancingNeed, FinancingMatch.need_id == FinancingNeed.id)
        .join(Enterprise, FinancingNeed.enterprise_id == Enterprise.id)
        .where(FinancingMatch.status.in_(("approved", "disbursed", "rejected")))
        .group_by(BankProduct.bank_id, Enterprise.industry, Enterprise.size)).all()
    return matching.History.from_rows(rows)


def _need_fact(row) -> matching.Need:
    return matching.Need(row.need_id, float(row.amount), row.term_months, row.collateral,
                         row.industry, row.size)


def catalogue(session: Session) -> matching.Catalogue:
    """The products on file and the outcomes so far, ready to match needs against."""
    return matching.Catalogue(_products(session), history(session))


def reason_text(reason, lang: str = "zh") -> str:
    """A match reason in words: the engine's (a dict with `key`) or one stored as text."""
    from crm.i18n import t

    if isinstance(reason, str):
        return reason
    params = {k: v for k, v in reason.items() if k != "key"}
    if "collateral" in params:
        params["collateral"] = t(f"collateral.{params['collateral']}", lang)
    return t(reason["key"], lang, **params)


def match_needs(session: Session, *, actor: Actor, need_id: int | None = None,
                chamber: str | None = None, top: int | None = None, lang: str = "zh",
                engine: matching.Catalogue | None = None) -> list[dict]:
    """Each open need in scope with its proposals, best first (at most `top`): the
    `python -m crm financing match` answer. Products already tried for a need are left
    out of its proposals. `need_id` names one need (open or not)."""
    query = _need_rows(actor)
    if need_id is not None:
        query = query.where(FinancingNeed.id == need_id)
    else:
        query = query.where(need_status_sql().in_(OPEN_NEED_STATUSES))
    if chamber:
        query = query.where(_of_chamber(session, chamber))
    rows = session.execute(query.order_by(FinancingNeed.requested_on, FinancingNeed.id)).all()
    if need_id is not None and not rows:
        raise NotFound(f"need {need_id}", key="financing.not_found", what="need")
    ids = query.with_only_columns(FinancingNeed.id).order_by(None).scalar_subquery()
    proposals = _proposals(session, rows, ids, top, lang, engine)
    return [{"need_id": r.need_id, "uscc": r.uscc, "firm": r.firm, "amount": float(r.amount),
             "term_months": r.term_months, "collateral": r.collateral,
             "matches": proposals[r.need_id]} for r in rows]


def _proposals(session: Session, rows, ids, top: int | None, lang: str,
               engine: matching.Catalogue | None = None) -> dict[int, list[dict]]:
    """The engine's proposals for the needs in `rows` (their ids: `ids`, a list or a
    subquery), best first, at most `top` each, leaving out products already put to a need."""
    tried: dict[int, set[int]] = {}
    for nid, pid in session.execute(select(FinancingMatch.need_id, FinancingMatch.product_id)
                                    .where(FinancingMatch.need_id.in_(ids))):
        tried.setdefault(nid, set()).add(pid)
    engine = engine or catalogue(session)
    widen = max((len(v) for v in tried.values()), default=0)
    proposals = engine.match([_need_fact(r) for r in rows],
                             None if top is None else top + widen)
    by_id = {p.product_id: p for p in engine.products}
    # the engine shares one Reason object among the proposals saying the same thing:
    # each is put in words once (keyed by identity; the engine keeps them alive)
    texts: dict[int, str] = {}

    def words(reasons: tuple[matching.Reason, ...]) -> list[str]:
        out = []
        for reason in reasons:
            text = texts.get(id(reason))
            if text is None:
                text = texts[id(reason)] = reason_text(reason.as_dict(), lang)
            out.append(text)
        return out

    out: dict[int, list[dict]] = {}
    for r in rows:
        skip = tried.get(r.need_id, ())
        chosen = [p for p in proposals[r.need_id] if p.product_id not in skip]
        if top is not None:
            chosen = chosen[:top]
        out[r.need_id] = [{"product_id": p.product_id, "bank": by_id[p.product_id].bank,
                           "product": by_id[p.product_id].name, "score": p.score,
                           "reasons": words(p.reasons)} for p in chosen]
    return out


def propose(session: Session, *, actor: Actor, need_id: int, product_id: int) -> FinancingMatch:
    """推荐: put a product to a need. Refused when the product fails a hard filter (which
    one is said) or has been put to this need already."""
    need = _need(session, actor, need_id, "financing.manage")
    if need.withdrawn_on is not None:
        raise ValidationError("the firm has withdrawn this need", key="financing.need_withdrawn")
    product = session.get(BankProduct, product_id)
    if product is None:
        raise NotFound(f"product {product_id}", key="financing.not_found", what="product")
    if session.scalar(select(FinancingMatch.id).where(FinancingMatch.need_id == need.id,
                                                      FinancingMatch.product_id == product.id)):
        raise ValidationError("proposed already", key="financing.proposed_already")
    firm = session.get(Enterprise, need.enterprise_id)
    fact = matching.Need(need.id, float(need.amount), need.term_months, need.collateral,
                         firm.industry, firm.size)
    products = _products(session)
    mine = next(p for p in products if p.product_id == product.id)
    failed = matching.failed_filters(fact, mine)
    if failed:
        raise ValidationError(f"the product fails the {failed[0]} filter",
                              key="financing.filter_failed", filter=failed[0])
    proposal = next(p for p in matching.Catalogue(products, history(session)).match([fact])
                    [need.id] if p.product_id == product.id)
    match = FinancingMatch(need_id=need.id, product_id=product.id, score=proposal.score,
                           reasons=[r.as_dict() for r in proposal.reasons],
                           status=FINANCING.initial)
    session.add(match)
    session.flush()
    session.add(FinancingMatchEvent(match_id=match.id, from_status=None,
                                    to_status=FINANCING.initial, actor_id=actor.id, at=now()))
    audit.created(session, actor, "financing.propose", match)
    session.flush()
    return match


def move_match(session: Session, *, actor: Actor, match_id: int, action: str,
               version: int | None = None, amount=None, on: dt.date | None = None,
               reason: str | None = None, note: str | None = None) -> FinancingMatch:
    """One step along the pipeline (contact, apply, approve with an amount, reject with a
    reason, disburse with an amount and a date). Refused when someone else moved the
    match since `version` was read, when the step does not follow from where the match
    is, or when the amount breaks the loan-amount rule."""
    match = session.get(FinancingMatch, match_id)
    if match is None:
        raise NotFound(f"match {match_id}", key="financing.not_found", what="match")
    if action not in FINANCING.actions:
        raise ValidationError(f"unknown step {action!r}", key="financing.bad_value",
                              field="action")
    _stale(match, version, "match")
    FINANCING.check(match, action, actor)
    value = None if amount is None or amount == "" else _amount(amount)
    day = on or now().date()
    if day < match.need.requested_on:
        raise ValidationError("before the need was raised", key="financing.date_before_need",
                              requested_on=match.need.requested_on.isoformat())
    if action in ("approve", "disburse"):
        problem = rules.loan_amount_problem(action, value, match.approved_amount)
        if problem:
            raise ValidationError(problem, key=problem,
                                  approved=str(match.approved_amount or ""))
    if action == "reject":
        reason = rules.checked_text(reason, "financing_match", "rejected_reason")
        if not reason:
            raise ValidationError("why?", key="field.needed", field="reason")
    note = rules.checked_text(note, "financing_match", "note")
    before = match.status
    match.status = FINANCING.action(action).target
    if action == "approve":
        match.approved_amount, match.approved_on = value, day
    elif action == "reject":
        match.rejected_reason = reason
    elif action == "disburse":
        match.disbursed_amount, match.disbursed_on = value, day
    at = now() if on is None else dt.datetime.combine(day, now().time())
    audit.changed(session, actor, f"financing.{action}", match)  # before the events load
    match.events.append(FinancingMatchEvent(from_status=before, to_status=match.status,
                                            amount=value, note=reason or note,
                                            actor_id=actor.id, at=at))
    session.flush()
    return match


# --- a chamber's board -------------------------------------------------------------------------

def board(session: Session, *, actor: Actor, chamber: str | None = None, top: int = 3,
          lang: str = "zh", limit: int = 200) -> list[dict]:
    """Open needs in scope, most urgent and oldest first, each with the matches under way
    and the best products not yet put to it."""
    require(actor, "financing.read")
    urgency = case({"high": 0, "normal": 1, "low": 2}, value=FinancingNeed.urgency, else_=1)
    query = (_need_rows(actor).where(need_status_sql().in_(
        (*OPEN_NEED_STATUSES, "approved")))
        .order_by(urgency, FinancingNeed.requested_on, FinancingNeed.id).limit(limit))
    if chamber:
        query = query.where(_of_chamber(session, chamber))
    found = session.execute(query).all()
    ids = [r.need_id for r in found]
    # proposals for the needs shown only, not for every open need in scope
    proposals = _proposals(session, [r for r in found if r.status in OPEN_NEED_STATUSES], ids,
                           top, lang)
    under_way = _matches(session, actor, ids)
    rows = [dict(r._mapping) for r in found]
    for r in rows:
        r["matches"] = under_way.get(r["need_id"], [])
        r["proposals"] = proposals.get(r["need_id"], [])
    return rows


# --- meetings ----------------------------------------------------------------------------------

def save_meeting(session: Session, *, actor: Actor, held_on: dt.date, title: str,
                 place: str | None = None, bank_ids: Sequence[int] = (),
                 enterprise_ids: Sequence[int] = (), note: str | None = None,
                 chamber_id: int | None = None) -> BankMeeting:
    """银企对接会: a meeting, the banks and firms present. A chamber's clerk records their
    chamber's meetings, with member firms."""
    scope = require(actor, "financing.manage")
    title = rules.checked_text(title, "bank_meeting", "title")
    if not title:
        raise ValidationError("a meeting needs a title", key="field.needed", field="title")
    firms = [_firm_in_scope(session, actor, fid) for fid in dict.fromkeys(enterprise_ids)]
    for firm in firms:
        require(actor, "financing.manage", firm)
    banks = [session.get(Bank, bid) for bid in dict.fromkeys(bank_ids)]
    if any(b is None for b in banks):
        raise NotFound("bank", key="financing.not_found", what="bank")
    meeting = BankMeeting(
        held_on=held_on, title=title,
        place=rules.checked_text(place, "bank_meeting", "place"),
        note=rules.checked_text(note, "bank_meeting", "note"),
        chamber_id=actor.chamber_id if scope == CHAMBER else chamber_id,
        created_by=actor.id, banks=banks, firms=firms)
    session.add(meeting)
    session.flush()
    audit.record(session, actor, "financing.meeting", "bank_meeting", meeting.id, title=title)
    return meeting


def list_meetings(session: Session, *, actor: Actor) -> list[dict]:
    """Meetings in scope, latest first, with the banks and firms present and the needs
    raised there."""
    meetings = session.scalars(
        select(BankMeeting).where(condition(actor, "financing.read", BankMeeting))
        .options(selectinload(BankMeeting.banks), selectinload(BankMeeting.firms))
        .order_by(BankMeeting.held_on.desc(), BankMeeting.id.desc())).all()
    raised = dict(session.execute(
        select(FinancingNeed.meeting_id, func.count()).where(
            FinancingNeed.meeting_id.in_([m.id for m in meetings]))
        .group_by(FinancingNeed.meeting_id)).all()) if meetings else {}
    chambers = dict(session.execute(select(Chamber.id, Chamber.name)).all())
    return [{"meeting_id": m.id, "held_on": m.held_on, "title": m.title, "place": m.place,
             "chamber": chambers.get(m.chamber_id), "banks": [b.name for b in m.banks],
             "firms": [f.name for f in m.firms], "needs": raised.get(m.id, 0),
             "note": m.note} for m in meetings]


def loans(session: Session, *, actor: Actor, enterprise_id: int | None = None) -> list[dict]:
    """Money approved or paid out: matches that reached approved or disbursed."""
    require(actor, "financing.read")
    query = (select(FinancingMatch.id.label("match_id"), FinancingNeed.id.label("need_id"),
                    Enterprise.name.label("firm"), Bank.name.label("bank"),
                    BankProduct.name.label("product"), FinancingMatch.status,
                    FinancingNeed.amount.label("amount_needed"), FinancingNeed.requested_on,
                    FinancingMatch.approved_amount, FinancingMatch.approved_on,
                    FinancingMatch.disbursed_amount, FinancingMatch.disbursed_on)
             .join(FinancingNeed, FinancingMatch.need_id == FinancingNeed.id)
             .join(Enterprise, FinancingNeed.enterprise_id == Enterprise.id)
             .join(BankProduct, FinancingMatch.product_id == BankProduct.id)
             .join(Bank, BankProduct.bank_id == Bank.id)
             .where(FinancingMatch.status.in_(("approved", "disbursed")),
                    condition(actor, "financing.read", FinancingNeed))
             .order_by(FinancingMatch.approved_on.desc(), FinancingMatch.id.desc()))
    if enterprise_id is not None:
        query = query.where(FinancingNeed.enterprise_id == enterprise_id)
    return [dict(r._mapping) for r in session.execute(query)]


# --- finui: what the financing pages need besides the above (kept apart for the merge) --------

def is_financing_appeal(category: str | None) -> bool:
    """Whether an appeal of this category may become a financing need (`need_from_appeal`)."""
    return category == rules.FINANCING_CATEGORY


def industries(session: Session, *, actor: Actor) -> list[str]:
    """The industry names a product may be aimed at: those firms are filed under and those
    the catalogue names already, for the catalogue form's choices."""
    require(actor, "financing.catalogue")
    names = set(session.scalars(select(Enterprise.industry).where(
        Enterprise.industry.is_not(None)).distinct()))
    for listed in session.scalars(select(BankProduct.industries)):
        names.update(listed or ())
    return sorted(n for n in names if n)
