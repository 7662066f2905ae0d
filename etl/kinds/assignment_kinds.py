"""The office and leader rows of an assignments sheet (类型 科室包企业 / 班子包楼宇).

江北城街道's method: the leadership owns buildings (班子包楼宇), offices own firms
(科室包企业), cadres serve firms one to one (干部包企业, etl.kinds.others.Assignments).
The export writes all three with a 类型 column; this reads the first two back. An
office row names the firm and the office (a unit the system knows); a leader row
names the person and the building (by name; a name two buildings share is settled
by the liaison's street, else refused). Natural keys: kind + firm/building + office
or person + start date.
"""

from __future__ import annotations

from sqlalchemy import select

from crm import rules
from crm.db import today
from crm.models import Assignment, Building
from etl.engine import Context, RowError
from etl.kinds.common import find_firm, person_id, units

COLUMNS = ("kind", "enterprise_id", "unit_id", "building_id", "person_id", "start_date",
           "end_date", "note")


def _existing(ctx: Context) -> dict:
    """Stored office and leader assignments: natural key -> (id, {column: value})."""
    if "other_assignments" not in ctx.cache:
        t = Assignment.__table__
        table = {}
        for row in ctx.session.execute(select(t.c.id, *[t.c[c] for c in COLUMNS])
                                       .where(t.c.kind != "cadre_enterprise")).mappings():
            values = dict(row)
            table[_key(values)] = (values.pop("id"), values)
        ctx.cache["other_assignments"] = table
    return ctx.cache["other_assignments"]


def _key(v: dict) -> tuple:
    if v["kind"] == "office_enterprise":
        return ("office_enterprise", v["enterprise_id"], v["unit_id"], v["start_date"])
    return ("leader_building", v["building_id"], v["person_id"], v["start_date"])


def _building(ctx: Context, name: str) -> tuple[int, int]:
    """(building id, street id) of the building of that name (in the liaison's street)."""
    if "buildings" not in ctx.cache:
        found: dict[str, list] = {}
        for bid, bname, sid in ctx.session.execute(
                select(Building.id, Building.name, Building.street_id)):
            found.setdefault(bname, []).append((bid, sid))
        ctx.cache["buildings"] = found
    hits = ctx.cache["buildings"].get(name, [])
    scope = ctx.scope_street
    if scope is not None:
        if hits and not [h for h in hits if h[1] == scope]:
            raise RowError("building", "etl.other_street")
        hits = [h for h in hits if h[1] == scope]
    if not hits:
        raise RowError("building", "etl.building_unknown", name=name)
    if len(hits) > 1:
        raise RowError("building", "etl.building_ambiguous", name=name)
    return hits[0]


def required(ctx: Context, rec: dict, *fields: str) -> None:
    """Refuse a row lacking what its kind needs ("firm": a USCC or a firm name)."""
    header = ctx.cache["headers"]
    for fld in fields:
        if fld == "firm" and not (rec.get("uscc") or rec.get("firm_name")):
            given = [f for f in ("uscc", "firm_name") if header(f) != f] or ["uscc"]
            raise RowError(given[0], "etl.required",
                           column="/".join(header(f) for f in given))
        if fld != "firm" and not rec.get(fld):
            raise RowError(fld, "etl.required", column=header(fld))


def plan(ctx: Context, rec: dict, row: int, kind: str) -> None:
    """Plan an office (科室包企业) or leader (班子包楼宇) assignment row."""
    start, end = rec["start_date"], rec.get("end_date")
    check_dates(start, end)
    values: dict = {"kind": kind, "start_date": start}
    if kind == "office_enterprise":
        required(ctx, rec, "firm", "unit")
        values["enterprise_id"], _ = find_firm(ctx, rec)
        uid = units(ctx).get(rec["unit"])
        if uid is None:
            raise RowError("unit", "etl.unit_unknown", name=rec["unit"])
        values["unit_id"] = uid
    else:
        required(ctx, rec, "cadre", "building")
        values["building_id"], street = _building(ctx, rec["building"])
        values["person_id"] = person_id(ctx, rec["cadre"], street, "cadre")
    existing = _existing(ctx)
    upsert(ctx, _key(values), values, rec, end, row, existing)


def check_dates(start, end) -> None:
    """crm.rules' assignment dates, refused on the row's column as the app refuses them."""
    problem = rules.assignment_dates_problem(start, end, today())
    if problem == "future_start":
        raise RowError("start_date", "etl.future_date")
    if problem == "end_before_start":
        raise RowError("end_date", "etl.end_before_start")


def upsert(ctx: Context, key, values: dict, rec: dict, end, row: int, existing: dict) -> None:
    """The end date, note and author every assignment row carries, then the upsert."""
    if "end_date" in rec or key in existing:
        values["end_date"] = end
    if "note" in rec:
        values["note"] = rec["note"]
    if ctx.actor is not None and key not in existing:
        values["created_by_id"] = ctx.actor.id
    ctx.upsert(Assignment.__table__, key, values, row, existing.get(key))
