"""The USCC check (GB 32100-2015): valid codes pass, each typo gets its own message.

The real-data test runs the validator over the Chongqing registry export kept
beside the checkout (shared/realdata, licence CC BY-NC-SA, never copied into the
repo). Its expectations come from an independent oracle written from the
standard's tables below, not from crm.uscc itself, and the counts were measured
once and pinned so a change in behaviour fails loudly.
"""

from __future__ import annotations

import csv
import os
import random
import re
import string
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crm import uscc
from crm.uscc import ALPHABET, InvalidUSCC

REGISTRY = (Path(__file__).resolve().parents[2]
            / "shared/realdata/cq-enterprise-registry/chongqing_enterprises_1980-2004.csv")

# Oracle, written out from the standards' tables rather than computed like crm.uscc.
GB32100_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
GB11714_VALUES = {**{d: int(d) for d in string.digits},
                  **{ch: 10 + i for i, ch in enumerate(string.ascii_uppercase)}}
PATTERN = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")

# Real codes from the registry, checked by hand (see the arithmetic test below).
REAL = ["91500118203790903T", "915001182028992963", "915002382084014795",
        "9150010873983234XL", "92500108MA5UG9U49Q", "91500107MA5UF4UFXT"]


def oracle_ok(code: str) -> bool:
    if not PATTERN.fullmatch(code):
        return False
    org = 11 - sum(GB11714_VALUES[c] * w for c, w in zip(code[8:16], [3, 7, 9, 10, 5, 8, 4, 2],
                                                              strict=True)) % 11
    org_char = {10: "X", 11: "0"}.get(org, str(org))
    total = sum(ALPHABET.index(c) * w for c, w in zip(code[:17], GB32100_WEIGHTS, strict=True))
    final = (31 - total % 31) % 31
    return code[16] == org_char and code[17] == ALPHABET[final]


def problem_of(raw: object) -> InvalidUSCC:
    with pytest.raises(InvalidUSCC) as info:
        uscc.validate(raw)
    return info.value


# --- valid codes -------------------------------------------------------------------------


@pytest.mark.parametrize("code", REAL)
def test_real_registry_codes_are_accepted(code):
    assert uscc.validate(code) == code and uscc.is_valid(code) and oracle_ok(code)


def test_the_check_characters_of_a_real_code_match_the_arithmetic_done_by_hand():
    # 91500118203790903T, org code 20379090-3:
    # 2*3 + 0*7 + 3*9 + 7*10 + 9*5 + 0*8 + 9*4 + 0*2 = 184; 184 mod 11 = 8; 11 - 8 = 3.
    assert uscc.org_code_check("20379090") == "3"
    # value*weight over 91500118203790903: 9*1 + 1*3 + 5*9 + 0*27 + 0*19 + 1*26 + 1*16 + 8*17
    # + 2*20 + 0*29 + 3*25 + 7*13 + 9*8 + 0*24 + 9*10 + 0*30 + 3*28 = 687;
    # 687 mod 31 = 5; 31 - 5 = 26 -> ALPHABET[26] = 'T'.
    first17 = "91500118203790903"
    assert sum(ALPHABET.index(c) * w for c, w in zip(first17, uscc.WEIGHTS, strict=True)) == 687
    assert uscc.check_char("91500118203790903") == ALPHABET[26] == "T"
    # Letters count A=10 ... Z=35: MA5U5QXX -> 22*3+10*7+5*9+30*10+5*5+26*8+33*4+33*2 = 912,
    # 912 mod 11 = 10, 11 - 10 = 1.
    assert uscc.org_code_check("MA5U5QXX") == "1"


def test_the_weights_are_the_powers_of_three_mod_31_printed_in_the_standard():
    assert list(uscc.WEIGHTS) == GB32100_WEIGHTS


def test_the_org_code_check_writes_ten_as_x_and_eleven_as_zero():
    assert uscc.org_code_check("73983234") == "X"  # from the real code 9150010873983234XL
    assert uscc.org_code_check("00000000") == "0"  # sum 0 -> 11 - 0 = 11 -> '0'


@pytest.mark.parametrize(("first16", "expected"), [
    ("91500105MA5U5QXX", "91500105MA5U5QXX14"),
    ("92500105MA5U0000", "92500105MA5U00003G"),
    ("9150010520285N4W", "9150010520285N4W3W"),
    ("9150010000000000", None),
])
def test_complete_appends_both_check_characters(first16, expected):
    code = uscc.complete(first16)
    assert len(code) == 18 and code.startswith(first16) and oracle_ok(code)
    assert expected is None or code == expected


def test_complete_normalises_its_input_and_rejects_a_wrong_prefix():
    assert uscc.complete(" 91500105ma5u5qxx ") == "91500105MA5U5QXX14"
    assert pytest.raises(InvalidUSCC, uscc.complete, "91500105MA5U5QX").value.problem == "length"
    assert pytest.raises(InvalidUSCC, uscc.complete, "91500105MA5U5QXO").value.problem == "char"
    assert pytest.raises(InvalidUSCC, uscc.complete, "9150A105MA5U5QXX").value.problem \
        == "division"


