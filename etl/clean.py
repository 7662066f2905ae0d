"""Turning what people type into Excel into the values the database keeps.

Each cleaner takes one raw cell (str, int, float, bool, date, datetime from the
reader) and returns the clean value, or a `Warned` value (kept, with a note
for the user), or raises `Bad` with a message key (the row is rejected and
the user is told why). Blank cells never reach a cleaner.

Cleaners are pure and most results depend only on the raw value, so a column
is cleaned through a cache: a 100,000-row ledger has a few hundred distinct
categories, units, statuses and date strings.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import numpy as np

from crm import rules
from crm import uscc as uscc_mod


class Bad(Exception):
    """A cell that cannot be used: `key` is an i18n message key, `params` its arguments."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


class Warned:
    """A clean value with a note the user should see (the row is kept)."""

    __slots__ = ("key", "params", "value")

    def __init__(self, kept: object, key: str, **params: object) -> None:
        self.value, self.key, self.params = kept, key, params


# --- text --------------------------------------------------------------------------------

# Full-width ASCII (Ａ１，) and the ideographic space become half-width; Chinese
# punctuation such as （） stays, because firm names are written with it.
_WIDE = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}
_WIDE.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})
_WIDE.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})
_WIDE.update({0x3000: 0x20, 0xA0: 0x20, 0x200B: None, 0xFEFF: None})


