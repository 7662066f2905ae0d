"""The importer's fast pinyin initials (etl.kinds.common.initials) against the rule they
must equal, crm.services.firm_search.initials (pypinyin, read plainly): on generated firm
names, on every phrase and character of pypinyin's dictionaries, and on the real registry
names beside the checkout (shared/realdata, never copied into the repository)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

from crm.services.firm_search import initials as reference
from etl.kinds.common import _initials, initials

REALDATA = Path(__file__).resolve().parents[3] / "shared/realdata"
REAL_NAMES = [  # (file, column holding firm names)
    ("cq-enterprise-registry/chongqing_enterprises_1980-2004.csv", "企业名称"),
    ("jobs51-bigdata-2023/51job_bigdata_postings_2023.csv", "公司名称"),
]
PHRASES = sorted(PHRASES_DICT)
UNSTABLE = sorted(_initials().unstable)
COMMON = "重庆市江北区观音桥石马河科技有限责任公司股份集团银行长安汽车商贸行乐和信传车朝阳大石坝"
PREFIXES = ["", "重庆", "重庆市", "重庆市江北区", "中国", "江北区"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "（集团）有限公司", "分公司", "营业部", "店",
         "", "合作社"]

cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ext_a = st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF)
other = st.sampled_from(list("ABCxyz019（）()·-—&＆ＡＢ１ 　.,、ßıﬁé〇"))
piece = st.one_of(
    st.sampled_from(PHRASES),                                  # whole phrases, cut by pypinyin
    st.text(st.sampled_from(UNSTABLE), min_size=1, max_size=3),  # the characters it reads twice
    st.text(st.sampled_from(COMMON), min_size=1, max_size=4),
    st.text(st.one_of(cjk, ext_a), min_size=1, max_size=3),
    st.text(other, min_size=1, max_size=3),
)
firm_name = st.builds(lambda prefix, middle, form: prefix + "".join(middle) + form,
                      st.sampled_from(PREFIXES), st.lists(piece, min_size=1, max_size=6),
                      st.sampled_from(FORMS))


@settings(max_examples=1500, deadline=None)
@given(firm_name)
def test_generated_firm_names_get_the_plain_rules_initials(name):
    assert initials(name) == reference(name)


@settings(max_examples=500, deadline=None)
@given(st.text(st.one_of(cjk, other, st.sampled_from(UNSTABLE)), max_size=20))
def test_any_text_gets_the_plain_rules_initials(name):
    assert initials(name) == reference(name)


def test_every_phrase_and_every_character_of_pypinyin_reads_the_same():
    wrong = [p for p in PHRASES if initials(p) != reference(p)]
    wrong += [chr(c) for c in PINYIN_DICT if initials(chr(c)) != reference(chr(c))]
    assert wrong == []


def test_awkward_names():
    for name in ("重庆齐祥灯饰有限公司", "中信证券重庆江北嘴营业部", "重庆长安汽车股份有限公司",
                 "重庆银行股份有限公司ABC分行", "重庆市江北区行政服务中心", "", "ABC", "长",
                 "重庆重庆重", "銀行", "重庆（集团）", "长江长江长", "乐和乐都"):
        assert initials(name) == reference(name), name
    assert initials(None) == reference(None) == ""


def _real_names() -> list[str]:
    names = []
    for relative, column in REAL_NAMES:
        path = REALDATA / relative
        if path.is_file():
            with path.open(encoding="utf-8", errors="replace", newline="") as f:
                names += [row[column] for row in csv.DictReader(f) if row.get(column)]
    return names


def test_the_real_registry_names_get_the_plain_rules_initials():
    names = _real_names()
    if not names:
        reason = f"no real name list found under {REALDATA}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    assert len(names) > 20_000
    _initials.cache_clear()  # from a cold start, as an import begins
    assert [n for n in names if initials(n) != reference(n)] == []
