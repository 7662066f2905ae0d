"""Financing KPIs (银企对接成效): money needed, approved and paid out, by chamber, bank and
month; approval rate by bank; days from a need to its money; and the records behind
every number (`drill`).

Scope: the needs the actor reads with `financing.read` (a chamber's clerk: their member
firms'; officials and admins: all), and the matches of those needs.

Which date puts a record in the period [date_from, date_to] (inclusive) and in a month:

| measure            | records                                         | dated by                |
|--------------------|-------------------------------------------------|-------------------------|
| `needs`            | needs (withdrawn ones too)                      | the need's requested_on |
| `amount_needed`    | the same needs, their amount                    | the need's requested_on |
| `amount_approved`  | matches approved (or since disbursed)           | the match's approved_on |
| `amount_disbursed` | matches disbursed                               | the match's disbursed_on|
| `decided`          | matches approved, disbursed or rejected         | their need's requested_on |
| `approved`         | of those, the approved or disbursed             | their need's requested_on |
| `days_to_money`    | needs with a disbursement                       | the need's requested_on |

- approval_rate = approved ÷ decided (None when nothing is decided): the outcome of the
  needs raised in the period, whenever the bank answered (a rejection carries no date).
- days to money = first disbursed_on − requested_on of a need; median and mean over the
  needs raised in the period that have one.
- By chamber: the chamber a need was raised through (`financing_need.chamber_id`; a need
  raised by a cadre or a liaison has none and groups under None), so chambers add up.
- By bank: the bank of the match's product. A need's measures by bank are the needs that
  tried a product of that bank, so a need that tried two banks counts under both (and the
  bank rows of `needs` / `amount_needed` do not add up to the total).
- Filters `chamber_id` (on the need) and `bank_id` (on the match; a need passes when one
  of its matches is at that bank) narrow every measure; `month` ("YYYY-MM") keeps the
  records whose measure's date falls in it (drill-down from the by-month table).

Amounts are in 万元, as floats rounded to 2 places.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.access import condition, require
from crm.auth import Actor
from crm.errors import ValidationError
from crm.models import Bank, BankProduct, Chamber, Enterprise, FinancingMatch, FinancingNeed

APPROVED = ("approved", "disbursed")
DECIDED = ("approved", "disbursed", "rejected")
MEASURES = ("needs", "amount_needed", "amount_approved", "amount_disbursed", "decided",
            "approved", "days_to_money")
NEED_MEASURES = ("needs", "amount_needed", "days_to_money")
KEYS = ("needs", "amount_needed", "amount_approved", "amount_disbursed", "approved",
        "decided", "approval_rate", "median_days_to_money", "mean_days_to_money")


@dataclass(frozen=True)
class _Need:
    need_id: int
    enterprise_id: int
    firm: str
    uscc: str
    chamber_id: int | None
    chamber: str | None
    amount: Decimal
    purpose: str | None
    requested_on: dt.date
    withdrawn_on: dt.date | None


@dataclass(frozen=True)
class _Match:
    match_id: int
    need_id: int
    bank_id: int
    bank: str
    product: str
    status: str
    approved_amount: Decimal | None
    approved_on: dt.date | None
    disbursed_amount: Decimal | None
    disbursed_on: dt.date | None
    rejected_reason: str | None


@dataclass
class _Facts:
    needs: dict[int, _Need]
    matches: list[_Match]

    def by_need(self) -> dict[int, list[_Match]]:
        out: dict[int, list[_Match]] = {}
        for m in self.matches:
            out.setdefault(m.need_id, []).append(m)
        return out


def _month(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def _within(day: dt.date | None, date_from: dt.date | None, date_to: dt.date | None) -> bool:
    return day is not None and (date_from is None or day >= date_from) \
        and (date_to is None or day <= date_to)


def _load(session: Session, actor: Actor, chamber_id: int | None,
          date_to: dt.date | None) -> _Facts:
    """The needs in scope (of the chamber, raised by date_to) and all their matches."""
    require(actor, "financing.read")
    query = (select(FinancingNeed.id, FinancingNeed.enterprise_id, Enterprise.name,
                    Enterprise.uscc, FinancingNeed.chamber_id, Chamber.name,
                    FinancingNeed.amount, FinancingNeed.purpose, FinancingNeed.requested_on,
                    FinancingNeed.withdrawn_on)
             .join(Enterprise, FinancingNeed.enterprise_id == Enterprise.id)
             .outerjoin(Chamber, FinancingNeed.chamber_id == Chamber.id)
             .where(condition(actor, "financing.read", FinancingNeed)))
    if chamber_id is not None:
        query = query.where(FinancingNeed.chamber_id == chamber_id)
    if date_to is not None:  # money never comes before the need (move_match refuses it)
        query = query.where(FinancingNeed.requested_on <= date_to)
    needs = {row[0]: _Need(*row) for row in session.execute(query)}
    matches = [_Match(*row) for row in session.execute(
        select(FinancingMatch.id, FinancingMatch.need_id, Bank.id, Bank.name, BankProduct.name,
               FinancingMatch.status, FinancingMatch.approved_amount,
               FinancingMatch.approved_on, FinancingMatch.disbursed_amount,
               FinancingMatch.disbursed_on, FinancingMatch.rejected_reason)
        .join(BankProduct, FinancingMatch.product_id == BankProduct.id)
        .join(Bank, BankProduct.bank_id == Bank.id)
        .join(FinancingNeed, FinancingMatch.need_id == FinancingNeed.id)
        .where(FinancingMatch.need_id.in_(query.with_only_columns(FinancingNeed.id)
                                          .scalar_subquery()))
        .order_by(FinancingMatch.id))]
    return _Facts(needs, [m for m in matches if m.need_id in needs])


# --- which records each measure counts ---------------------------------------------------

def _need_date(facts: _Facts) -> Callable[[_Match], dt.date]:
    return lambda m: facts.needs[m.need_id].requested_on


def _first_money(matches: Iterable[_Match]) -> dt.date | None:
    days = [m.disbursed_on for m in matches if m.status == "disbursed" and m.disbursed_on]
    return min(days) if days else None


def _select(facts: _Facts, measure: str, *, date_from: dt.date | None,
            date_to: dt.date | None, bank_id: int | None = None,
            month: str | None = None) -> list:
    """The records behind `measure`: needs (for need measures) or matches."""
    if measure not in MEASURES:
        raise ValidationError(f"unknown measure {measure!r}", key="financing.bad_value",
                              field="measure")
    per_need = facts.by_need()

    def keep(day: dt.date | None) -> bool:
        return _within(day, date_from, date_to) and (month is None or _month(day) == month)

    if measure in NEED_MEASURES:
        out = []
        for need in facts.needs.values():
            if not keep(need.requested_on):
                continue
            tried = per_need.get(need.need_id, [])
            if bank_id is not None:
                tried = [m for m in tried if m.bank_id == bank_id]
                if not tried:
                    continue
            if measure == "days_to_money" and _first_money(tried) is None:
                continue
            out.append(need)
        return sorted(out, key=lambda n: (n.requested_on, n.need_id))
    matches = [m for m in facts.matches if bank_id is None or m.bank_id == bank_id]
    if measure == "amount_approved":
        chosen = [m for m in matches if m.status in APPROVED and keep(m.approved_on)]
        return sorted(chosen, key=lambda m: (m.approved_on, m.match_id))
    if measure == "amount_disbursed":
        chosen = [m for m in matches if m.status == "disbursed" and keep(m.disbursed_on)]
        return sorted(chosen, key=lambda m: (m.disbursed_on, m.match_id))
    statuses = APPROVED if measure == "approved" else DECIDED
    when = _need_date(facts)
    chosen = [m for m in matches if m.status in statuses and keep(when(m))]
    return sorted(chosen, key=lambda m: (when(m), m.match_id))


def _money(values: Iterable[Decimal | None]) -> float:
    return float(sum((v or Decimal(0) for v in values), Decimal(0)))


def _numbers(facts: _Facts, **where) -> dict:
    """Every KPI over the records `where` selects."""
    needs = _select(facts, "needs", **where)
    per_need = facts.by_need()
    bank_id = where.get("bank_id")
    waits = []
    for need in _select(facts, "days_to_money", **where):
        tried = [m for m in per_need.get(need.need_id, [])
                 if bank_id is None or m.bank_id == bank_id]
        waits.append((_first_money(tried) - need.requested_on).days)
    approved = len(_select(facts, "approved", **where))
    decided = len(_select(facts, "decided", **where))
    return {
        "needs": len(needs),
        "amount_needed": round(_money(n.amount for n in needs), 2),
        "amount_approved": round(_money(m.approved_amount for m in
                                        _select(facts, "amount_approved", **where)), 2),
        "amount_disbursed": round(_money(m.disbursed_amount for m in
                                         _select(facts, "amount_disbursed", **where)), 2),
        "approved": approved, "decided": decided,
        "approval_rate": round(approved / decided, 4) if decided else None,
        "median_days_to_money": statistics.median(waits) if waits else None,
        "mean_days_to_money": round(statistics.fmean(waits), 1) if waits else None,
    }


def _months(date_from: dt.date | None, date_to: dt.date | None, facts: _Facts) -> list[str]:
    """Every month of the period, oldest first (the months with records, without bounds)."""
    if date_from is None or date_to is None:
        days = [n.requested_on for n in facts.needs.values()] + \
            [d for m in facts.matches for d in (m.approved_on, m.disbursed_on) if d]
        if not days:
            return []
        date_from = date_from or min(days)
        date_to = date_to or max(days)
    months, year, month = [], date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def summary(session: Session, *, actor: Actor, date_from: dt.date | None = None,
            date_to: dt.date | None = None, chamber_id: int | None = None,
            bank_id: int | None = None) -> dict:
    """The financing KPIs of a period (see the module's table for which date counts):
    `totals`, and the same numbers `by_chamber`, `by_bank` (with each bank's approval
    rate) and `by_month` (every month of the period)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationError("the period ends before it starts", key="financing.bad_range",
                              field="period")
    facts = _load(session, actor, chamber_id, date_to)
    where = {"date_from": date_from, "date_to": date_to, "bank_id": bank_id}
    totals = _numbers(facts, **where)

    chambers: dict[int | None, str | None] = {}
    for need in facts.needs.values():
        chambers.setdefault(need.chamber_id, need.chamber)
    by_chamber = []
    for cid, name in sorted(chambers.items(), key=lambda kv: (kv[1] is None, kv[1] or "")):
        sub = _Facts({k: n for k, n in facts.needs.items() if n.chamber_id == cid},
                     [m for m in facts.matches if facts.needs[m.need_id].chamber_id == cid])
        row = {"chamber_id": cid, "chamber": name, **_numbers(sub, **where)}
        if row["needs"] or row["amount_approved"] or row["amount_disbursed"]:
            by_chamber.append(row)

    banks = dict(sorted({(m.bank_id, m.bank) for m in facts.matches
                         if bank_id is None or m.bank_id == bank_id}, key=lambda b: b[1]))
    by_bank = []
    for bid, name in banks.items():
        row = {"bank_id": bid, "bank": name, **_numbers(facts, **{**where, "bank_id": bid})}
        if row["needs"] or row["amount_approved"] or row["amount_disbursed"]:
            by_bank.append(row)

    by_month = [{"month": month, **_numbers(facts, **where, month=month)}
                for month in _months(date_from, date_to, facts)]
    return {"date_from": date_from, "date_to": date_to, "chamber_id": chamber_id,
            "bank_id": bank_id, "totals": totals, "by_chamber": by_chamber,
            "by_bank": by_bank, "by_month": by_month}


def _need_row(need: _Need, matches: list[_Match]) -> dict:
    money = _first_money(matches)
    return {"kind": "need", "need_id": need.need_id, "match_id": None, "firm": need.firm,
            "uscc": need.uscc, "chamber": need.chamber, "bank": None, "product": None,
            "status": None, "amount": float(need.amount), "purpose": need.purpose,
            "requested_on": need.requested_on, "approved_amount": None, "approved_on": None,
            "disbursed_amount": None, "disbursed_on": money,
            "days_to_money": None if money is None else (money - need.requested_on).days,
            "rejected_reason": None}


def _match_row(need: _Need, m: _Match) -> dict:
    return {"kind": "match", "need_id": need.need_id, "match_id": m.match_id,
            "firm": need.firm, "uscc": need.uscc, "chamber": need.chamber, "bank": m.bank,
            "product": m.product, "status": m.status, "amount": float(need.amount),
            "purpose": need.purpose, "requested_on": need.requested_on,
            "approved_amount": None if m.approved_amount is None else float(m.approved_amount),
            "approved_on": m.approved_on,
            "disbursed_amount": None if m.disbursed_amount is None
            else float(m.disbursed_amount),
            "disbursed_on": m.disbursed_on,
            "days_to_money": None if m.disbursed_on is None
            else (m.disbursed_on - need.requested_on).days,
            "rejected_reason": m.rejected_reason}


def drill(session: Session, measure: str, *, actor: Actor, date_from: dt.date | None = None,
          date_to: dt.date | None = None, chamber_id: int | None = None,
          bank_id: int | None = None, month: str | None = None,
          none_chamber: bool = False) -> dict:
    """The records behind one number of `summary` with the same filters: needs for
    `needs`, `amount_needed` and `days_to_money`; matches for the amounts approved and
    disbursed and for `approved` / `decided` (the approval rate). Each row names the
    firm, chamber, bank, product, amounts and dates; `count` and `total` (the amount
    the measure adds up, or the count) match the summary's number. `none_chamber`
    picks the needs raised through no chamber (the None row of by_chamber)."""
    facts = _load(session, actor, chamber_id, date_to)
    if none_chamber:
        facts = _Facts({k: n for k, n in facts.needs.items() if n.chamber_id is None},
                       [m for m in facts.matches if facts.needs[m.need_id].chamber_id is None])
    records = _select(facts, measure, date_from=date_from, date_to=date_to, bank_id=bank_id,
                      month=month)
    per_need = facts.by_need()
    if measure in NEED_MEASURES:
        rows = [_need_row(n, [m for m in per_need.get(n.need_id, [])
                              if bank_id is None or m.bank_id == bank_id]) for n in records]
    else:
        rows = [_match_row(facts.needs[m.need_id], m) for m in records]
    field = {"amount_needed": "amount", "amount_approved": "approved_amount",
             "amount_disbursed": "disbursed_amount"}.get(measure)
    total = round(sum(r[field] or 0 for r in rows), 2) if field else len(rows)
    return {"measure": measure, "count": len(rows), "total": total, "rows": rows}
