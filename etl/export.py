"""Exports with the headers the importer reads, so export → import changes nothing.

Codes are written as the first word the importer maps back to them (已办结
for replied, 大型 for large), yes/no as 是/否, amounts in 万元 with the unit in
the header. Blank templates are the same header row with no data.

Every cell written goes through crm.textsafety.neutralise (OWASP CSV injection: a
firm named =HYPERLINK(…) is written as '=HYPERLINK(…), text in Excel); the reader
takes the quote off again, so export → import still changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from crm.models import (
    Appeal,
    Assignment,
    Bank,
    BankProduct,
    Building,
    Category,
    Chamber,
    Contact,
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    FinancingNeed,
    JobFair,
    Person,
    Street,
    Unit,
    Visit,
    chamber_member,
)
from crm.textsafety import neutralise, neutralise_row, writer
from etl.headers import canonical_headers, synonyms

Exporter = Callable[[Session], Iterable[dict]]


def word(vocabulary: str, code: str | None) -> str | None:
    if code is None:
        return None
    return synonyms()["values"][vocabulary].get(code, [code])[0]


def yes_no(value: bool | None) -> str | None:
    return None if value is None else ("是" if value else "否")


def _enterprises(session: Session) -> Iterable[dict]:
    primary = {}
    for fid, name, phone, _ in session.execute(
            select(Contact.enterprise_id, Contact.name, Contact.phone, Contact.is_primary)
            .order_by(Contact.is_primary.desc(), Contact.id)):
        primary.setdefault(fid, (name, phone))
    member_of: dict[int, list[str]] = {}
    for fid, name in session.execute(
            select(chamber_member.c.enterprise_id, Chamber.name)
            .join(Chamber, Chamber.id == chamber_member.c.chamber_id).order_by(Chamber.name)):
        member_of.setdefault(fid, []).append(name)
    stmt = (select(Enterprise, Street.name).outerjoin(Street, Street.id == Enterprise.street_id)
            .order_by(Enterprise.id))
    for firm, street in session.execute(stmt):
        contact = primary.get(firm.id, (None, None))
        yield {"uscc": firm.uscc, "name": firm.name, "street": street, "address": firm.address,
               "industry": firm.industry, "size": word("size", firm.size),
               "registered_on": firm.registered_on,
               "registered_capital": firm.registered_capital, "legal_rep": firm.legal_rep,
               "business_scope": firm.business_scope,
               "is_above_scale": yes_no(firm.is_above_scale), "contact_name": contact[0],
               "contact_phone": contact[1],
               "chamber": "、".join(member_of.get(firm.id, ())) or None}


def _appeals(session: Session) -> Iterable[dict]:
    stmt = (select(Appeal, Enterprise.uscc, Enterprise.name, Street.name, Category.name,
                   Unit.name)
            .join(Enterprise, Enterprise.id == Appeal.enterprise_id)
            .join(Category, Category.id == Appeal.category_id)
            .outerjoin(Street, Street.id == Appeal.street_id)
            .outerjoin(Unit, Unit.id == Appeal.lead_unit_id).order_by(Appeal.id))
    for a, code, firm, street, category, unit in session.execute(stmt):
        # the ledger's own number when it came from one, else the QF number: either way
        # the importer finds this appeal again by it (etl.kinds.appeals.stored_refs)
        yield {"code": a.external_ref or a.code, "uscc": code, "firm_name": firm, "street": street,
               "category": category, "channel": word("channel", a.channel),
               "priority": word("priority", a.priority), "title": a.title,
               "description": a.description or None, "contact_name": a.contact_name,
               "contact_phone": a.contact_phone, "received_at": a.received_at,
               "lead_unit": unit, "status": word("status", a.status),
               "replied_at": a.replied_at, "reply_text": a.reply_text,
               "solved": yes_no(a.solved), "satisfaction": word("satisfaction", a.satisfaction)}


def _visits(session: Session) -> Iterable[dict]:
    stmt = (select(Visit, Enterprise.uscc, Enterprise.name, Person.name)
            .join(Enterprise, Enterprise.id == Visit.enterprise_id)
            .outerjoin(Person, Person.id == Visit.person_id).order_by(Visit.id))
    for v, code, firm, person in session.execute(stmt):
        yield {"uscc": code, "firm_name": firm, "cadre": person, "visited_on": v.visited_on,
               "way": word("way", v.way), "notes": v.notes}


def _assignments(session: Session) -> Iterable[dict]:
    """Every kind (类型): a cadre's firm, an office's (科室) firm, a leader's building."""
    stmt = (select(Assignment, Enterprise.uscc, Enterprise.name, Person.name, Unit.name,
                   Building.name)
            .outerjoin(Enterprise, Enterprise.id == Assignment.enterprise_id)
            .outerjoin(Person, Person.id == Assignment.person_id)
            .outerjoin(Unit, Unit.id == Assignment.unit_id)
            .outerjoin(Building, Building.id == Assignment.building_id)
            .order_by(Assignment.id))
    for a, code, firm, person, unit, building in session.execute(stmt):
        yield {"uscc": code, "firm_name": firm, "cadre": person, "start_date": a.start_date,
               "end_date": a.end_date, "note": a.note,
               "kind": word("assignment_kind", a.kind), "unit": unit, "building": building}


