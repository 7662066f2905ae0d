"""Cleaning cells: dates, amounts, phones, text, words, codes — each form DOMAIN.md lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from etl import clean
from etl.clean import Bad, Warned
from etl.kinds.common import initials, words
from tests.etl.conftest import BAD, A

DAY = dt.datetime(2022, 3, 1)


@pytest.mark.parametrize("raw", [DAY, dt.date(2022, 3, 1), 44621, 44621.0, "44621",
                                 "2022年3月1日", "2022.3.1", "2022/03/01", "2022-3-1",
                                 "20220301", 20220301, " 2022 年 3 月 1 日 ", "２０２２-３-１"])
def test_every_date_form_streets_write_means_the_same_day(raw):
    assert clean.moment(raw) == DAY


@pytest.mark.parametrize(("raw", "expected"), [
    ("2020/1/6 12:09:38", dt.datetime(2020, 1, 6, 12, 9, 38)),
    ("2017-06-08 17:31", dt.datetime(2017, 6, 8, 17, 31)),
    ("05/01/2022 12:05:10 AM", dt.datetime(2022, 5, 1, 0, 5, 10)),
    ("12/25/2013 01:02:03 PM", dt.datetime(2013, 12, 25, 13, 2, 3)),
    (44621.5, dt.datetime(2022, 3, 1, 12, 0)),
])
def test_times_come_with_the_date(raw, expected):
    assert clean.moment(raw) == expected


@pytest.mark.parametrize("raw", ["三月", "2022年3月", "2022-13-01", "2022-02-30", "1800-01-01",
                                 0, -5, True, "N/A"])
def test_what_is_not_a_date_is_refused(raw):
    with pytest.raises(Bad) as info:
        clean.moment(raw)
    assert info.value.key == "etl.bad_date"


@pytest.mark.parametrize(("raw", "unit", "expected"), [
    ("100万元", "万元", (Decimal("100.00"), False)),
    ("100余万元", "万元", (Decimal("100.00"), True)),
    ("约50万", "万元", (Decimal("50.00"), True)),
    ("1,000,000", "元", (Decimal("100.00"), False)),
    ("1,000,000元", "万元", (Decimal("100.00"), False)),
    ("1.2亿", "万元", (Decimal("12000.00"), False)),
    (5000, "万元", (Decimal("5000.00"), False)),
    ("4,550.4900(万)", "万元", (Decimal("4550.49"), False)),
    ("70万人民币", "万元", (Decimal("70.00"), False)),
    ("８千元", "万元", (Decimal("0.80"), False)),
])
def test_amounts_in_every_unit_become_wan_yuan(raw, unit, expected):
    assert clean.amount(unit)(raw) == expected


@pytest.mark.parametrize(("raw", "key"), [("6(万美元)", "etl.foreign_currency"),
                                          ("一些钱", "etl.bad_amount"),
                                          ("50-100万", "etl.bad_amount")])
def test_an_amount_that_cannot_be_read_says_why(raw, key):
    with pytest.raises(Bad) as info:
        clean.amount()(raw)
    assert info.value.key == key


@pytest.mark.parametrize(("raw", "expected"), [
    ("023-6789 1234", "023-67891234"), ("(023)67891234", "023-67891234"),
    ("138 1234 5678", "13812345678"), (13812345678.0, "13812345678"),
    ("+86 138-1234-5678", "13812345678"), ("010 8888 6666", "010-88886666"),
    ("67891234", "67891234"), ("0755-12345678", "0755-12345678")])
def test_phones_are_written_one_way(raw, expected):
    assert clean.phone(raw) == expected


def test_an_odd_phone_is_kept_as_written_with_a_note():
    got = clean.phone("12345 转 8")
    assert isinstance(got, Warned) and got.value == "12345 转 8" and got.key == "etl.odd_phone"


def test_a_masked_phone_is_kept_as_written_never_turned_into_another_number():
    """139****2618 once became 1392618, a different (seven-digit) number."""
    for raw in ("139****2618", "138＊＊＊＊5678", "023-6789××34"):
        got = clean.phone(raw)
        assert isinstance(got, Warned) and got.key == "etl.masked_phone"
        assert got.value == clean.text(raw)


def test_text_loses_full_width_letters_and_extra_spaces_but_keeps_chinese_punctuation():
    assert clean.text("  重庆\u3000ＡＢＣ（集团）  有限公司 ") == "重庆 ABC（集团） 有限公司"
    assert clean.long_text("\n\t\t第一行  \n\n  第二行\u3000") == "第一行\n第二行"
    with pytest.raises(Bad):
        clean.limited(3)("四个字符")


def test_codes_are_normalised_then_checked():
    assert clean.uscc(f" {A.lower()[:9]} {A[9:]} ") == A
    assert clean.uscc(A.translate({ord(c): ord(c) + 0xFEE0 for c in A})) == A  # full-width
    with pytest.raises(Bad) as info:
        clean.uscc(BAD)
    assert info.value.key == "etl.bad_uscc" and "第 18 位" in info.value.params["reason"]


def test_status_and_satisfaction_words_map_through_synonyms():
    status = clean.choice(words("status"))
    assert [status(w) for w in ("已办结", "办结", "已答复", "已回访", "办理中", "Closed")] == \
        ["replied", "replied", "replied", "callback", "dispatched", "replied"]
    satisfaction = clean.choice(words("satisfaction"))
    assert [satisfaction(w) for w in ("满意", "基本满意", "不满意")] == \
        ["satisfied", "basic", "unsatisfied"]
    with pytest.raises(Bad):
        satisfaction("还行")


@pytest.mark.parametrize(("raw", "expected"), [("是", True), ("否", False), ("√", True),
                                               (True, True), ("N", False)])
def test_yes_and_no(raw, expected):
    assert clean.boolean(raw) is expected


def test_fast_initials_match_the_firm_search_ones():
    from crm.services.firm_search import initials as reference

    for name in ("重庆齐祥灯饰有限公司", "中信证券重庆江北嘴营业部", "重庆长安汽车股份有限公司",
                 "重庆银行股份有限公司ABC分行", "重庆市江北区行政服务中心"):
        assert initials(name) == reference(name), name
