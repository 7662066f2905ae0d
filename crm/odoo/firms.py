"""Firms ↔ Odoo `res.partner`: the USCC is the key both ways.

Mapped fields (Qifu → Odoo): name → name, USCC → vat, the primary contact's phone →
phone, address → street, the firm's street/town (街道) → street2; `is_company` is set
on create (and the district as city). Both sides are compared as *canonical* values
(whitespace collapsed, phones as Qifu stores them, the vat normalised like a USCC), so
formatting differences are no change.

For each confirmed firm:
- mapped: its values hash against `synced_hash` (what both sides last agreed) says which
  side changed. One side: copy it to the other. Both, to different values: a conflict,
  reported; the `conflict_winner` setting says whether Qifu's or Odoo's values are then
  written, or neither ("report", the default). Both, to the same values: agreed, nothing
  to write but the hash.
- not mapped: a partner with the same USCC is looked for before anything is created (this
  is also what makes a re-run after a crash safe: a partner created by the crashed run
  is found, not duplicated). Found: linked; an empty field on one side is filled from the
  other, a field filled differently on both is a conflict. Not found: created, in batches.
Then partners that are companies with a valid USCC Qifu lacks are registered as firms
(through `registration.register_enterprise`, the same door as the app's), with their street
when street2 names one of the district's.

Work is committed in batches of firms, each with its mapping rows: a run that fails half
way leaves every committed batch consistent on both sides, and the next run picks up the
rest (partners it created but did not record are found by USCC).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from crm import rules
from crm.errors import CrmError
from crm.models import Contact, Enterprise, EnterpriseAlias, OdooMapping, Street
from crm.odoo.errors import OdooError, OdooFault
from crm.odoo.gateway import Gateway
from crm.odoo.tally import Context, digest, text
from crm.services import audit
from crm.services.firm_search import initials
from crm.uscc import InvalidUSCC, normalize, validate

ENTITY, MODEL = "enterprise", "res.partner"
FIELDS = ("name", "vat", "phone", "street", "street2")
READ = ["name", "vat", "phone", "street", "street2", "is_company", "active", "write_date"]
CONTACT_NAME = "企业电话"  # the contact a phone pulled from Odoo is filed under


def _phone(value) -> str:
    raw = text(value)
    return rules.phone(raw)[0] if raw else ""


def canon_local(firm: Enterprise, phone: str | None, street: str | None) -> dict:
    return {"name": text(firm.name), "vat": firm.uscc, "phone": _phone(phone),
            "street": text(firm.address), "street2": text(street)}


def canon_remote(row: dict, streets: set[str]) -> dict:
    """street2 counts only when it names one of the district's streets: anything else
    there (a building, a district) is Odoo's own business, neither pulled nor compared."""
    street2 = text(row.get("street2"))
    return {"name": text(row.get("name")), "vat": normalize(text(row.get("vat"))),
            "phone": _phone(row.get("phone")), "street": text(row.get("street")),
            "street2": street2 if street2 in streets else ""}


def partner_values(values: dict, *, new: bool, city: str) -> dict:
    out = {name: values[name] or False for name in FIELDS}
    if new:
        out.update(is_company=True, city=city or False)
    return out


def valid_uscc(vat) -> str | None:
    try:
        return validate(text(vat))
    except InvalidUSCC:
        return None


def _merge(local: dict, remote: dict) -> tuple[dict, list[str]]:
    """Two records never compared before: fill each empty field from the other side;
    the fields filled differently on both sides are the conflict."""
    merged, clashes = {}, []
    for name in FIELDS:
        mine, theirs = local[name], remote[name]
        merged[name] = mine or theirs
        if mine and theirs and mine != theirs:
            clashes.append(name)
    return merged, clashes


def read_partners(gateway: Gateway, mapped_ids: set[int]) -> dict[int, dict]:
    """Company partners with a vat, plus any mapped partner outside that set (archived,
    vat removed): one paged read each."""
    rows = {r["id"]: r for r in gateway.search_read(
        MODEL, [("is_company", "=", True), ("vat", "!=", False)], READ)}
    missing = sorted(mapped_ids - rows.keys())
    if missing:
        for r in gateway.read_ids(MODEL, missing, READ):
            rows[r["id"]] = r
    return rows