def _financing_needs(session: Session) -> Iterable[dict]:
    stmt = (select(FinancingNeed, Enterprise.uscc, Enterprise.name, Chamber.name)
            .join(Enterprise, Enterprise.id == FinancingNeed.enterprise_id)
            .outerjoin(Chamber, Chamber.id == FinancingNeed.chamber_id)
            .order_by(FinancingNeed.id))
    for n, code, firm, chamber in session.execute(stmt):
        amount = f"{n.amount}余" if n.amount_approx else n.amount
        yield {"uscc": code, "firm_name": firm, "amount": amount, "purpose": n.purpose,
               "term_months": n.term_months, "collateral": word("collateral", n.collateral),
               "urgency": word("urgency", n.urgency), "requested_on": n.requested_on,
               "chamber": chamber, "note": n.note}


def _range(low, high, scale: Decimal = Decimal(1), unit: str = "",
           open_ends: bool = False) -> str | None:
    """A range as people write it; with `open_ends`, a missing end is said in words
    ('最高500', '50以上'), as the importer reads them, else the one end stands for both."""
    if low is None and high is None:
        return None
    if open_ends and low is None:
        return f"最高{_plain(high * scale)}{unit}"
    if open_ends and high is None:
        return f"{_plain(low * scale)}{unit}以上"
    low = (low if low is not None else high) * scale
    high = (high if high is not None else low) * scale
    return (_plain(low) if low == high else f"{_plain(low)}-{_plain(high)}") + unit


def _plain(value: Decimal) -> str:
    """12.50 -> '12.5', 100.00 -> '100' (what a person would type)."""
    return format(value.normalize(), "f")


def _bank_products(session: Session) -> Iterable[dict]:
    stmt = select(BankProduct, Bank.name).join(Bank, Bank.id == BankProduct.bank_id)
    for p, bank in session.execute(stmt.order_by(BankProduct.id)):
        yield {"bank": bank, "name": p.name,
               "amount": _range(p.amount_min, p.amount_max, open_ends=True),
               "rate": _range(p.rate_min, p.rate_max, Decimal(100), "%", open_ends=True),
               "term": _range(*(None if v is None else Decimal(v)
                                for v in (p.term_min, p.term_max)), open_ends=True),
               "collateral": "、".join(word("collateral", c) for c in p.collateral or []) or None,
               "industries": "、".join(p.industries or []) or None,
               "sizes": "、".join(word("size", s) for s in p.sizes or []) or None,
               "active": yes_no(p.active)}


def _job_fair(session: Session) -> Iterable[dict]:
    """One row per funnel update (the results sheet), and one per position without any
    (the sign-up sheet); a firm without positions, one row of its own."""
    street = aliased(Street)
    stmt = (select(JobFair, street.name, FairParticipation, Enterprise.uscc, Enterprise.name)
            .join(FairParticipation, FairParticipation.fair_id == JobFair.id)
            .join(Enterprise, Enterprise.id == FairParticipation.enterprise_id)
            .outerjoin(street, street.id == JobFair.street_id)
            .order_by(JobFair.id, FairParticipation.id))
    positions: dict[int, list[FairPosition]] = {}
    for pos in session.scalars(select(FairPosition).order_by(FairPosition.id)):
        positions.setdefault(pos.participation_id, []).append(pos)
    updates: dict[int, list[FairPositionUpdate]] = {}
    for upd in session.scalars(select(FairPositionUpdate).order_by(FairPositionUpdate.as_of)):
        updates.setdefault(upd.position_id, []).append(upd)
    for fair, street_name, part, code, firm in session.execute(stmt):
        base = {"fair": fair.name, "held_on": fair.held_on, "place": fair.place,
                "street": street_name, "kind": word("fair_kind", fair.kind), "uscc": code,
                "firm_name": firm}
        for pos in positions.get(part.id) or [None]:
            row = dict(base)
            if pos is not None:
                pay = "面议" if pos.pay_negotiable else None
                if pos.pay_min is not None or pos.pay_max is not None:
                    pay = _range(*(None if v is None else Decimal(v)
                                   for v in (pos.pay_min, pos.pay_max)))
                row.update(position=pos.title, headcount=pos.headcount, pay=pay,
                           requirements=pos.requirements)
            for upd in (updates.get(pos.id) if pos is not None else None) or [None]:
                if upd is None:
                    yield row
                    continue
                yield {**row, "as_of": upd.as_of, "applicants": upd.applicants,
                       "intents": upd.intents, "medical_checks": upd.medical_checks,
                       "hired": upd.hired, "retained_90d": upd.retained_90d}


