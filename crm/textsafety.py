"""Cells that leave the system as files: never a formula, never a character a file refuses.

OWASP "CSV injection": a spreadsheet program runs a cell that starts with `=`, `+`,
`-` or `@` (or a tab or carriage return before one) as a formula, so a firm named
`=HYPERLINK("http://…","点此")` in an export becomes a live link, or worse, on the
desk of whoever opens it. Every writer of CSV and xlsx (etl/export.py,
etl/bulletin.py, etl/jobfair_report.py, crm/services/tabular.py) passes each cell
through `neutralise`: such text gets a leading single quote, which Excel and
LibreOffice show as text. Numbers stay numbers (-5 is written as -5), and so does
text that is a plain number ("-5", "+12.5"): no formula can hide in one. A text cell
that already starts with a quote before one of those characters gets a second quote,
so `unneutralise` (what the importer does to every cell it reads) gives back exactly
what was exported: export → import reports every row unchanged.

The control characters XML 1.0 forbids (every C0 character but tab, line feed and
carriage return) are dropped too: openpyxl refuses them (IllegalCharacterError) and
PostgreSQL refuses NUL. The importer removes them from what it reads (etl/readers.py)
so none is stored; this catches anything typed in by other doors.

`writer` marks each function that writes the cells of a file (calls csv.writer,
openpyxl's Workbook or pandas' to_csv/to_excel); tests/etl/test_formula_injection.py
finds every such function by reading the code, fails on one not marked, feeds each
marked one hostile cells and checks no cell of the result is a formula, and follows
every download button of the app to one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# XML 1.0 (and so xlsx) refuses these; openpyxl's ILLEGAL_CHARACTERS_RE is the same set.
CONTROL_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f"
CONTROL_RE = re.compile(f"[{CONTROL_CHARS}]")
# The same class for Arrow's RE2 (escapes, not raw NULs, in the pattern text).
CONTROL_RE2 = "[" + CONTROL_CHARS.encode("unicode_escape").decode() + "]"
# The importer's inverse: one quote before a formula start (or before another quote).
QUOTED_RE2 = r"^'([=+\-@\t\r'])"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

WRITERS: dict[str, Callable] = {}


LIKE_ESCAPE = "\\"


def like_contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its % and _ (and the escape character)
    taken literally: use with `.like(pattern, escape=LIKE_ESCAPE)`. A user searching
    for "100%" or "A_B" means those characters, not wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def writer(fn: Callable) -> Callable:
    """Mark a function that writes a CSV or xlsx file for people to open (see module)."""
    WRITERS[f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def neutralise(value: Any) -> Any:
    """A cell safe to write: formula-like text quoted, forbidden characters dropped;
    anything that is not text (numbers, dates, None) as it is."""
    if not isinstance(value, str):
        return value
    if CONTROL_RE.search(value):
        value = CONTROL_RE.sub("", value)
    if not value:
        return value
    first = value[0]
    if first in FORMULA_START:
        return value if _PLAIN_NUMBER.fullmatch(value) else QUOTE + value
    if first == QUOTE and len(value) > 1 and (value[1] in FORMULA_START or value[1] == QUOTE):
        return QUOTE + value
    return value


def neutralise_row(row) -> list:
    return [neutralise(v) for v in row]


def unneutralise(value: Any) -> Any:
    """What `neutralise` quoted, unquoted (the importer's side, for one value)."""
    if (isinstance(value, str) and len(value) > 1 and value[0] == QUOTE
            and (value[1] in FORMULA_START or value[1] == QUOTE)):
        return value[1:]
    return value


def is_formula_like(value: Any) -> bool:
    """True for a cell a spreadsheet program would evaluate (for tests and checks)."""
    return (isinstance(value, str) and value[:1] in FORMULA_START
            and not _PLAIN_NUMBER.fullmatch(value))