class _Batch:
    """One transaction's worth of firms: remote writes first, then the local rows."""

    def __init__(self, session: Session, gateway: Gateway, ctx: Context,
                 streets: dict[int, str]) -> None:
        self.s, self.gw, self.ctx, self.streets = session, gateway, ctx, streets
        self.street_names = set(streets.values())
        self.t = ctx.tally(ENTITY)
        self.to_create: list[tuple[Enterprise, dict]] = []

    def push(self, firm: Enterprise, mapping: OdooMapping, values: dict) -> None:
        if not self.ctx.dry_run:
            self.gw.write(MODEL, [mapping.remote_id], partner_values(values, new=False,
                                                                      city=self.ctx.district))
            mapping.synced_hash = digest(values)
        self.t.updated_odoo += 1

    def pull(self, firm: Enterprise, mapping: OdooMapping, values: dict, phone: str) -> bool:
        """Write Odoo's values on the firm; False (and an issue) when Qifu refuses them."""
        by_name = {v: k for k, v in self.streets.items()}
        problem = None
        if values["vat"] != firm.uscc:
            problem = (f"Odoo partner {mapping.remote_id} has vat {values['vat'] or '(none)'}"
                       f" but the firm's USCC is {firm.uscc}: correct it in Odoo")
        elif not values["name"]:
            problem = f"Odoo partner {mapping.remote_id} has no name"
        elif values["name"] != firm.name and self.s.scalar(
                select(Enterprise.id).where(Enterprise.name == values["name"],
                                            Enterprise.id != firm.id)):
            problem = f"another firm is already named {values['name']}"
        else:
            for column, value in (("name", values["name"]), ("address", values["street"])):
                limit = rules.too_long("enterprise", column, value)
                if limit:
                    problem = f"{column} is longer than {limit} characters"
        if problem:
            self.ctx.issue(ENTITY, "error", problem, local_id=firm.id,
                           remote_id=mapping.remote_id)
            return False
        # The firm's street decides who serves and sees it (access scopes): Odoo may move it
        # to another of the district's streets, never to none. A street2 that names none
        # (cleared, or a district, a building) gets Qifu's street written back.
        mine = self.streets.get(firm.street_id)
        restore = not values["street2"] and mine is not None
        if restore:
            values = {**values, "street2": mine}
            self.ctx.issue(ENTITY, "warning", f"{firm.name}: Odoo partner "
                           f"{mapping.remote_id}'s street2 names no street of the district; "
                           f"{mine} written back", local_id=firm.id,
                           remote_id=mapping.remote_id)
        if self.ctx.dry_run:
            self.t.updated_qifu += 1
            self.t.updated_odoo += restore
            return True
        try:
            with self.s.begin_nested():
                if firm.name != values["name"]:
                    firm.name, firm.name_initials = values["name"], initials(values["name"])
                firm.address = values["street"] or None
                firm.street_id = by_name.get(values["street2"]) if values["street2"] else None
                if values["phone"] != phone:
                    _set_phone(self.s, firm, values["phone"])
                self.s.flush()
        except StaleDataError:
            self.ctx.issue(ENTITY, "error", "changed in Qifu while syncing; run again",
                           local_id=firm.id, remote_id=mapping.remote_id)
            return False
        if restore:
            self.gw.write(MODEL, [mapping.remote_id], {"street2": values["street2"]})
            self.t.updated_odoo += 1
        mapping.synced_hash = digest(values)
        audit.record(self.s, self.ctx.actor, "enterprise.odoo_pull", ENTITY, firm.id,
                     partner=mapping.remote_id)
        self.t.updated_qifu += 1
        return True

    def resolve(self, firm, mapping, local, remote, phone, why: str) -> None:
        """Both sides changed, differently: report, then apply the setting."""
        self.t.conflicts += 1
        winner = self.ctx.winner
        outcome = "kept both as they are" if winner == "report" else f"{winner} wins"
        self.ctx.issue(ENTITY, "conflict", f"{firm.name}: {why}; {outcome}",
                       local_id=firm.id, remote_id=mapping.remote_id)
        if winner == "qifu":
            self.push(firm, mapping, local)
        elif winner == "odoo":
            self.pull(firm, mapping, remote, phone)

    def flush_creates(self) -> None:
        if not self.to_create:
            return
        if self.ctx.dry_run:
            self.t.created_odoo += len(self.to_create)
            return
        ids = self.gw.create(MODEL, [partner_values(v, new=True, city=self.ctx.district)
                                     for _, v in self.to_create])
        for (firm, values), rid in zip(self.to_create, ids, strict=True):
            self.s.add(OdooMapping(entity=ENTITY, local_id=firm.id, remote_model=MODEL,
                                   remote_id=rid, synced_hash=digest(values)))
        self.t.created_odoo += len(ids)