def as_text(raw: object) -> str:
    """A cell as text: 13812345678.0 (a number cell) -> '13812345678'."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.isoformat(sep=" ")
    return str(raw)


_NEEDS_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\xa0\u200b\ufeff]")


def text(raw: object) -> str | None:
    """One line: full-width letters/digits made half-width, runs of whitespace one space."""
    s = as_text(raw)
    if _NEEDS_WIDE.search(s):  # a C scan; translate() walks a dict per character
        s = s.translate(_WIDE)
    s = " ".join(s.split())
    return s or None


def long_text(raw: object) -> str | None:
    """Free text keeps its line breaks; each line is trimmed, blank lines go."""
    s = as_text(raw)
    if "\n" not in s and "\r" not in s:
        return text(s)
    if _NEEDS_WIDE.search(s):
        s = s.translate(_WIDE)
    lines = (" ".join(line.split()) for line in s.splitlines())
    s = "\n".join(line for line in lines if line)
    return s or None


def _detached(err: Bad) -> Bad:
    """The error without its traceback and the exception it replaced (see each())."""
    err.__context__ = err.__cause__ = None
    return err.with_traceback(None)


def each(fn: Callable, values: list) -> list:
    """fn over the values, a `Bad` in place of each value it refuses.

    A kept `Bad` loses its traceback and context: through their frames it would hold the
    whole import's rows in a reference cycle, left for the garbage collector (~1 s
    for 100,000 rows).
    """
    out = []
    append = out.append
    for raw in values:
        try:
            append(fn(raw))
        except Bad as err:
            append(_detached(err))
    return out


def batch(fn: Callable, values: list) -> list:
    """A column's distinct non-blank values cleaned at once: fn.batch when the cleaner has
    a column-wise fast path (identical results), else fn one value at a time."""
    fast = getattr(fn, "batch", None)
    return fast(values) if fast is not None else each(fn, values)


# A column is already clean text when, joined by NUL, it has no whitespace other than
# single inner spaces (a value's edges sit next to a NUL or the ends) and nothing wide.
# One character class (a plain scan in C): whitespace other than " " (what str.split()
# splits on, all below U+3001) and what text() makes half-width or deletes.
_ODD_CHARS = re.compile("[" + "".join(
    re.escape(chr(c)) for c in range(0x3001) if chr(c).isspace() and c != 0x20)
    + "\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u200b\ufeff]")


def _clean_texts(values: list) -> bool:
    """True when text() (and long_text()) would return every value unchanged."""
    if not all(v.__class__ is str for v in values):
        return False
    joined = "\x00".join(values)
    return (all(values) and "  " not in joined and " \x00" not in joined
            and "\x00 " not in joined and joined[:1] != " " and joined[-1:] != " "
            and not _ODD_CHARS.search(joined))


def limited(limit: int, multiline: bool = False) -> Callable[[object], str | None]:
    clean = long_text if multiline else text

    def fn(raw: object) -> str | None:
        s = clean(raw)
        if s is not None and len(s) > limit:
            raise Bad("etl.too_long", limit=limit, length=len(s))
        return s

    def column(values: list) -> list:
        if values and _clean_texts(values) and max(map(len, values)) <= limit:
            return list(values)
        return each(fn, values)

    fn.batch = column
    return fn


def uscc(raw: object) -> str:
    try:
        return uscc_mod.validate(as_text(raw))
    except uscc_mod.InvalidUSCC as err:
        raise Bad("etl.bad_uscc", reason=err.reason, reason_en=err.reason_en) from None


def _uscc_column(values: list) -> list:
    """Codes already in stored form and valid pass as they are (checked column-wise);
    the rest go through uscc() one by one."""
    valid = uscc_mod.valid_mask(values)
    if valid.all():
        return list(values)
    out = list(values)
    rest = np.flatnonzero(~valid).tolist()
    for i, cleaned in zip(rest, each(uscc, [values[i] for i in rest]), strict=True):
        out[i] = cleaned
    return out


uscc.batch = _uscc_column


# --- dates -------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                  r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?"
                  r"(?:\.\d+)?\s*秒?)?")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"
                 r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
MIN_YEAR, MAX_YEAR = 1949, 2100


def _checked(year: int, month: int, day: int, hour=0, minute=0, second=0) -> dt.datetime:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Bad("etl.bad_date")
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise Bad("etl.bad_date") from None


def _serial(number: float) -> dt.datetime:
    if not 1 <= number < 80000:  # 1900-01-01 .. 2118
        raise Bad("etl.bad_date")
    moment = _EXCEL_EPOCH + dt.timedelta(days=number)
    return moment.replace(microsecond=0)


def moment(raw: object) -> dt.datetime:
    """A date/time in any form streets write: a date cell, an Excel serial (44621),
    2022年3月1日, 2022.3.1, 2022/03/01, 2022-3-1, 20220301, 2020/1/6 12:09:38,
    and the US form of 311 exports, 05/01/2022 12:05:10 AM."""
    if isinstance(raw, dt.datetime):
        return raw.replace(microsecond=0, tzinfo=None)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day)
    if isinstance(raw, bool):
        raise Bad("etl.bad_date")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and math.isnan(raw):
            raise Bad("etl.bad_date")
        if 19000101 <= raw <= 21001231 and float(raw).is_integer():
            m = _COMPACT.fullmatch(str(int(raw)))
            return _checked(int(m[1]), int(m[2]), int(m[3]))
        return _serial(float(raw))
    s = text(raw) or ""
    m = _YMD.fullmatch(s)
    if m:
        return _checked(*(int(g) if g else 0 for g in m.groups()))
    m = _US.fullmatch(s)
    if m:
        month, day, year, hour, minute, second, ampm = m.groups()
        h = int(hour or 0)
        if ampm:
            h = h % 12 + (12 if ampm.lower() == "pm" else 0)
        return _checked(int(year), int(month), int(day), h, int(minute or 0), int(second or 0))
    m = _COMPACT.fullmatch(s)
    if m:
        return _checked(int(m[1]), int(m[2]), int(m[3]))
    try:
        number = float(s)
    except ValueError:
        raise Bad("etl.bad_date") from None
    return _serial(number)


# How the reader writes a date cell ("2024-01-02 08:30:00", ".123" when it has
# milliseconds), and the plain ISO date: datetime.fromisoformat reads these in C,
# with the result moment() gives (fraction of a second dropped).
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)?")


def _moments(values: list) -> list:
    """moment() over a column: whole-second naive datetime cells are already clean, and
    the reader's text for a date cell is parsed in C."""
    cls = dt.datetime
    iso = _ISO.fullmatch
    parse = cls.fromisoformat
    out = []
    append = out.append
    for v in values:
        if v.__class__ is str and iso(v):
            try:
                value = parse(v)
            except ValueError:  # 2024-02-30: moment() says why
                append(_one(moment, v))
                continue
            if MIN_YEAR <= value.year <= MAX_YEAR:
                append(value.replace(microsecond=0) if value.microsecond else value)
            else:
                append(_one(moment, v))
        elif v.__class__ is cls and not v.microsecond and v.tzinfo is None:
            append(v)
        else:
            append(_one(moment, v))
    return out


def _one(fn: Callable, raw: object) -> object:
    try:
        return fn(raw)
    except Bad as err:
        return _detached(err)


moment.batch = _moments


def date(raw: object) -> dt.date:
    return moment(raw).date()


# --- numbers -----------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_APPROX = ("余", "多", "约", "左右", "近", "超", "以上", "大约", "上下")
_FOREIGN = ("美元", "港元", "港币", "欧元", "日元", "英镑", "usd", "hkd", "eur")
_CENT = Decimal("0.01")


def _number_text(raw: object) -> str:
    s = unicodedata.normalize("NFKC", as_text(raw)).lower()
    for junk in (",", " ", "人民币", "rmb", "cny", "¥", "￥"):
        s = s.replace(junk, "")
    return s


