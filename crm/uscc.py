"""The unified social credit code (统一社会信用代码, USCC, GB 32100-2015).

Firms are keyed by their USCC, so a typo must be caught at the door: the final
check character alone catches every single mistyped character. Codes come from
Excel, web forms and copy-paste (full-width digits, spaces, lower case, NaN), so
input is normalised first, and each rejection says in Chinese and English what
is wrong: a liaison must be able to fix the code, not guess.

Layout: 1 registering authority, 2 entity kind, 3-8 administrative division
(6 digits), 9-17 organisation code (GB 11714; 17 is its mod-11 check),
18 the mod-31 check over positions 1-17.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata

import numpy as np

# No I, O, Z, S, V: they are too easily misread as 1, 0, 2, 5, U.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# 3^(i-1) mod 31 is never 0 mod the prime 31, so changing any one character
# always changes the weighted sum mod 31: every single substitution is caught.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Whitespace (U+3000 too, after NFKC) and the zero-width marks copy-paste leaves behind.
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")

AUTHORITIES = {"1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政",
               "6": "旅游", "7": "宗教", "8": "工会", "9": "工商/市场监管",
               "A": "中央军委改革和编制", "N": "农业", "Y": "其他"}
# The kind character only means something together with the authority.
KINDS = {"11": "机关", "12": "事业单位", "13": "群众团体", "51": "社会团体", "52": "民办非企业单位",
         "53": "基金会", "81": "基层工会", "91": "企业", "92": "个体工商户", "93": "农民专业合作社",
         "Y1": "其他"}


class InvalidUSCC(ValueError):
    """A rejected code: `.reason` (zh) and `.reason_en` name the first problem found.

    `.problem` is a stable key (empty, length, char, division, org_check, check) so an
    importer can count rejections without parsing messages; `.code` is the normalised input.
    """

    def __init__(self, problem: str, code: str, reason: str, reason_en: str) -> None:
        super().__init__(f"{reason} ({reason_en})")
        self.problem, self.code, self.reason, self.reason_en = problem, code, reason, reason_en


def normalize(raw: object) -> str:
    """The code as it should be stored: NFKC (full- to half-width), no whitespace, upper case.

    None and NaN (an empty Excel/pandas cell) give '', hence an "empty" error, not "NAN".
    The steps repeat because NFKC can leave a space that only goes on a second pass
    ('´' -> ' ́'); repeating keeps normalize idempotent, so stored codes never change.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    text = str(raw)
    for _ in range(5):
        new = _SPACE.sub("", unicodedata.normalize("NFKC", text)).upper()
        if new == text:
            break
        text = new
    return text


