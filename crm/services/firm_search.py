"""Finding a firm fast by what a liaison remembers: a name fragment, the USCC, or
pinyin initials ("qxds" for 齐祥灯饰), with a forgiving subsequence match.

Exact and prefix matches use indexes (range conditions work on both SQLite and
PostgreSQL); the contains/subsequence passes scan one narrow column and stop
at the limit, which stays fast on 100,000 firms. Results are ranked in Python
over at most a few hundred candidates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.models import Enterprise, Street
from crm.services.scope import enterprise_scope
from crm.textsafety import like_contains

_HIGH = "\uffff"
_ASCII_LETTERS = re.compile(r"^[A-Za-z]+$")
_CODE_LIKE = re.compile(r"^[0-9A-Za-z]{4,18}$")


@dataclass(frozen=True)
class FirmHit:
    id: int
    name: str
    uscc: str
    street: str | None
    score: int


@lru_cache(maxsize=1)
def _pinyin():
    from pypinyin import Style, lazy_pinyin

    def first_letters(text: str) -> str:
        letters = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER)).upper()
        return "".join(ch for ch in letters if ch.isascii() and ch.isalnum())

    return first_letters


def initials(name: str) -> str:
    """齐祥灯饰有限公司 → QXDSYXGS; ASCII letters and digits kept, punctuation dropped."""
    return _pinyin()(name or "")


def normalize_query(raw: str) -> str:
    return "".join(unicodedata.normalize("NFKC", raw or "").split())


def _escape(text: str) -> str:
    return like_contains(text)[1:-1]


def search_firms(session: Session, query: str, *, actor: Actor, limit: int = 20
                 ) -> list[FirmHit]:
    q = normalize_query(query)
    if not q:
        return []
    upper = q.upper()
    conds = [Enterprise.name == q,
             and_(Enterprise.name >= q, Enterprise.name < q + _HIGH),
             Enterprise.name.like(f"%{_escape(q)}%", escape="\\")]
    if _CODE_LIKE.match(q):
        conds.append(and_(Enterprise.uscc >= upper, Enterprise.uscc < upper + _HIGH))
    by_initials = initials_condition(q)
    if by_initials is not None:
        conds.append(by_initials)
    rows = _candidates(session, actor, or_(*conds), limit * 5)
    if len(rows) < limit and len(q) >= 2 and not _ASCII_LETTERS.match(q):
        # Forgiving pass: the characters in order with anything between (齐灯饰 → 齐祥灯饰).
        pattern = "%" + "%".join(_escape(ch) for ch in q) + "%"
        seen = {r.id for r in rows}
        rows += [r for r in _candidates(session, actor,
                                        Enterprise.name.like(pattern, escape="\\"), limit * 2)
                 if r.id not in seen]
    hits = [FirmHit(r.id, r.name, r.uscc, r.street, _score(r, q, upper)) for r in rows]
    hits.sort(key=lambda h: (-h.score, len(h.name), h.name))
    return hits[:limit]


def initials_condition(query: str):
    """Firms whose pinyin initials start with or contain the query (qxds → 齐祥灯饰), or
    None when the query is not letters only. 企业 and 登记诉求 search alike with it."""
    q = normalize_query(query)
    if not _ASCII_LETTERS.match(q):
        return None
    upper = q.upper()
    return or_(and_(Enterprise.name_initials >= upper, Enterprise.name_initials < upper + _HIGH),
               Enterprise.name_initials.like(f"%{upper}%"))


def street_outside_scope(session: Session, query: str, *, actor: Actor) -> str | None:
    """The street of the firm the query names exactly (its full name or its USCC) when
    that firm is outside the actor's scope: a liaison is told whose street it is instead
    of "no match" and then "already registered". Nothing else of the firm is told."""
    require(actor, "firm.read")
    q = normalize_query(query)
    if not q:
        return None
    row = session.execute(
        select(Street.name).select_from(Enterprise)
        .outerjoin(Street, Enterprise.street_id == Street.id)
        .where(or_(Enterprise.name == q, Enterprise.uscc == q.upper()),
               ~enterprise_scope(actor)).limit(1)).first()
    return None if row is None else (row[0] or "—")


def _candidates(session: Session, actor: Actor, where, limit: int):
    stmt = (select(Enterprise.id, Enterprise.name, Enterprise.uscc, Enterprise.name_initials,
                   Street.name.label("street"))
            .outerjoin(Street, Enterprise.street_id == Street.id)
            .where(where, enterprise_scope(actor), Enterprise.active)
            .limit(limit))
    return list(session.execute(stmt).all())


def _score(row, q: str, upper: str) -> int:
    if row.name == q or row.uscc == upper:
        return 100
    if row.uscc.startswith(upper):
        return 90
    if row.name.startswith(q):
        return 80
    if (row.name_initials or "").startswith(upper):
        return 70
    if q in row.name:
        return 60
    if upper in (row.name_initials or ""):
        return 50
    return 10
