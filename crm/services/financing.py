"""银企对接: a firm's financing need and the bank-product catalogue, entered one at a time.

The rules — field limits, defaults, the natural keys (a need is firm + date +
purpose; a product is bank + product name) — are `crm.rules`, which the
importer (`etl/kinds/others.py`) uses too. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import CHAMBER, require
from crm.auth import Actor
from crm.errors import NotFound, ValidationError
from crm.models import BankProduct, Chamber, Enterprise, FinancingNeed
from crm.models.enterprise import SIZES
from crm.models.financing import COLLATERAL, URGENCY
from crm.services.scope import enterprise_scope


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


def add_financing_need(session: Session, *, actor: Actor, enterprise_id: int,
                       amount: Decimal | int | str, requested_on: dt.date,
                       purpose: str | None = None, term_months: int | None = None,
                       collateral: str | None = None, urgency: str = rules.DEFAULT_URGENCY,
                       note: str | None = None, chamber_id: int | None = None,
                       amount_approx: bool = False) -> FinancingNeed:
    """A financing need (amount in 万元). A chamber's staff record it for their chamber."""
    scope = require(actor, "financing.manage")
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    require(actor, "financing.manage", firm)  # chamber staff: their member firms
    value = Decimal(str(amount)).quantize(rules.AMOUNT_PLACES)
    if value < 0:
        raise ValidationError("the amount is negative", key="financing.amount_needed")
    if term_months is not None and term_months < 0:
        raise ValidationError("negative term", key="financing.bad_value", field="term_months")
    purpose = rules.checked_text(purpose, "financing_need", "purpose")
    if scope == CHAMBER:
        chamber_id = actor.chamber_id
    elif chamber_id is not None and session.get(Chamber, chamber_id) is None:
        raise NotFound(f"chamber {chamber_id}", key="financing.bad_value", field="chamber")
    key = rules.need_key(firm.id, requested_on, purpose)
    same = session.scalar(select(FinancingNeed.id).where(
        FinancingNeed.enterprise_id == firm.id, FinancingNeed.requested_on == requested_on,
        FinancingNeed.purpose.is_(None) if not key[2] else FinancingNeed.purpose == key[2]))
    if same is not None:
        raise ValidationError("the need is on file already", key="financing.bad_value",
                              field="requested_on")
    need = FinancingNeed(
        enterprise_id=firm.id, chamber_id=chamber_id, amount=value,
        amount_approx=bool(amount_approx), purpose=purpose, term_months=term_months,
        collateral=_choice(collateral, COLLATERAL, "collateral"),
        urgency=_choice(urgency or rules.DEFAULT_URGENCY, URGENCY, "urgency"),
        requested_on=requested_on, status=rules.NEW_NEED_STATUS,
        note=rules.checked_text(note, "financing_need", "note"))
    session.add(need)
    session.flush()
    return need


def save_bank_product(session: Session, *, actor: Actor, bank: str, name: str,
                      amount_min=None, amount_max=None, rate_min=None, rate_max=None,
                      term_min: int | None = None, term_max: int | None = None,
                      collateral: Sequence[str] = (), industries: Sequence[str] = (),
                      sizes: Sequence[str] = (), active: bool = rules.PRODUCT_ACTIVE
                      ) -> BankProduct:
    """Add a product to the catalogue, or change the one of that bank and name.
    Amounts in 万元, rates as fractions (0.0385), terms in months."""
    require(actor, "financing.catalogue")
    bank = rules.checked_text(bank, "bank_product", "bank")
    name = rules.checked_text(name, "bank_product", "name")
    if not bank or not name:
        raise ValidationError("bank and product name are needed", key="field.needed",
                              field="bank" if not bank else "name")
    for values, allowed, field in ((collateral, COLLATERAL, "collateral"),
                                   (sizes, SIZES, "sizes")):
        for v in values:
            _choice(v, allowed, field)
    amount_min, amount_max = _range(amount_min, amount_max, "amount", rules.AMOUNT_PLACES)
    rate_min, rate_max = _range(rate_min, rate_max, "rate", rules.RATE_PLACES)
    term_min, term_max = _range(term_min, term_max, "term")
    product = session.scalar(select(BankProduct).where(BankProduct.bank == bank,
                                                       BankProduct.name == name))
    if product is None:
        product = BankProduct(bank=bank, name=name)
        session.add(product)
    product.amount_min, product.amount_max = amount_min, amount_max
    product.rate_min, product.rate_max = rate_min, rate_max
    product.term_min, product.term_max = term_min, term_max
    product.collateral = list(collateral) or None
    product.industries = list(industries) or None
    product.sizes = list(sizes) or None
    product.active = bool(active)
    session.flush()
    return product