def check_char(first17: str) -> str:
    """The mod-31 check character (position 18) of positions 1-17 (alphabet chars only)."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check(first8: str) -> str:
    """The GB 11714 check character (position 17) of the organisation code's first 8.

    Letters count A=10 ... Z=35 over the full Latin alphabet, as in GB 11714 (older
    than the USCC alphabet); 10 is written 'X' and 11 is written '0'.
    """
    total = sum(int(ch, 36) * w for ch, w in zip(first8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def validate(raw: object) -> str:
    """The normalised code if valid, else InvalidUSCC naming the first problem.

    Coarse checks come first so the message points at what a person can see; a wrong
    check character usually means some earlier character was mistyped.
    """
    code = normalize(raw)
    if not code:
        raise InvalidUSCC("empty", code, "统一社会信用代码为空", "the credit code is empty")
    if len(code) != 18:
        raise InvalidUSCC("length", code, f"统一社会信用代码应为 18 位，实际为 {len(code)} 位",
                          f"a credit code has 18 characters, this one has {len(code)}")
    for pos, ch in enumerate(code, 1):
        if ch not in ALPHABET:
            raise InvalidUSCC("char", code, f"第 {pos} 位字符“{ch}”不合法：只能是数字"
                              "或大写字母（不使用 I、O、Z、S、V）", f"character '{ch}' at position"
                              f" {pos} is not allowed: only digits and A-Z except I, O, Z, S, V")
    if not code[2:8].isdigit():
        raise InvalidUSCC("division", code, f"第 3-8 位行政区划代码应为 6 位数字，实际为"
                          f"“{code[2:8]}”", f"positions 3-8 must be a 6-digit division code,"
                          f" not '{code[2:8]}'")
    org = org_code_check(code[8:16])
    if code[16] != org:
        raise InvalidUSCC("org_check", code, f"第 17 位（组织机构代码校验码）应为“{org}”，实际为"
                          f"“{code[16]}”，请核对第 9-17 位", f"position 17 (organisation-code"
                          f" check) should be '{org}', not '{code[16]}'; check positions 9-17")
    final = check_char(code[:17])
    if code[17] != final:
        raise InvalidUSCC("check", code, f"第 18 位校验码应为“{final}”，实际为“{code[17]}”，"
                          "请核对全部 18 位", f"position 18 (check character) should be"
                          f" '{final}', not '{code[17]}'; check all 18 characters")
    return code


_CHAR_VALUE = np.full(256, -1, dtype=np.int64)  # byte -> its value in ALPHABET, -1 if none
_CHAR_VALUE[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))
_BASE36 = np.full(256, -1, dtype=np.int64)      # byte -> int(ch, 36) for 0-9 and A-Z
_BASE36[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = np.arange(36)


def valid_mask(codes: list) -> np.ndarray:
    """Per value: is it already a stored-form valid code (so `validate` returns it
    unchanged)? Column-wise with numpy; False for anything else, which `validate`
    then judges one by one (and names the problem)."""
    n = len(codes)
    ok = np.fromiter((c.__class__ is str and len(c) == 18 and c.isascii() for c in codes),
                     dtype=bool, count=n)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return ok
    grid = np.frombuffer("".join(codes[i] for i in idx).encode("ascii"),
                         dtype=np.uint8).reshape(-1, 18)
    values = _CHAR_VALUE[grid]
    good = (values >= 0).all(axis=1)
    good &= ((grid[:, 2:8] >= ord("0")) & (grid[:, 2:8] <= ord("9"))).all(axis=1)
    org = 11 - (_BASE36[grid[:, 8:16]] * np.array(ORG_WEIGHTS)).sum(axis=1) % 11
    org_char = np.where(org == 10, ord("X"), np.where(org == 11, ord("0"), ord("0") + org))
    good &= grid[:, 16] == org_char
    total = (np.where(values[:, :17] >= 0, values[:, :17], 0) * np.array(WEIGHTS)).sum(axis=1)
    good &= values[:, 17] == (31 - total % 31) % 31
    ok[idx] = good
    return ok


def is_valid(raw: object) -> bool:
    """Whether `validate` accepts `raw`; never raises, for filters and counts."""
    try:
        validate(raw)
    except InvalidUSCC:
        return False
    return True


def complete(first16: str) -> str:
    """Positions 1-16 plus both check characters: a valid code (for demo/test data).

    Raises InvalidUSCC if `first16` is not 16 characters or has a bad character or
    division, so generated data can never be invalid.
    """
    head = normalize(first16)
    if len(head) != 16:
        raise InvalidUSCC("length", head, f"应给出前 16 位，实际为 {len(head)} 位",
                          f"expected the first 16 characters, got {len(head)}")
    if any(ch not in ALPHABET for ch in head):
        validate(head + "00")  # raises the precise "illegal character" error
    head += org_code_check(head[8:16])
    return validate(head + check_char(head))


def random_uscc(rng: random.Random, division: str = "500105", kind: str = "1") -> str:
    """A valid, real-looking code from the market regulator (authority '9').

    Half get an old all-digit organisation code, half a post-2015 'MA...' one, as in real
    registries; drawing only from `rng` keeps demo data reproducible.
    """
    if rng.random() < 0.5:
        org = "".join(rng.choice("0123456789") for _ in range(8))
    else:
        org = "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))
    return complete(f"9{kind}{division}{org}")


def describe(code: object) -> dict[str, str | None]:
    """The parts of a valid code, with readable names (None when not in the tables)."""
    c = validate(code)
    return {"code": c, "authority": c[0], "authority_name": AUTHORITIES.get(c[0]),
            "kind": c[1], "kind_name": KINDS.get(c[:2]), "division": c[2:8],
            "org_code": c[8:17]}