def test_positions_one_and_two_accept_any_alphabet_character():
    for head in ("B", "Y", "0"):
        for kind in ("1", "9", "W"):
            assert uscc.is_valid(uscc.complete(f"{head}{kind}50010512345678"))


def test_describe_names_the_parts_of_a_code():
    assert uscc.describe("91500105MA5U5QXX14") == {
        "code": "91500105MA5U5QXX14", "authority": "9", "authority_name": "工商/市场监管",
        "kind": "1", "kind_name": "企业", "division": "500105", "org_code": "MA5U5QXX1"}
    shop = uscc.describe("92500108MA5UG9U49Q")
    assert (shop["kind_name"], shop["division"]) == ("个体工商户", "500108")
    assert uscc.describe(uscc.complete("93500105MA5U5QXX"))["kind_name"] == "农民专业合作社"
    assert uscc.describe(uscc.complete("51500105MA5U5QXX"))["authority_name"] == "民政"
    assert uscc.describe(uscc.complete("12500105MA5U5QXX"))["authority_name"] == "机构编制"
    assert uscc.describe(uscc.complete("Y1500105MA5U5QXX"))["authority_name"] == "其他"
    unknown = uscc.describe(uscc.complete("B7500105MA5U5QXX"))
    assert (unknown["authority_name"], unknown["kind_name"]) == (None, None)
    with pytest.raises(InvalidUSCC):
        uscc.describe("91500105MA5U5QXX15")


# --- normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "９１５００１１８２０３７９０９０３Ｔ",          # full-width
    "9150 0118 2037 9090 3T",                     # spaces
    "91500118203790903t",                         # lower case
    "\u30009150\u30000118203790903T\u3000",       # ideographic space U+3000
    "\t91500118\n203790903T \r\n",                # tabs and newlines from a spreadsheet cell
    "\ufeff9150011820\u200b3790903T",             # BOM and zero-width space from copy-paste
    " ９１５００１１８ 2037　9090３ｔ ",          # all of it mixed
])
def test_normalisation_accepts_how_people_actually_type_a_code(raw):
    assert uscc.normalize(raw) == "91500118203790903T"
    assert uscc.validate(raw) == "91500118203790903T"


def test_none_nan_and_numbers_give_an_error_not_a_crash():
    assert uscc.normalize(None) == "" and uscc.normalize(float("nan")) == ""
    assert problem_of(None).problem == "empty"
    assert problem_of(float("nan")).problem == "empty"
    assert problem_of(9.15001182028993e17).problem == "length"  # an Excel-mangled number
    assert problem_of(1.5).problem == "length"
    assert uscc.validate(915001182028992963) == "915001182028992963"  # an int keeps its digits
    assert not uscc.is_valid(None) and not uscc.is_valid(object())


# --- one message per problem -------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\u3000\u3000", None])
def test_an_empty_code_says_it_is_empty(raw):
    err = problem_of(raw)
    assert (err.problem, err.reason, err.reason_en) == (
        "empty", "统一社会信用代码为空", "the credit code is empty")


def test_a_short_code_says_its_actual_length():
    err = problem_of("9150010520285N4W3")
    assert err.problem == "length" and "18" in err.reason and "实际为 17 位" in err.reason
    assert "has 17" in err.reason_en and isinstance(err, ValueError)


@pytest.mark.parametrize(("raw", "pos", "char"), [
    ("91500105MO5U5QXX14", 10, "O"), ("915001O5MA5U5QXX14", 7, "O"),
    ("I1500105MA5U5QXX14", 1, "I"), ("91500105MA5U5QXZ14", 16, "Z"),
    ("91500105MA5U5QXX1-", 18, "-"), ("91500105MA5U5汉XX14", 14, "汉"),
])
def test_an_illegal_character_is_named_with_its_position_and_the_excluded_letters(raw, pos, char):
    err = problem_of(raw)
    assert err.problem == "char"
    assert f"第 {pos} 位" in err.reason and f"“{char}”" in err.reason
    assert "I、O、Z、S、V" in err.reason
    assert f"'{char}' at position {pos}" in err.reason_en and "I, O, Z, S, V" in err.reason_en


def test_a_division_code_with_a_letter_is_rejected_as_such():
    err = problem_of("915001A5MA5U5QXX14")
    assert err.problem == "division" and "6 位数字" in err.reason and "“5001A5”" in err.reason
    assert "'5001A5'" in err.reason_en


def test_a_wrong_org_code_check_says_the_expected_character():
    code = "91500105MA5U5QXX2"  # position 17 should be '1'
    err = problem_of(code + uscc.check_char(code))  # the final check itself is right
    assert err.problem == "org_check"
    assert "应为“1”" in err.reason and "实际为“2”" in err.reason
    assert "should be '1', not '2'" in err.reason_en


def test_a_wrong_final_check_says_the_expected_character():
    err = problem_of("91500105MA5U5QXX15")
    assert err.problem == "check"
    assert "第 18 位校验码应为“4”" in err.reason and "实际为“5”" in err.reason
    assert "should be '4', not '5'" in err.reason_en


