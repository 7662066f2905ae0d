"""Names, initials, masked people and fake phones for the demo data.

Pinyin is the slow part at 100,000 firms (pypinyin takes ~50 µs a call), so
initials are computed once per name *component* (the prefix, the trade name,
the trade word, the suffix) and cached; a company name's initials are the
concatenation. Per component rather than per character so 重庆 reads CQ,
not ZQ.
"""

from __future__ import annotations

import random
from functools import cache

from pypinyin import Style, lazy_pinyin

from crm import uscc
from crm.demo import words


@cache
def initials(text: str) -> str:
    """齐祥灯饰 -> QXDS; punctuation dropped, Latin letters and digits kept."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER)
    return "".join(ch for part in letters for ch in part.upper() if ch.isascii() and ch.isalnum())


def trade_names() -> list[str]:
    """All two-character trade names (字号), in a fixed order."""
    return [a + b for a in dict.fromkeys(words.TRADE_FIRST)
            for b in dict.fromkeys(words.TRADE_SECOND) if a != b]


class CompanyNamer:
    """Unique company names: 重庆 + 字号 + trade word + 有限公司, retried on collision.

    `taken` starts with the seed-story names so a random firm never steals one.
    """

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken
        self.trades = trade_names()
        self.suffixes = [s for s, _ in words.COMPANY_SUFFIXES]
        self.suffix_weights = [w for _, w in words.COMPANY_SUFFIXES]

    def company(self, industry: str) -> tuple[str, str]:
        """(name, initials) of a new firm in `industry`."""
        rng, trade_words = self.rng, words.INDUSTRY_WORDS[industry]
        for attempt in range(1000):
            prefix = "重庆" if attempt < 20 and rng.random() < 0.85 else "重庆市"
            parts = (prefix, rng.choice(self.trades), rng.choice(trade_words),
                     rng.choices(self.suffixes, self.suffix_weights)[0])
            name = "".join(parts)
            if name not in self.taken:
                self.taken.add(name)
                return name, "".join(initials(p) for p in parts)
        raise RuntimeError(f"ran out of company names for {industry}")

    def shop(self) -> tuple[str, str, str]:
        """(name, initials, industry) of an individual business (个体工商户)."""
        rng = self.rng
        for _ in range(1000):
            word, industry = rng.choice(words.SHOP_WORDS)
            parts = ("重庆市江北区", rng.choice(self.trades), word)
            name = "".join(parts)
            if name not in self.taken:
                self.taken.add(name)
                return name, "".join(initials(p) for p in parts), industry
        raise RuntimeError("ran out of shop names")


def masked_name(rng: random.Random) -> str:
    """A legal representative or contact as registries publish them: 张**."""
    return rng.choice(words.SURNAMES) + ("**" if rng.random() < 0.7 else "*")


def staff_name(rng: random.Random) -> str:
    """An invented civil servant's name (surname + one or two given characters)."""
    given = rng.choice(words.GIVEN)
    if rng.random() < 0.6:
        given += rng.choice(words.GIVEN)
    return rng.choice(words.SURNAMES) + given


def mobile(rng: random.Random) -> str:
    """A masked mobile number, 138****5678: never a reachable person."""
    return f"{rng.choice(words.MOBILE_PREFIXES)}****{rng.randrange(10000):04d}"


def landline(rng: random.Random) -> str:
    return f"023-6789{rng.randrange(10000):04d}"


def phone(rng: random.Random) -> str:
    return mobile(rng) if rng.random() < 0.7 else landline(rng)


class UsccMaker:
    """Unique valid USCCs for Jiangbei (division 500105); 91… companies, 92… shops."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken

    def make(self, kind: str = "1") -> str:
        for _ in range(100):
            code = uscc.random_uscc(self.rng, division="500105", kind=kind)
            if code not in self.taken:
                self.taken.add(code)
                return code
        raise RuntimeError("could not find an unused USCC")
