"""Lookups every kind shares: streets, categories, units, firms, people."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import func, select

from crm.models import Category, Enterprise, EnterpriseAlias, Person, Street, Unit
from crm.services.lookup import street_key
from etl.clean import Bad, text
from etl.engine import Context, RowError
from etl.headers import synonyms


def words(name: str) -> dict[str, list[str]]:
    return synonyms()["values"][name]


def streets(ctx: Context) -> dict:
    """{'by_key': {short/full name: id}, 'names': {id: name}, 'pattern': regex for addresses}."""
    if "streets" not in ctx.cache:
        rows = ctx.session.execute(select(Street.id, Street.name, Street.short_name,
                                          Street.kind)).all()
        by_key = {}
        spoken = {}
        for sid, name, short, kind in rows:
            by_key[name] = by_key[short] = sid
            for form in (name, f"{short}街道", f"{short}镇" if kind == "town" else None,
                         f"{short}街道办事处"):
                if form:
                    spoken[form] = sid
        pattern = re.compile("|".join(sorted(map(re.escape, spoken), key=len, reverse=True))) \
            if spoken else None
        shorts = {short: sid for sid, _, short, _ in rows if short}
        spoken.update({short: sid for short, sid in shorts.items() if short not in spoken})
        short = re.compile("|".join(sorted(map(re.escape, shorts), key=len, reverse=True))) \
            if shorts else None
        ctx.cache["streets"] = {"by_key": by_key, "names": {r[0]: r[1] for r in rows},
                                "spoken": spoken, "pattern": pattern, "short": short}
    return ctx.cache["streets"]


def street_cleaner(ctx: Context) -> Callable[[object], int]:
    table = streets(ctx)["by_key"]

    def fn(raw: object) -> int:
        name = text(raw) or ""
        sid = table.get(name) or table.get(street_key(name))
        if sid is None:
            raise Bad("etl.unknown_street", value=name)
        return sid

    return fn


def street_from_address(ctx: Context, address: str | None) -> int | None:
    """The street or town an address names, else None.

    A full form anywhere wins (…观音桥街道…, …鱼嘴镇…, …大石坝街道办事处…). Else a short
    form (…江北区观音桥建新北路…, …五里店17号…): the leftmost one, the longest at that
    place. An address goes from the larger place to the smaller, so in 石马河乡大石坝村 the
    first name is the street's and 大石坝 (a village there) is not; and a short form after
    another district or county (九龙坡区白市驿镇五里店, 南岸区大石坝, 大渡口区…钓鱼嘴) is a
    place of that name elsewhere, not a street here. Over the 1,395 Jiangbei registry
    addresses: 69 name a street in full, 174 more by a short form only (and none of the
    15 short-form look-alikes among the other districts' 21,129 is taken).
    """
    s = streets(ctx)
    if not address or s["pattern"] is None:
        return None
    m = s["pattern"].search(address)
    if m is None and s["short"] is not None:
        m = s["short"].search(address)
        if m and _OTHER_PLACE.search(address[:m.start()].replace(_DISTRICT, "")):
            return None
    return s["spoken"][m.group(0)] if m else None


_DISTRICT = "江北区"
_OTHER_PLACE = re.compile("[区县]")  # before a short form (once 江北区 is taken out)


SCAN_AT = 5000  # keys; fewer are looked up, however big the table


def table_rows(ctx: Context, table) -> int:
    """How many rows `table` holds, counted once per import (a million appeals: tens of
    milliseconds; the largest id would overstate PostgreSQL's, whose sequence is taken
    in blocks)."""
    name = f"rows:{table.name}"
    if name not in ctx.cache:
        ctx.cache[name] = ctx.session.execute(
            select(func.count()).select_from(table)).scalar() or 0
    return ctx.cache[name]


def stored_keys(ctx: Context, column, candidates) -> set:
    """Which of `candidates` a unique column already holds, so rows are fetched only for
    keys that exist (a first import of 100,000 rows then costs no row lookups).

    A file naming many keys, a good share of the table, reads the whole column once;
    a small file against a big table (a street's 30 rows, a district's million
    appeals) looks its keys up, 900 at a time. Answers are remembered for the import.
    """
    state = ctx.cache.setdefault(f"keys:{column.table.name}.{column.name}",
                                 {"all": None, "checked": set(), "found": set()})
    wanted = {c for c in candidates if c is not None}
    if state["all"] is None:
        todo = wanted - state["checked"]
        if len(todo) > SCAN_AT and 4 * len(todo) > table_rows(ctx, column.table):
            state["all"] = set(ctx.session.execute(select(column)).scalars())
        else:
            ordered = sorted(todo)
            for i in range(0, len(ordered), 900):
                state["found"].update(ctx.session.execute(
                    select(column).where(column.in_(ordered[i:i + 900]))).scalars())
            state["checked"] |= todo
    known = state["all"] if state["all"] is not None else state["found"]
    return wanted & known


def firms(ctx: Context) -> tuple[dict, dict]:
    """({uscc: (id, name, street_id)}, {name: (id, uscc, street_id)}) of every firm on file,
    and of the names and codes of firms merged into one (EnterpriseAlias) to that one."""
    if "firms" not in ctx.cache:
        by_code, by_name = {}, {}
        for fid, code, name, sid in ctx.session.execute(
                select(Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.street_id)):
            by_code[code] = (fid, name, sid)
            by_name[name] = (fid, code, sid)
        for fid, alias_code, alias_name, code, name, sid in ctx.session.execute(
                select(EnterpriseAlias.enterprise_id, EnterpriseAlias.uscc, EnterpriseAlias.name,
                       Enterprise.uscc, Enterprise.name, Enterprise.street_id)
                .join(Enterprise, Enterprise.id == EnterpriseAlias.enterprise_id)):
            if alias_code:
                by_code.setdefault(alias_code, (fid, name, sid))
            if alias_name:
                by_name.setdefault(alias_name, (fid, code, sid))
        ctx.cache["firms"] = (by_code, by_name)
    return ctx.cache["firms"]


def find_firm(ctx: Context, rec: dict) -> tuple[int, int | None]:
    """(firm id, street id) named by the row's USCC, name, or both (which must agree)."""
    by_code, by_name = firms(ctx)
    code, name = rec.get("uscc"), rec.get("firm_name")
    hit_code = by_code.get(code) if code else None
    hit_name = by_name.get(name) if name else None
    if code and hit_code is None:
        raise RowError("uscc", "etl.firm_unknown_uscc", uscc=code)
    if name and hit_name is None and hit_code is None:
        raise RowError("firm_name", "etl.firm_unknown_name", name=name)
    if hit_code and hit_name and hit_code[0] != hit_name[0]:
        raise RowError("firm_name", "etl.firm_mismatch", name=name, uscc=code,
                       other=hit_code[1])
    fid, _, sid = hit_code or hit_name
    scope = ctx.scope_street
    if scope is not None and sid != scope:
        raise RowError("uscc" if code else "firm_name", "etl.other_street")
    return fid, sid


def categories(ctx: Context) -> dict[str, tuple[int, int, bool]]:
    """{name: (id, limit_days, working_days)}."""
    if "categories" not in ctx.cache:
        ctx.cache["categories"] = {
            name: (cid, limit, working) for cid, name, limit, working in ctx.session.execute(
                select(Category.id, Category.name, Category.limit_days, Category.working_days))}
    return ctx.cache["categories"]


def units(ctx: Context) -> dict[str, int]:
    """{name: id}; a unit merged into another resolves to the one it was merged into."""
    if "units" not in ctx.cache:
        rows = ctx.session.execute(select(Unit.id, Unit.name, Unit.merged_into_id)).all()
        ctx.cache["units"] = {name: merged or uid for uid, name, merged in rows}
    return ctx.cache["units"]


def unit_id(ctx: Context, name: str, row: int, fld: str) -> int:
    """The unit's id; a unit the system does not know is created unconfirmed, with a note."""
    table = units(ctx)
    uid = table.get(name)
    if uid is None:
        if len(name) > 60:
            raise RowError(fld, "etl.too_long", limit=60, length=len(name))
        uid = table[name] = ctx.add(Unit.__table__, {"name": name, "kind": "department",
                                                     "confirmed": False, "active": True}, row)
        ctx.warn(fld, "etl.new_unit", name=name)
    return uid


def people(ctx: Context) -> dict[str, list[tuple[int, int | None]]]:
    """{name: [(person id, street id)]} of active people."""
    if "people" not in ctx.cache:
        table: dict[str, list] = {}
        for pid, name, sid in ctx.session.execute(
                select(Person.id, Person.name, Person.street_id).where(Person.active)):
            table.setdefault(name, []).append((pid, sid))
        ctx.cache["people"] = table
    return ctx.cache["people"]


def person_street(ctx: Context, pid: int) -> int | None:
    """The street of an active person (people() must have been loaded)."""
    if "person_street" not in ctx.cache:
        ctx.cache["person_street"] = {p: s for found in people(ctx).values() for p, s in found}
    return ctx.cache["person_street"].get(pid)


def person_id(ctx: Context, name: str, street_id: int | None, fld: str) -> int:
    """The cadre by name; a name two people share is settled by the firm's street."""
    found = people(ctx).get(name, [])
    if len(found) > 1:
        found = [p for p in found if p[1] == street_id] or found
    if not found:
        raise RowError(fld, "etl.person_unknown", name=name)
    if len(found) > 1:
        raise RowError(fld, "etl.person_ambiguous", name=name)
    return found[0][0]


@lru_cache(maxsize=200_000)
def _word_initials(word: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(word, style=Style.FIRST_LETTER)).upper()


def initials(name: str) -> str:
    """crm.services.firm_search.initials, 4× faster on rosters: pypinyin's own
    segmentation, with each segment's letters cached (有限公司 recurs in every name).
    Identical output on all 22,495 names of the Chongqing registry (tests check a sample)."""
    from pypinyin.seg.simpleseg import seg

    letters = "".join(_word_initials(word) for word in seg(name or ""))
    return "".join(ch for ch in letters if ch.isascii() and ch.isalnum())