def _set_phone(session: Session, firm: Enterprise, phone: str) -> None:
    contact = session.scalar(select(Contact).where(Contact.enterprise_id == firm.id)
                             .order_by(Contact.is_primary.desc(), Contact.id).limit(1))
    if contact is None:
        if phone:
            session.add(Contact(enterprise_id=firm.id, name=CONTACT_NAME, phone=phone,
                                is_primary=True))
    else:
        contact.phone = phone or None


def _phones(session: Session, firm_ids: list[int]) -> dict[int, str | None]:
    phones: dict[int, str | None] = {}
    rows = session.execute(select(Contact.enterprise_id, Contact.phone)
                           .where(Contact.enterprise_id.in_(firm_ids))
                           .order_by(Contact.enterprise_id, Contact.is_primary.desc(),
                                     Contact.id))
    for firm_id, phone in rows:
        phones.setdefault(firm_id, phone)
    return phones


def sync_firms(sessions: sessionmaker, gateway: Gateway, ctx: Context) -> None:
    with sessions() as s:
        linked = set(s.scalars(select(OdooMapping.remote_id).where(
            OdooMapping.entity == ENTITY, OdooMapping.remote_model == MODEL)))
        firm_ids = list(s.scalars(select(Enterprise.id).where(Enterprise.confirmed)
                                  .order_by(Enterprise.id)))
        streets = dict(s.execute(select(Street.id, Street.name)).all())
    remote = read_partners(gateway, linked)
    by_vat: dict[str, dict] = {}
    for row in sorted(remote.values(), key=lambda r: r["id"]):
        code = valid_uscc(row.get("vat"))
        if code and row.get("active", True) and row.get("is_company"):
            if code in by_vat:
                ctx.issue(ENTITY, "warning", f"Odoo partners {by_vat[code]['id']} and "
                          f"{row['id']} share the USCC {code}; using {by_vat[code]['id']}",
                          remote_id=row["id"])
            else:
                by_vat[code] = row
    total = len(firm_ids)
    ctx.step("firms → Odoo", 0, total)
    for start in range(0, total, ctx.batch_size):
        chunk = firm_ids[start:start + ctx.batch_size]
        with sessions() as s:
            batch = _Batch(s, gateway, ctx, streets)
            firms = s.scalars(select(Enterprise).where(Enterprise.id.in_(chunk))
                              .order_by(Enterprise.id)).all()
            phones = _phones(s, chunk)
            maps = {m.local_id: m for m in s.scalars(select(OdooMapping).where(
                OdooMapping.entity == ENTITY, OdooMapping.remote_model == MODEL,
                OdooMapping.local_id.in_(chunk)))}
            for firm in firms:
                local = canon_local(firm, phones.get(firm.id), streets.get(firm.street_id))
                mapping = maps.get(firm.id)
                try:
                    _one(batch, firm, mapping, local, phones.get(firm.id), remote, by_vat,
                         linked)
                except CrmError as err:
                    if isinstance(err, OdooError) and not isinstance(err, OdooFault):
                        raise  # the connection or the login: the run stops
                    ctx.issue(ENTITY, "error", f"{firm.name}: {err.message or err}",
                              local_id=firm.id)
            batch.flush_creates()
            if ctx.dry_run:
                s.rollback()
            else:
                s.commit()
        ctx.step("firms → Odoo", min(start + ctx.batch_size, total), total)
    _pull_new(sessions, ctx, remote, by_vat, linked, streets)


