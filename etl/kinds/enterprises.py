"""Firm rosters and registries, keyed by the USCC.

A firm's street may be missing (registries do not have it): it is taken from
the street column, else from the address when the address names a street or
town, else left unassigned with a note. A name is unique in the district, so
a name already used by another code is refused. The contact (联系人/联系电话)
becomes the firm's contact, matched by name.
"""

from __future__ import annotations

from sqlalchemy import select

from crm import rules
from crm.models import Contact, Enterprise
from etl import clean
from etl.engine import Context, Kind, RowError
from etl.headers import header_unit
from etl.kinds.common import initials, stored_keys, street_cleaner, street_from_address, words

COLUMNS = ("uscc", "name", "street_id", "address", "industry", "size", "registered_on",
           "registered_capital", "legal_rep", "business_scope", "is_above_scale")


class Enterprises(Kind):
    name = "enterprises"
    table = Enterprise.__table__
    required = ("uscc", "name")
    cached = frozenset({"street", "industry", "size", "registered_on", "registered_capital",
                        "is_above_scale"})
    soft = frozenset({"registered_on", "registered_capital", "size", "is_above_scale",
                      "industry"})

    def cleaners(self, ctx, mapping):
        unit = header_unit(mapping.header_of("registered_capital")) or "万元"
        lim = rules.limit
        return {"uscc": clean.uscc, "name": clean.limited(lim("enterprise", "name")),
                "street": street_cleaner(ctx),
                "address": clean.limited(lim("enterprise", "address")),
                "industry": clean.limited(lim("enterprise", "industry")),
                "size": clean.choice(words("size")), "registered_on": clean.date,
                "registered_capital": clean.amount(unit),
                "legal_rep": clean.limited(lim("enterprise", "legal_rep")),
                "business_scope": clean.limited(lim("enterprise", "business_scope"),
                                                multiline=True),
                "is_above_scale": clean.boolean,
                "contact_name": clean.limited(lim("contact", "name")),
                "contact_phone": clean.phone}

    def prefetch(self, ctx: Context, recs: list[dict]) -> None:
        stored = stored_keys(ctx, self.table.c.uscc, [r["uscc"] for r in recs])
        codes = [r["uscc"] for r in recs if r["uscc"] in stored]
        names = [r["name"] for r in recs]
        t = self.table
        existing = ctx.cache.setdefault("existing", {})
        owners = ctx.cache.setdefault("name_owner", {})
        for part in _parts(codes):
            for row in ctx.session.execute(select(t.c.id, t.c.version, *[t.c[c] for c in COLUMNS])
                                           .where(t.c.uscc.in_(part))).mappings():
                existing[row["uscc"]] = (row["id"], {c: row[c] for c in ("version", *COLUMNS)})
        stored_names = stored_keys(ctx, self.table.c.name, names)
        names = [n for n in names if n in stored_names]
        for part in _parts(names):
            for name, code in ctx.session.execute(select(t.c.name, t.c.uscc)
                                                  .where(t.c.name.in_(part))):
                owners.setdefault(name, code)
        ids = [existing[c][0] for c in set(codes) if c in existing]
        contacts = ctx.cache.setdefault("contacts", {})
        c = Contact.__table__.c
        for part in _parts(ids):
            # Two contacts of one firm may share a name (王**, in masked lists): the row
            # speaks of the primary one (what the export writes), else of the first.
            for cid, fid, name, phone in ctx.session.execute(
                    select(c.id, c.enterprise_id, c.name, c.phone)
                    .where(c.enterprise_id.in_(part))
                    .order_by(c.is_primary.desc(), c.id)):
                contacts.setdefault(fid, {}).setdefault(name, (cid, {"phone": phone}))

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        code, name = rec["uscc"], rec["name"]
        owners = ctx.cache["name_owner"]
        if owners.get(name, code) != code:
            raise RowError("name", "etl.name_taken", name=name, uscc=owners[name])
        existing = ctx.cache["existing"].get(code)
        values = {"uscc": code, "name": name}
        for fld in ("address", "industry", "size", "registered_on", "legal_rep",
                    "business_scope", "is_above_scale"):
            if fld in rec:
                values[fld] = rec[fld]
        if "registered_capital" in rec:
            capital, approx = rec["registered_capital"]
            values["registered_capital"] = capital
            if approx:
                ctx.warn("registered_capital", "etl.amount_approx")
        street = rec.get("street")
        if street is None:
            street = street_from_address(ctx, rec.get("address"))
        scope = ctx.scope_street
        if scope is not None:
            if street is not None and street != scope:
                raise RowError("street", "etl.other_street")
            street = scope
        if street is not None:
            values["street_id"] = street
        elif existing is None or existing[1].get("street_id") is None:
            ctx.warn("address", "etl.street_unassigned")
        if existing is None or existing[1]["name"] != name:
            values["name_initials"] = initials(name)
            if existing is not None:
                existing[1]["name_initials"] = None
        fid = ctx.upsert(self.table, code, values, row, existing, versioned=True)
        owners[name] = code
        if rec.get("contact_name"):
            self._contact(ctx, fid, rec, row)

    def _contact(self, ctx: Context, fid: int, rec: dict, row: int) -> None:
        """The firm's contact of that name; the first contact a firm gets is its primary."""
        firm_contacts = ctx.cache["contacts"].setdefault(fid, {})
        name = rec["contact_name"]
        values = {"phone": rec.get("contact_phone")} if "contact_phone" in rec else {}
        existing = firm_contacts.get(name)
        if existing is None and name not in firm_contacts:
            values = {"enterprise_id": fid, "name": name, "is_primary": not firm_contacts,
                      **values}
            firm_contacts[name] = None
        ctx.upsert(Contact.__table__, (fid, name), values, row, existing)

    def tables_in_order(self):
        return [self.table, Contact.__table__]


def _parts(values: list, size: int = 900):
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), size):
        yield values[i:i + size]
