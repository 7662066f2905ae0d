"""Finding the header row below title lines, and mapping its columns to fields.

Street sheets put a merged title and a 填报单位/填报日期 line above the header,
so the header is the row among the first rows that names the most known
columns. Column names are matched through the synonyms kept as data in
etl/synonyms.json; a mapping a user fixed by hand (HeaderMapping) wins.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SYNONYMS_FILE = Path(__file__).with_name("synonyms.json")
SCAN_ROWS = 30
_NOTE = re.compile(r"[（(\[【][^）)\]】]*[）)\]】]")
_MARKS = re.compile(r"[\s*＊:：]+")


@cache
def synonyms() -> dict:
    return json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))


def kinds() -> list[str]:
    return list(synonyms()["headers"])


def fields_of(kind: str) -> dict[str, list[str]]:
    return synonyms()["headers"][kind]


def canonical_headers(kind: str) -> dict[str, str]:
    """field -> the header exports and templates write (the first synonym)."""
    return {f: names[0] for f, names in fields_of(kind).items()}


def field_label(kind: str, field: str, lang: str = "zh") -> str:
    """A field in words: in Chinese the kind's own header (what the template writes), in
    English the catalogue's `import_field.<field>`; a group "a/b" labels each part."""
    from crm.i18n import MESSAGES, t

    if "/" in field:
        return "/".join(field_label(kind, part, lang) for part in field.split("/"))
    if lang == "zh":
        return canonical_headers(kind).get(field) or t(f"import_field.{field}", lang)
    key = f"import_field.{field}"
    return t(key, lang) if key in MESSAGES else field


def norm_header(raw: object) -> str:
    """'统一社会信用代码*' / ' 统一社会 信用代码 ' / 'ＵＳＣＣ' all compare equal."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw)).lower()
    return _MARKS.sub("", text)


@cache
def _lookup(kind: str) -> dict[str, str]:
    """Normalised header (with and without its bracketed note) -> field."""
    table: dict[str, str] = {}
    for fld, names in fields_of(kind).items():
        for name in names:
            for key in (norm_header(name), norm_header(_NOTE.sub("", name))):
                table.setdefault(key, fld)
    return table


def match_header(kind: str, raw: object) -> str | None:
    key = norm_header(raw)
    if not key:
        return None
    table = _lookup(kind)
    return table.get(key) or table.get(_NOTE.sub("", key))


def header_unit(raw: object) -> str | None:
    """'元' or '万元' when the header names the unit of its amounts: 金额（元）."""
    text = norm_header(raw)
    notes = "".join(_NOTE.findall(text))
    if "万元" in notes or "万" in notes:
        return "万元"
    if "元" in notes:
        return "元"
    return None


@dataclass
class Column:
    index: int
    header: str           # as written in the file
    field: str | None     # None: not imported
    remembered: bool = False  # the field came from a mapping a user saved


@dataclass
class Mapping:
    header_row: int                  # 0-based index of the header row among the rows read
    columns: list[Column] = field(default_factory=list)

    @property
    def fields(self) -> dict[str, int]:
        key = tuple((c.field, c.index) for c in self.columns)
        if getattr(self, "_key", None) != key:
            self._key, self._fields = key, {c.field: c.index for c in self.columns if c.field}
        return self._fields

    @property
    def unmapped(self) -> list[str]:
        return [c.header for c in self.columns if not c.field and c.header]

    def header_of(self, fld: str) -> str:
        for c in self.columns:
            if c.field == fld:
                return c.header
        return fld


def _score(kind: str, row: list) -> int:
    return len({f for f in (match_header(kind, cell) for cell in row) if f})


def detect_header(kind: str, rows: list[list], *,
                  remembered: dict[str, str | None] | None = None) -> Mapping | None:
    """The mapping of the best header row among `rows` (the first SCAN_ROWS), or None.

    A row is a header when it names at least two known fields (or one, in a
    one-column file); ties go to the upper row. `remembered` (normalised source
    header -> field or None) overrides the synonyms.
    """
    remembered = remembered or {}
    best, best_score = None, 0
    for i, row in enumerate(rows[:SCAN_ROWS]):
        score = _score(kind, row) + sum(1 for c in row if norm_header(c) in remembered)
        if score > best_score:
            best, best_score = i, score
    if best is None:
        return None
    cells = [c for c in rows[best] if str(c or "").strip()]
    if best_score < 2 and len(cells) > 1:
        return None
    return map_columns(kind, rows[best], best, remembered=remembered)


def map_columns(kind: str, header: list, header_row: int, *,
                remembered: dict[str, str | None] | None = None,
                overrides: dict[str, str | None] | None = None) -> Mapping:
    """Map each header cell to a field; a field already taken leaves later columns unmapped."""
    remembered = {**(remembered or {}), **{norm_header(k): v for k, v in
                                            (overrides or {}).items()}}
    known = fields_of(kind)
    mapping = Mapping(header_row=header_row)
    taken: set[str] = set()
    for i, cell in enumerate(header):
        text = "" if cell is None else " ".join(str(cell).split())
        key = norm_header(cell)
        if key in remembered:
            fld, saved = remembered[key], True
        else:
            fld, saved = match_header(kind, cell), False
        if fld not in known or fld in taken:
            fld = None
        if fld:
            taken.add(fld)
        mapping.columns.append(Column(i, text, fld, saved))
    return mapping