def _one(batch: _Batch, firm: Enterprise, mapping: OdooMapping | None, local: dict,
         phone: str | None, remote: dict[int, dict], by_vat: dict, linked: set[int]) -> None:
    ctx, t = batch.ctx, batch.t
    if mapping is not None:
        row = remote.get(mapping.remote_id)
        if row is None:
            ctx.issue(ENTITY, "error", f"{firm.name}: Odoo partner {mapping.remote_id} is gone "
                      "(deleted in Odoo); remove the link or restore the partner",
                      local_id=firm.id, remote_id=mapping.remote_id)
            return
        if not row.get("active", True):
            ctx.issue(ENTITY, "skipped", f"{firm.name}: Odoo partner {mapping.remote_id} "
                      "is archived", local_id=firm.id, remote_id=mapping.remote_id)
            return
        theirs = canon_remote(row, batch.street_names)
        if theirs == local:
            if mapping.synced_hash != digest(local) and not ctx.dry_run:
                mapping.synced_hash = digest(local)  # both moved to the same values
                mapping.remote_write_date = row.get("write_date") or None
            t.unchanged += 1
            return
        mine_changed = digest(local) != mapping.synced_hash
        theirs_changed = digest(theirs) != mapping.synced_hash
        if mine_changed and not theirs_changed:
            batch.push(firm, mapping, local)
        elif theirs_changed and not mine_changed:
            if batch.pull(firm, mapping, theirs, _phone(phone)) and not ctx.dry_run:
                mapping.remote_write_date = row.get("write_date") or None
        else:
            changed = [n for n in FIELDS if local[n] != theirs[n]]
            batch.resolve(firm, mapping, local, theirs, _phone(phone),
                          "changed on both sides since the last sync (" + ", ".join(changed)
                          + ")")
        return
    row = by_vat.get(firm.uscc)
    if row is not None and row["id"] in linked:
        ctx.issue(ENTITY, "error", f"{firm.name}: Odoo partner {row['id']} with this USCC is "
                  "already linked to another firm", local_id=firm.id, remote_id=row["id"])
        return
    if row is None:
        batch.to_create.append((firm, local))
        return
    # the same firm on both sides, never linked: link, fill the gaps, report the clashes
    linked.add(row["id"])
    theirs = canon_remote(row, batch.street_names)
    new = OdooMapping(entity=ENTITY, local_id=firm.id, remote_model=MODEL, remote_id=row["id"],
                      remote_write_date=row.get("write_date") or None)

    def link() -> None:  # recorded only once Odoo took what it had to (a refusal: next run)
        if not ctx.dry_run:
            batch.s.add(new)

    if theirs == local:
        new.synced_hash = digest(local)
        t.unchanged += 1
        link()
        return
    merged, clashes = _merge(local, theirs)
    if clashes:
        t.conflicts += 1
        ctx.issue(ENTITY, "conflict", f"{firm.name}: Qifu and Odoo partner {row['id']} differ "
                  f"in {', '.join(clashes)}" + ("; kept both as they are"
                                                if ctx.winner == "report" else
                                                f"; {ctx.winner} wins"),
                  local_id=firm.id, remote_id=row["id"])
        if ctx.winner == "report":
            link()  # no agreed values yet: the next run compares again
            return
        chosen = local if ctx.winner == "qifu" else theirs
        merged = {n: chosen[n] if n in clashes else merged[n] for n in FIELDS}
    if merged != theirs:
        batch.push(firm, new, merged)
    pulled = merged == local or batch.pull(firm, new, merged, _phone(phone))
    if not ctx.dry_run:
        # agreed only when Qifu took Odoo's values too; else the next run compares again
        new.synced_hash = digest(merged) if pulled else None
    link()


def _pull_new(sessions: sessionmaker, ctx: Context, remote: dict[int, dict], by_vat: dict,
              linked: set[int], streets: dict[int, str]) -> None:
    """Partners that are companies with a valid USCC and no firm in Qifu: register them."""
    from crm.services.registration import register_enterprise

    t = ctx.tally(ENTITY)
    with sessions() as s:
        known = set(s.scalars(select(Enterprise.uscc)))
        aliases = dict(s.execute(select(EnterpriseAlias.uscc, EnterpriseAlias.enterprise_id)
                                 .where(EnterpriseAlias.uscc.is_not(None))).all())
        street_names = set(streets.values())
        new = [row for code, row in by_vat.items()
               if code not in known and row["id"] not in linked]
        ctx.step("Odoo → firms", 0, len(new))
        for done, row in enumerate(new, start=1):
            code, values = valid_uscc(row["vat"]), canon_remote(row, street_names)
            if code in aliases:
                ctx.issue(ENTITY, "warning", f"Odoo partner {row['id']} ({values['name']}) "
                          f"carries the old USCC of firm {aliases[code]} (merged); not "
                          "imported", remote_id=row["id"])
                continue
            if ctx.dry_run:
                t.created_qifu += 1
                continue
            try:
                with s.begin_nested():
                    firm = register_enterprise(
                        s, actor=ctx.actor, uscc=code, name=values["name"],
                        street=values["street2"] or None,
                        address=values["street"] or None,
                        contact_name=CONTACT_NAME if values["phone"] else None,
                        contact_phone=values["phone"] or None)
                    local = canon_local(firm, values["phone"] or None,
                                        streets.get(firm.street_id))
                    s.add(OdooMapping(entity=ENTITY, local_id=firm.id, remote_model=MODEL,
                                      remote_id=row["id"], synced_hash=digest(local),
                                      remote_write_date=row.get("write_date") or None))
                    s.flush()
            except CrmError as err:
                ctx.issue(ENTITY, "error", f"Odoo partner {row['id']} ({values['name']}) not "
                          f"imported: {err.message or err}", remote_id=row["id"])
                continue
            t.created_qifu += 1
            if done % ctx.batch_size == 0:
                s.commit()
            ctx.step("Odoo → firms", done, len(new))
        if not ctx.dry_run:
            s.commit()