EXPORTERS: dict[str, Exporter] = {
    "enterprises": _enterprises, "appeals": _appeals, "visits": _visits,
    "assignments": _assignments, "financing-needs": _financing_needs,
    "bank-products": _bank_products, "job-fair": _job_fair,
}


def _cell(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


def export_rows(session: Session, kind: str) -> tuple[list[str], Iterable[list]]:
    headers = canonical_headers(kind)
    fields = list(headers)
    rows = ([_cell(row.get(f)) for f in fields] for row in EXPORTERS[kind](session))
    return [headers[f] for f in fields], rows


@writer
def write_xlsx(header: list[str], rows: Iterable[list], target, *, sheet: str = "Sheet1"):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])

    bold = []
    for h in header:
        cell = WriteOnlyCell(ws, value=neutralise(h))
        cell.font = Font(bold=True)
        bold.append(cell)
    ws.append(bold)
    for row in rows:
        ws.append(neutralise_row(row))
    book.save(target)


@writer
def write_csv(header: list[str], rows: Iterable[list], target) -> None:
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="") \
        if not isinstance(target, str | Path) else open(target, "w", encoding="utf-8-sig",  # noqa: SIM115
                                                        newline="")
    try:
        w = csv.writer(text)
        w.writerow(neutralise_row(header))
        for row in rows:
            w.writerow(["" if v is None else _csv(neutralise(v)) for v in row])
    finally:
        if isinstance(target, str | Path):
            text.close()
        else:
            text.flush()
            text.detach()


def _csv(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def export(session: Session, kind: str, target: str | Path) -> int:
    """Write every record of `kind` to .xlsx or .csv; returns the number of rows."""
    header, rows = export_rows(session, kind)
    count = 0

    def counted():
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if str(target).lower().endswith(".csv"):
        write_csv(header, counted(), target)
    else:
        write_xlsx(header, counted(), target)
    return count


def template(kind: str) -> bytes:
    """A blank workbook with the header row of `kind`."""
    buffer = io.BytesIO()
    write_xlsx(list(canonical_headers(kind).values()), [], buffer, sheet=kind)
    return buffer.getvalue()


@writer
def errors_workbook(report, target, lang: str = "zh") -> None:
    """The rejected rows as the user sent them, with row number and reason; notes on sheet 2."""
    from openpyxl import Workbook

    from crm.i18n import t

    book = Workbook()
    ws = book.active
    ws.title = t("import.rejected_sheet", lang)
    reasons: dict[int, list[str]] = {}
    for issue in report.errors:
        reasons.setdefault(issue.row, []).append(
            f"{issue.column}: {issue.message(lang)}" if issue.column else issue.message(lang))
    ws.append(neutralise_row([t("import.col_row", lang), t("import.col_reason", lang),
                              *[("" if h is None else str(h)) for h in report.header]]))
    for row in sorted(report.rejected_rows):
        cells = report.rejected_rows[row]
        ws.append(neutralise_row([row, "；".join(reasons.get(row, [])),
                                  *[_plain_value(c) for c in cells]]))
    notes = book.create_sheet(t("import.warnings_sheet", lang))
    notes.append([t("import.col_row", lang), t("import.col_column", lang),
                  t("import.col_value", lang), t("import.col_reason", lang)])
    for issue in report.warnings:
        notes.append(neutralise_row([issue.row, issue.column, _plain_value(issue.value),
                                     issue.message(lang)]))
    book.save(target)


def _plain_value(value):
    if value is None or isinstance(value, int | float | str | dt.date):
        return value
    return str(value)