def test_the_first_problem_wins():
    assert problem_of("9150010O").problem == "length"  # short and an 'O': length first
    assert problem_of("91O00A05MA5U5QXX15").problem == "char"  # 'O' before the division


# --- properties --------------------------------------------------------------------------

seeds = st.integers(min_value=0, max_value=2**32)
divisions = st.text(alphabet=string.digits, min_size=6, max_size=6)


@st.composite
def valid_codes(draw) -> str:
    rng = random.Random(draw(seeds))
    return uscc.random_uscc(rng, division=draw(divisions), kind=draw(st.sampled_from("123")))


@given(seeds, divisions, st.sampled_from("123"))
def test_every_random_uscc_validates(seed, division, kind):
    code = uscc.random_uscc(random.Random(seed), division=division, kind=kind)
    assert uscc.validate(code) == code and oracle_ok(code)
    assert code[:8] == f"9{kind}{division}"


def test_random_uscc_is_reproducible_from_the_seed():
    assert [uscc.random_uscc(random.Random(7)) for _ in range(2)] \
        == [uscc.random_uscc(random.Random(7)) for _ in range(2)]


@given(valid_codes(), st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_changing_any_single_character_makes_a_code_invalid(code, pos, char):
    assume(code[pos] != char)
    assert not uscc.is_valid(code[:pos] + char + code[pos + 1:])


def test_the_mod_31_check_alone_detects_every_single_substitution():
    # (a - b) * w != 0 mod 31 for a != b, because 31 is prime and no weight is 0 mod 31.
    assert all(31 % d for d in range(2, 31)) and all(w % 31 for w in uscc.WEIGHTS)
    assert all((a - b) * w % 31 for w in uscc.WEIGHTS for a in range(31) for b in range(31)
               if a != b)
    code = "91500105MA5U5QXX14"
    for pos in range(17):
        for char in ALPHABET.replace(code[pos], ""):
            changed = code[:pos] + char + code[pos + 1:17]
            assert uscc.check_char(changed) != code[17]


texts = st.one_of(st.text(), st.none(), st.floats(), st.integers(),
                  st.text(alphabet=ALPHABET + "iozsv 　\t０１２ＡＢｘ", max_size=24))


@given(texts)
def test_normalize_is_idempotent(raw):
    once = uscc.normalize(raw)
    assert uscc.normalize(once) == once


@st.composite
def decorated_codes(draw) -> str:
    """A valid (or one-char-corrupted) code typed sloppily: spaces, full width, lower case."""
    code = draw(valid_codes())
    if draw(st.booleans()):
        pos = draw(st.integers(0, 17))
        code = code[:pos] + draw(st.sampled_from(ALPHABET + "OI-")) + code[pos + 1:]
    out = []
    for ch in code:
        ch = chr(ord(ch) + 0xFEE0) if draw(st.booleans()) else ch  # full width
        ch = ch.lower() if draw(st.booleans()) else ch
        out.append(ch + draw(st.sampled_from(["", "", " ", "\u3000", "\t"])))
    return "".join(out)


def outcome(raw: object) -> tuple[str, str]:
    try:
        return "ok", uscc.validate(raw)
    except InvalidUSCC as err:
        return err.problem, err.reason


@given(st.one_of(decorated_codes(), texts))
def test_validate_gives_the_same_answer_before_and_after_normalisation(raw):
    assert outcome(uscc.normalize(raw)) == outcome(raw)


# --- real data ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry_rows() -> list[dict[str, str]]:
    if not REGISTRY.is_file():
        reason = f"real registry export not found at {REGISTRY}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    with REGISTRY.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_real_registry_codes_are_judged_like_the_standard_says(registry_rows):
    raw_codes = [row["统一社会信用代码"] for row in registry_rows]
    assert len(raw_codes) == 22_524
    # As stored: 22,494 match the strict pattern and every one of them passes both checks,
    # so the org-code (position 17) check costs nothing on real data and is enforced.
    strict = [c for c in raw_codes if PATTERN.fullmatch(c)]
    assert len(strict) == 22_494 and all(oracle_ok(c) for c in strict)
    assert all(uscc.validate(c) == c for c in strict)
    # After normalisation one more is valid: '91500107MA5UF4UFxT' has a lower-case x.
    verdicts = Counter(outcome(c)[0] for c in raw_codes)
    assert verdicts == {"ok": 22_495, "length": 29}
    for code in raw_codes:
        assert uscc.is_valid(code) == oracle_ok(uscc.normalize(code)), code


def test_the_rejected_real_rows_are_shifted_rows_with_the_code_in_the_next_column(registry_rows):
    rejected = [row for row in registry_rows if not uscc.is_valid(row["统一社会信用代码"])]
    assert len(rejected) == 29
    # The code column holds mojibake address text (U+FFFD), never an 18-char look-alike.
    assert all("\ufffd" in row["统一社会信用代码"] for row in rejected)
    assert all(uscc.is_valid(row["注册日期"]) for row in rejected)
