"""Visits, cadre assignments, financing needs and bank products (job fairs: jobfairs.py).

Importers against the models; what they check, default and key on is
`crm.rules`, which the app's services use too. Natural keys: a visit is
firm + day + cadre + way (crm.rules.visit_key); an
assignment is firm + cadre + start date, and a firm keeps at most one active
cadre (the database's partial unique index, checked here first so the row
gets a reason); a financing need is firm + date + purpose; a bank product is
bank + product name.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from sqlalchemy import select

from crm import rules
from crm.db import today
from crm.models import (
    Assignment,
    Bank,
    BankProduct,
    Chamber,
    FinancingNeed,
    Visit,
    chamber_member,
)
from etl import clean
from etl.clean import Bad
from etl.engine import Context, Kind, RowError
from etl.headers import synonyms
from etl.kinds import assignment_kinds
from etl.kinds.chambers import bank_id, banks, chamber_id, join
from etl.kinds.common import (
    FIRM_CACHED,
    FIRM_FIELDS,
    find_firm,
    person_id,
    person_street,
    stored_rows,
    words,
)
from etl.kinds.jobfairs import JobFairs


class Visits(Kind):
    name = "visits"
    table = Visit.__table__
    required = ("visited_on",)
    one_of = (("uscc", "firm_name"),)
    cached = FIRM_CACHED | {"cadre", "visited_on", "way"}
    COLUMNS = ("enterprise_id", "person_id", "visited_on", "way", "notes")

    def cleaners(self, ctx, mapping):
        return {**FIRM_FIELDS, "cadre": clean.limited(rules.limit("person", "name")),
                "visited_on": clean.date, "way": clean.choice(words("way")),
                "notes": clean.limited(rules.limit("visit", "notes"), multiline=True)}

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        if rec["visited_on"] > today():  # as crm.services.visits refuses one in the app
            raise RowError("visited_on", "etl.future_date")
        if rec["visited_on"] < rules.EARLIEST_VISIT:
            raise RowError("visited_on", "etl.too_early",
                           earliest=rules.EARLIEST_VISIT.isoformat())
        fid, street = find_firm(ctx, rec)
        pid = person_id(ctx, rec["cadre"], street, "cadre") if rec.get("cadre") else None
        t = self.table
        existing = stored_rows(ctx, "visits", select(t.c.id, *[t.c[c] for c in self.COLUMNS]),
                         lambda v: rules.visit_key(v["enterprise_id"], v["visited_on"],
                                                   v["person_id"], v["way"]))
        way = rec.get("way") or rules.DEFAULT_VISIT_WAY
        key = rules.visit_key(fid, rec["visited_on"], pid, way)
        values = {"enterprise_id": fid, "person_id": pid, "visited_on": rec["visited_on"],
                  "way": way}
        if "notes" in rec:
            values["notes"] = rec["notes"]
        found = existing.get(key)
        if found is None and key not in ctx.seen.get(t.name, {}) and ctx.actor is not None:
            values["recorded_by_id"] = ctx.actor.id
        ctx.upsert(t, key, values, row, found)


class Assignments(Kind):
    name = "assignments"
    table = Assignment.__table__
    # what a row needs beyond its start date depends on its 类型 (assignment_kinds.required)
    required = ("start_date",)
    cached = FIRM_CACHED | {"cadre", "start_date", "end_date", "kind", "unit", "building"}
    COLUMNS = ("kind", "enterprise_id", "person_id", "start_date", "end_date", "note")

    def cleaners(self, ctx, mapping):
        ctx.cache["headers"] = mapping.header_of
        return {**FIRM_FIELDS, "cadre": clean.limited(rules.limit("person", "name")),
                "start_date": clean.date, "end_date": clean.date,
                "note": clean.limited(rules.limit("assignment", "note")),
                "kind": clean.choice(words("assignment_kind")),
                "unit": clean.limited(rules.limit("unit", "name")),
                "building": clean.limited(rules.limit("building", "name"))}

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        kind = rec.get("kind", "cadre_enterprise")
        if kind != "cadre_enterprise":  # an office's firm, a leader's building
            return assignment_kinds.plan(ctx, rec, row, kind)
        assignment_kinds.required(ctx, rec, "firm", "cadre")
        fid, street = find_firm(ctx, rec)
        pid = person_id(ctx, rec["cadre"], street, "cadre")
        scope = ctx.scope_street  # a liaison assigns their own street's people, as in the app
        if scope is not None and person_street(ctx, pid) not in (None, scope):
            raise RowError("cadre", "etl.other_street")
        start, end = rec["start_date"], rec.get("end_date")
        assignment_kinds.check_dates(start, end)
        t = self.table
        existing = stored_rows(ctx, "assignments",
                         select(t.c.id, *[t.c[c] for c in self.COLUMNS])
                         .where(t.c.kind == "cadre_enterprise"),
                         lambda v: rules.assignment_key(v["enterprise_id"], v["person_id"],
                                                        v["start_date"]))
        if "active" not in ctx.cache:
            ctx.cache["active"] = {k[0]: k for k, (_, v) in existing.items()
                                   if v["end_date"] is None}
        active = ctx.cache["active"]
        key = rules.assignment_key(fid, pid, start)
        current = active.get(fid)
        if end is None and current is not None and current != key and current[1] == pid:
            # the firm's cadre already, since another day: left as it is, as the app does
            ctx.upsert(t, current, {"kind": "cadre_enterprise", "enterprise_id": fid,
                                    "person_id": pid, "start_date": current[2]},
                       row, existing.get(current))
            return
        if end is None and current is not None and current != key:
            names = {p: n for n, ps in ctx.cache.get("people", {}).items() for p, _ in ps}
            raise RowError("cadre", "etl.other_active_cadre", name=names.get(current[1], "?"))
        values = {"kind": "cadre_enterprise", "enterprise_id": fid, "person_id": pid,
                  "start_date": start}
        assignment_kinds.upsert(ctx, key, values, rec, end, row, existing)
        if end is None:
            active[fid] = key
        elif current == key:
            del active[fid]


class FinancingNeeds(Kind):
    name = "financing-needs"
    table = FinancingNeed.__table__
    required = ("amount", "requested_on")
    one_of = (("uscc", "firm_name"),)
    cached = FIRM_CACHED | {"amount", "term_months", "collateral", "urgency", "requested_on",
                            "chamber"}
    soft = frozenset({"term_months", "urgency"})
    COLUMNS = ("enterprise_id", "chamber_id", "amount", "amount_approx", "purpose",
               "term_months", "collateral", "urgency", "requested_on", "note", "version")

    def cleaners(self, ctx, mapping):
        from etl.headers import header_unit

        unit = header_unit(mapping.header_of("amount")) or "万元"
        return {**FIRM_FIELDS, "amount": clean.amount(unit),
                "purpose": clean.limited(rules.limit("financing_need", "purpose")),
                "term_months": clean.count, "collateral": clean.choice(words("collateral")),
                "urgency": clean.choice(words("urgency"), default=rules.DEFAULT_URGENCY),
                "requested_on": clean.date,
                "chamber": clean.limited(rules.limit("chamber", "name")),
                "note": clean.limited(rules.limit("financing_need", "note"), multiline=True)}

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        fid, _ = find_firm(ctx, rec)
        t = self.table
        existing = stored_rows(ctx, "needs", select(t.c.id, *[t.c[c] for c in self.COLUMNS]),
                         lambda v: rules.need_key(v["enterprise_id"], v["requested_on"],
                                                  v["purpose"]))
        amount, approx = rec["amount"]
        if approx:
            ctx.warn("amount", "etl.amount_approx")
        key = rules.need_key(fid, rec["requested_on"], rec.get("purpose"))
        values = {"enterprise_id": fid, "requested_on": rec["requested_on"], "amount": amount,
                  "amount_approx": approx}
        for fld in ("purpose", "term_months", "collateral", "urgency", "note"):
            if fld in rec:
                values[fld] = rec[fld]
        found = existing.get(key)
        if found is None and key not in ctx.seen.get(t.name, {}) and ctx.actor is not None:
            values["created_by"] = ctx.actor.id  # as the app records who put it on file
        cid = chamber_id(ctx, rec["chamber"], row, "chamber") if rec.get("chamber") else None
        if cid is not None:
            values["chamber_id"] = cid
        ctx.upsert(t, key, values, row, found, versioned=True)
        if cid is not None:  # the firm is the chamber's member from now on (a need's
            join(ctx, fid, cid, row)  # chamber is the one it came through)

    def tables_in_order(self):
        return [Chamber.__table__, self.table]

    def side_tables(self):
        return [chamber_member]


_LIST_SPLIT = re.compile(r"[、,，;；/\s]+")


def _split(raw: object) -> list[str]:
    return [p for p in _LIST_SPLIT.split(clean.text(raw) or "") if p]


@cache
def _industry_names() -> re.Pattern:
    """The industry sections (etl/synonyms.json), longest first, as one alternation that
    matches a whole list item only (汽车制造业 is not 制造业)."""
    names = sorted(synonyms()["industries"], key=len, reverse=True)
    edge = r"、,，;；/\s"
    return re.compile(f"(?<![^{edge}])(?:{'|'.join(map(re.escape, names))})(?![^{edge}])")


def industries(raw: object) -> tuple[str, ...]:
    """A list of industries: split at 、，; … except inside a section name that itself
    has a 、 (信息传输、软件和信息技术服务业 stays one industry, as exports write it)."""
    text = clean.text(raw) or ""
    out: list[str] = []
    at = 0
    for m in _industry_names().finditer(text):
        out += _split(text[at:m.start()])
        out.append(m.group(0))
        at = m.end()
    out += _split(text[at:])
    return tuple(out)


def _codes(vocabulary: str):
    table = clean.vocabulary(words(vocabulary))

    def fn(raw: object) -> tuple[str, ...]:
        out = []
        for part in _split(raw):
            code = table.get(clean.word_key(part))
            if code is None:
                raise Bad("etl.unknown_value", value=part, allowed="、".join(
                    names[0] for names in words(vocabulary).values()))
            out.append(code)
        return tuple(out)

    return fn


def _percent_range(raw: object) -> tuple[Decimal | None, Decimal | None]:
    low, high = clean.number_range(raw)
    top = high if high is not None else low
    if top > 1 or "%" in str(raw):  # 3.85%-6% or 3.85-6: percent; 0.0385: a fraction
        low, high = (None if v is None else v / 100 for v in (low, high))
    return low, high


class BankProducts(Kind):
    """The catalogue by bank and product name. The bank is a record: a name no bank has is
    created unconfirmed, with a note (the app's catalogue form creates it confirmed: a
    person chose it there)."""

    name = "bank-products"
    table = BankProduct.__table__
    required = ("bank", "name")
    cached = frozenset({"bank", "amount", "rate", "term", "collateral", "industries", "sizes",
                        "active"})
    COLUMNS = ("bank_id", "name", "amount_min", "amount_max", "rate_min", "rate_max",
               "term_min", "term_max", "collateral", "industries", "sizes", "active", "version")

    def cleaners(self, ctx, mapping):
        return {"bank": clean.limited(rules.limit("bank", "name")),
                "name": clean.limited(rules.limit("bank_product", "name")),
                "amount": clean.number_range, "rate": _percent_range,
                "term": clean.number_range, "collateral": _codes("collateral"),
                "industries": industries, "sizes": _codes("size"),
                "active": clean.boolean}

    def _existing(self, ctx: Context) -> dict:
        """Stored products by (bank name, product name)."""
        if "products" not in ctx.cache:
            t = self.table
            names = {bid: name for name, bid in banks(ctx).items()}
            ctx.cache["products"] = {
                rules.product_key(names[v["bank_id"]], v["name"]): (v.pop("id"), v)
                for v in map(dict, ctx.session.execute(
                    select(t.c.id, *[t.c[c] for c in self.COLUMNS])).mappings())}
        return ctx.cache["products"]

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        t = self.table
        existing = self._existing(ctx)
        key = rules.product_key(rec["bank"], rec["name"])
        values = {"name": rec["name"]}
        if "amount" in rec:
            values["amount_min"], values["amount_max"] = (
                None if v is None else v.quantize(rules.AMOUNT_PLACES) for v in rec["amount"])
        if "rate" in rec:
            values["rate_min"], values["rate_max"] = (
                None if v is None else v.quantize(rules.RATE_PLACES) for v in rec["rate"])
        if "term" in rec:
            values["term_min"], values["term_max"] = (
                None if v is None else int(v) for v in rec["term"])
        for fld in ("collateral", "industries", "sizes"):
            if fld in rec:
                values[fld] = list(rec[fld])
        if "active" in rec:
            values["active"] = rec["active"]
        values["bank_id"] = bank_id(ctx, rec["bank"], row, "bank")
        ctx.upsert(t, key, values, row, existing.get(key), versioned=True)

    def tables_in_order(self):
        return [Bank.__table__, self.table]


OTHER_KINDS = {"visits": Visits, "assignments": Assignments, "financing-needs": FinancingNeeds,
               "bank-products": BankProducts, "job-fair": JobFairs}  # etl/kinds/jobfairs.py