def amount(unit: str = "万元") -> Callable[[object], tuple[Decimal, bool]]:
    """(amount in 万元, approximate?) from 100万元, 1,000,000, 100余万元, 约50万, 1.2亿.

    A bare number is in the column's unit (the header's （元）/（万元）, else 万元).
    """
    def fn(raw: object) -> tuple[Decimal, bool]:
        if isinstance(raw, bool):
            raise Bad("etl.bad_amount")
        if isinstance(raw, int | float):
            if isinstance(raw, float) and math.isnan(raw):
                raise Bad("etl.bad_amount")
            value, approx, scale = Decimal(str(raw)), False, None
        else:
            s = _number_text(raw)
            if any(f in s for f in _FOREIGN):
                raise Bad("etl.foreign_currency")
            numbers = _NUMBER.findall(s)
            if len(numbers) != 1:
                raise Bad("etl.bad_amount")
            value = Decimal(numbers[0])
            approx = any(a in s for a in _APPROX)
            scale = ("亿" if "亿" in s else "万" if "万" in s else "千" if "千" in s
                     else "元" if "元" in s else None)
        if scale is None:
            scale = "元" if unit == "元" else "万"
        value *= {"亿": Decimal(10000), "万": Decimal(1), "千": Decimal("0.1"),
                  "元": Decimal("0.0001")}[scale]
        if value < 0:
            raise Bad("etl.bad_amount")
        try:
            return value.quantize(_CENT), approx
        except InvalidOperation:
            raise Bad("etl.bad_amount") from None

    return fn


def count(raw: object) -> int:
    """A head count: 30, '30人', '30余人' (kept as 30)."""
    if isinstance(raw, bool):
        raise Bad("etl.bad_number")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and (math.isnan(raw) or not raw.is_integer()):
            raise Bad("etl.bad_number")
        value = int(raw)
    else:
        numbers = _NUMBER.findall(_number_text(raw))
        if len(numbers) != 1 or "." in numbers[0]:
            raise Bad("etl.bad_number")
        value = int(numbers[0])
    if value < 0:
        raise Bad("etl.bad_number")
    return value


_UP_TO = ("最高", "不超过", "不高于", "以下", "以内", "≤")
_FROM = ("最低", "不低于", "以上", "起", "≥")


def number_range(raw: object) -> tuple[Decimal | None, Decimal | None]:
    """'50-500', '50～500万', '3.85%-6%', '12', '最高500', '50以上', '3.85%起' -> (low, high)
    as written; a one-sided range ('最高500': up to 500) leaves the other end open (None)."""
    s = _number_text(raw).replace("%", "")
    numbers = [Decimal(n) for n in _NUMBER.findall(s)]
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        numbers = [Decimal(str(raw))]
    if not numbers or len(numbers) > 2:
        raise Bad("etl.bad_range")
    low, high = (numbers[0], numbers[-1])
    if len(numbers) == 1 and any(w in s for w in _UP_TO):
        low = None
    elif len(numbers) == 1 and any(w in s for w in _FROM):
        high = None
    if low is not None and high is not None and low > high:
        raise Bad("etl.bad_range")
    return low, high


_YES = {"是", "有", "y", "yes", "true", "1", "√", "✓", "已解决", "解决", "在售", "有效"}
_NO = {"否", "无", "n", "no", "false", "0", "×", "未解决", "不", "停售", "无效"}


def boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    s = (text(raw) or "").lower()
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise Bad("etl.bad_bool")


# --- phones ------------------------------------------------------------------------------



def phone(raw: object) -> str | Warned:
    """023-6789 1234 / (023)67891234 / 138 1234 5678 -> 023-67891234 / 13812345678, by
    crm.rules.phone, the app's rule; an odd or masked number is kept with a note."""
    stored, note = rules.phone(text(raw) or "")
    return Warned(stored, note) if note else stored


_MOBILE = re.compile(r"1\d{10}", re.ASCII)


def _phones(values: list) -> list:
    """phone() over a column: a plain 11-digit mobile number is already clean."""
    match = _MOBILE.fullmatch
    return [v if v.__class__ is str and match(v) else _one(phone, v) for v in values]


phone.batch = _phones


# --- words mapped to codes ---------------------------------------------------------------

def word_key(raw: object) -> str:
    return "".join(unicodedata.normalize("NFKC", as_text(raw)).lower().split())


def vocabulary(words: dict[str, list[str]]) -> dict[str, str]:
    """{code: [words]} from synonyms.json -> {normalised word: code}."""
    table = {}
    for code, names in words.items():
        for name in names:
            table[word_key(name)] = code
    return table


def choice(words: dict[str, list[str]], *, default: str | None = None,
           warn_key: str = "etl.unknown_word") -> Callable[[object], str | Warned]:
    """A word mapped through synonyms; an unknown one is `default` with a note, or rejected."""
    table = vocabulary(words)

    def fn(raw: object) -> str | Warned:
        key = word_key(raw)
        if key in table:
            return table[key]
        if default is not None:
            return Warned(default, warn_key, value=text(raw))
        raise Bad("etl.unknown_value", value=text(raw), allowed="、".join(
            names[0] for names in words.values()))

    return fn
