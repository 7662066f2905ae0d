"""Firm rosters and registries, keyed by the USCC.

A firm's street may be missing (registries do not have it): it is taken from
the street column, else from the address when the address names a street or
town, else left unassigned with a note. A name is unique in the district, so
a name already used by another code is refused. The contact (联系人/联系电话)
becomes the firm's contact, matched by name. The chambers a firm belongs to
(所属商会, several in one cell separated by 、，,;) become memberships; a chamber the
system does not know is created unconfirmed, with a note (etl.kinds.chambers). A
roster adds memberships, never removes one.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from crm import rules
from crm.models import Chamber, Contact, Enterprise, chamber_member
from etl import clean
from etl.engine import MISSING, Context, Kind, RowError
from etl.headers import header_unit
from etl.kinds.chambers import chamber_id, chamber_names, chambers, join
from etl.kinds.common import initials, stored_keys, street_cleaner, street_from_address, words

COLUMNS = ("uscc", "name", "street_id", "address", "industry", "size", "registered_on",
           "registered_capital", "legal_rep", "business_scope", "is_above_scale")


class Enterprises(Kind):
    name = "enterprises"
    table = Enterprise.__table__
    required = ("uscc", "name")
    cached = frozenset({"street", "industry", "size", "registered_on", "registered_capital",
                        "is_above_scale", "chamber"})
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
                "contact_phone": clean.phone, "chamber": chamber_names}

    def plan_bulk(self, ctx, columns, rows, numbers, notes):
        """The rows `plan` would make a new firm of with no question asked, planned
        column-wise: a USCC and a name that no stored firm has and that no other valid
        row of the file repeats, and (for a liaison) a street in their scope. Each
        gets what `plan` gives it (street from the street column, else from the
        address; initials; its contact as its primary one) and the same notes. Every
        other row goes to `plan`."""
        n = len(numbers)
        none = [None] * n

        def col(name: str) -> list:
            return columns.get(name) or none

        codes, names = col("uscc"), col("name")
        code_count = Counter(codes[j] for j in rows)
        name_count = Counter(names[j] for j in rows)
        stored_codes = stored_keys(ctx, self.table.c.uscc, code_count)
        stored_names = stored_keys(ctx, self.table.c.name, name_count)
        street_col, addresses = col("street"), col("address")
        scope = ctx.scope_street
        by_address: dict = {}
        easy, rest, streets = [], [], []
        for j in rows:
            code, name = codes[j], names[j]
            if (code_count[code] > 1 or name_count[name] > 1 or code in stored_codes
                    or name in stored_names):
                rest.append(j)
                continue
            street = street_col[j]
            if street is None:
                address = addresses[j]
                street = by_address.get(address, MISSING)
                if street is MISSING:
                    street = by_address[address] = street_from_address(ctx, address)
            if scope is not None:
                if street is not None and street != scope:
                    rest.append(j)  # `plan` refuses it
                    continue
                street = scope
            easy.append(j)
            streets.append(street)
        creates: list[tuple[int, str]] = []
        if "chamber" in columns:
            easy, streets, creates = self._bulk_chambers(ctx, columns["chamber"], rows, easy,
                                                         streets, rest)
        if not easy:
            return sorted(rest)
        capital = columns.get("registered_capital")
        for j, street in zip(easy, streets, strict=True):  # `plan`'s notes, in its order
            if capital is not None and capital[j] is not None and capital[j][1]:
                ctx.bulk_warnings.append((j, "registered_capital", "etl.amount_approx", {}))
            if street is None:
                ctx.bulk_warnings.append((j, "address", "etl.street_unassigned", {}))
        for j, name in creates:  # after the row's other notes, as `plan` notes it
            ctx.plan_as_row(j, chamber_id, name, numbers[j], "chamber")
        out: dict[str, list] = {"uscc": [codes[j] for j in easy],
                                "name": [names[j] for j in easy]}
        for fld in ("address", "industry", "size", "registered_on", "legal_rep",
                    "business_scope", "is_above_scale"):
            if fld in columns:
                values = columns[fld]
                out[fld] = [values[j] for j in easy]
        if capital is not None:
            out["registered_capital"] = [None if capital[j] is None else capital[j][0]
                                         for j in easy]
        if any(s is not None for s in streets):
            out["street_id"] = streets
        out["name_initials"] = [initials(name) for name in out["name"]]
        sheet_rows = [numbers[j] for j in easy]
        ids = ctx.add_bulk(self.table, out, sheet_rows)
        contact_names = columns.get("contact_name")
        if contact_names is not None:
            with_contact = [k for k, j in enumerate(easy) if contact_names[j]]
            if with_contact:
                contacts = {"enterprise_id": [ids[k] for k in with_contact],
                            "name": [contact_names[easy[k]] for k in with_contact],
                            "is_primary": [True] * len(with_contact)}
                if "contact_phone" in columns:
                    phones = columns["contact_phone"]
                    contacts["phone"] = [phones[easy[k]] for k in with_contact]
                ctx.add_bulk(Contact.__table__, contacts,
                             [sheet_rows[k] for k in with_contact])
        if "chamber" in columns:  # new firms: none is a member of anything yet
            known, named = chambers(ctx), columns["chamber"]
            links: dict[str, list] = {"enterprise_id": [], "chamber_id": []}
            link_rows = []
            for fid, j, row in zip(ids, easy, sheet_rows, strict=True):
                for name in named[j] or ():
                    links["enterprise_id"].append(fid)
                    links["chamber_id"].append(known[name])
                    link_rows.append(row)
            ctx.link_bulk(chamber_member, links, link_rows)
        return sorted(rest)

    @staticmethod
    def _bulk_chambers(ctx, named, rows, easy, streets, rest):
        """The new firms naming chambers: a chamber the system does not know is created by
        the first row naming it, as `plan` does. When that row is a new firm planned
        column-wise, it is created on that row (the returned (row, name) pairs) and the
        later new firms naming it stay column-wise; otherwise (the first row naming it
        goes to `plan`) the new firms naming it go to `plan` too, after it."""
        known = chambers(ctx)
        first: dict[str, int] = {}
        for j in rows:
            for name in named[j] or ():
                if name not in known:
                    first.setdefault(name, j)
        if not first:
            return easy, streets, []
        kept, kept_streets, creates = [], [], []
        created: set[str] = set()
        for j, street in zip(easy, streets, strict=True):
            new = [name for name in named[j] or () if name not in known]
            if any(first[name] != j and name not in created for name in new):
                rest.append(j)
                continue
            for name in new:
                if first[name] == j:
                    creates.append((j, name))
                    created.add(name)
            kept.append(j)
            kept_streets.append(street)
        return kept, kept_streets, creates

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
        for chamber in rec.get("chamber") or ():
            join(ctx, fid, chamber_id(ctx, chamber, row, "chamber"), row)

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
        return [Chamber.__table__, self.table, Contact.__table__]

    def side_tables(self):
        return [chamber_member]


def _parts(values: list, size: int = 900):
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), size):
        yield values[i:i + size]
