"""Lookups every kind shares: streets, categories, units, firms, people."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import func, select

from crm import rules
from crm.models import Category, Enterprise, EnterpriseAlias, Person, Street, Unit
from crm.services.lookup import street_key
from etl import clean
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


# how a row names its firm, in every kind that names one (find_firm reads them)
FIRM_FIELDS = {"uscc": clean.uscc, "firm_name": clean.limited(rules.limit("enterprise", "name"))}
FIRM_CACHED = frozenset({"uscc", "firm_name"})


def stored_rows(ctx: Context, name: str, stmt, key) -> dict:
    """Existing rows of a table, loaded once per import: natural key -> (id, {column: value})."""
    if name not in ctx.cache:
        table = {}
        for row in ctx.session.execute(stmt).mappings():
            values = dict(row)
            rid = values.pop("id")
            table[key(values)] = (rid, values)
        ctx.cache[name] = table
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
    """{name: [(person id, street id)]} of active people; their kinds go to
    ctx.cache["person_kinds"]."""
    if "people" not in ctx.cache:
        table: dict[str, list] = {}
        kinds = ctx.cache["person_kinds"] = {}
        for pid, name, sid, kind in ctx.session.execute(
                select(Person.id, Person.name, Person.street_id, Person.kind)
                .where(Person.active)):
            table.setdefault(name, []).append((pid, sid))
            kinds[pid] = kind
        ctx.cache["people"] = table
    return ctx.cache["people"]


def person_street(ctx: Context, pid: int) -> int | None:
    """The street of an active person (people() must have been loaded)."""
    if "person_street" not in ctx.cache:
        ctx.cache["person_street"] = {p: s for found in people(ctx).values() for p, s in found}
    return ctx.cache["person_street"].get(pid)


def person_id(ctx: Context, name: str, street_id: int | None, fld: str) -> int:
    """The cadre by name; a name two people share is settled by the firm's street. Only
    people who may serve a firm count (crm.rules.may_serve): a handler is refused."""
    found = people(ctx).get(name, [])
    if found:
        kinds = ctx.cache["person_kinds"]
        found = [p for p in found if rules.may_serve(kinds[p[0]])]
        if not found:
            raise RowError(fld, "rules.not_serving", name=name)
    if len(found) > 1:
        found = [p for p in found if p[1] == street_id] or found
    if not found:
        raise RowError(fld, "etl.person_unknown", name=name)
    if len(found) > 1:
        raise RowError(fld, "etl.person_ambiguous", name=name)
    return found[0][0]


class _Letters(dict):
    """{code point: the letters of that character alone}, filled as characters come, for
    str.translate."""

    def __init__(self, reference: Callable[[str], str]) -> None:
        super().__init__()
        self.reference = reference

    def __missing__(self, code: int) -> str:
        found = self[code] = self.reference(chr(code))
        return found


class _Initials:
    """Pinyin initials of firm names, fast and identical to crm.services.firm_search.initials
    (pypinyin's lazy_pinyin in FIRST_LETTER style, upper-cased, ASCII letters and digits
    kept), which stays the rule; tests compare the two on generated and real names.

    pypinyin reads a name by splitting it into runs of Chinese characters and other text,
    cutting each run into words (its forward longest match over the phrase dictionary,
    pypinyin.seg.mmseg) and reading a word in the dictionary as a phrase, any other
    character alone. So:

    * A character whose first letter is the same in every phrase it belongs to as alone
      ("stable": most are) gives that letter however the run is cut. A name made of such
      characters only is read character by character, from a table.
    * In a run with an unstable character (重 is chong in 重庆, zhong alone: a few
      hundred such characters), the words are cut exactly as pypinyin cuts them, by the
      same steps on the same prefix set, up to the word holding the last unstable
      character; from there on the characters are read alone. A phrase's letters are
      looked up once.
    """

    def __init__(self) -> None:
        from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
        from pypinyin.seg import mmseg
        from pypinyin.style import convert

        from crm.services.firm_search import initials as reference

        self.reference = reference
        self.phrases = PHRASES_DICT
        self.prefixes = mmseg.seg._prefix_set._set  # what pypinyin's own cut looks up
        self.table = _Letters(reference)             # code point -> its letters alone
        self.words: dict[str, str] = {}              # phrase -> its letters
        han = RE_HANS.pattern.removeprefix("^(?:").removesuffix(")+$")
        self.han_runs = re.compile(f"({han}+)")
        self.other = re.compile(f"[^{han[1:-1]}]")

        letters: dict[str, str] = {}

        def letter(reading: str) -> str:
            found = letters.get(reading)
            if found is None:
                found = letters[reading] = convert(reading, Style.FIRST_LETTER, strict=True)
            return found

        from pypinyin import Style

        alone = {}
        unstable = set()
        for phrase, readings in PHRASES_DICT.items():
            for ch, reading in zip(phrase, readings, strict=False):
                own = alone.get(ch)
                if own is None:
                    code = PINYIN_DICT.get(ord(ch))
                    own = alone[ch] = letter(code.split(",")[0]) if code else ""
                if letter(reading[0]) != own:
                    unstable.add(ch)
            if len(phrase) != len(readings):  # never in pypinyin's data; kept safe
                unstable.update(phrase)
        self.unstable = frozenset(unstable)

    def __call__(self, name: str) -> str:
        table, unstable = self.table, self.unstable
        if unstable.isdisjoint(name):
            return name.translate(table)
        if self.other.search(name) is None:  # Chinese characters only
            return self.run(name)
        parts = self.han_runs.split(name)  # other text, a run, other text, a run …
        return "".join([self.run(part) if k % 2 and not unstable.isdisjoint(part)
                        else part.translate(table) for k, part in enumerate(parts)])

    def run(self, text: str) -> str:
        """The letters of a run of Chinese characters holding an unstable one, cut as
        pypinyin.seg.mmseg cuts it up to the word holding the last unstable character:
        from each position the longest phrase all of whose prefixes are in the prefix
        set, else one character (a tail that is all prefix and starts no phrase: one
        character at a time). Past that word, every character reads as it does alone."""
        prefixes, phrases, words = self.prefixes, self.phrases, self.words
        n = len(text)
        last_unstable = max(map(text.rfind, self.unstable.intersection(text)))
        out = []
        i = 0
        while i <= last_unstable:
            j, last = i + 1, 0
            while j <= n and text[i:j] in prefixes:
                if text[i:j] in phrases:
                    last = j
                j += 1
            if last:
                word = text[i:last]
                letters = words.get(word)
                if letters is None:
                    letters = words[word] = self.reference(word)
                out.append(letters)
                i = last
            elif j > n:
                break
            else:
                out.append(text[i].translate(self.table))
                i += 1
        out.append(text[i:].translate(self.table))
        return "".join(out)


@lru_cache(maxsize=1)
def _initials() -> _Initials:
    return _Initials()


def initials(name: str) -> str:
    """The pinyin initials stored with a firm (name_initials): crm.services.firm_search's
    `initials`, many times faster on rosters (see _Initials)."""
    return _initials()(name or "")
