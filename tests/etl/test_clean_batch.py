"""The column-wise fast paths give exactly what the cleaners give one value at a time."""

import datetime as dt

import pytest

from etl import clean

ODD = ["ok", " lead", "trail ", "two  spaces", "tab\there", "wide　space", "ＡＢＣ１２３",
       "nbsp\xa0x", "zero\u200bwidth", "line\nbreak", "crlf\r\nx", "sep\x1fx", "para\u2029x",
       "plain 企业名称", 13812345678.0, 42, True, dt.datetime(2024, 1, 2, 3, 4, 5),
       "x" * 41, "y" * 40, "\ufeffbom"]


def results(values):
    out = []
    for v in values:
        if isinstance(v, clean.Bad | clean.Warned):
            out.append((type(v).__name__, v.key, v.params, getattr(v, "value", None)))
        else:
            out.append((type(v).__name__, v))
    return out


@pytest.mark.parametrize("fn", [clean.limited(40), clean.limited(200, multiline=True),
                                clean.phone, clean.moment])
def test_batch_equals_one_by_one(fn):
    dates = [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, 3, 4, 5, 600),
             dt.datetime(2024, 1, 2, tzinfo=dt.UTC), dt.date(2024, 5, 6), "2024年3月1日",
             44621, "nonsense",
             # the reader's text for date cells, and near misses moment() must judge
             "2024-01-02 08:30:00", "2024-01-02 08:30:15.123", "2024-01-02", "2024-02-30",
             "1900-01-01", "2101-01-01 00:00:00", "2024-1-2", "2024-01-02T08:30",
             "2024-01-02 08:30:00+08:00", "45293", "20240102"]
    phones = ["13812345678", "138 1234 5678", "023-67891234", "１３８１２３４５６７８",
              "12345", 13812345678, "+86 13812345678",
              "139****2618", "138＊＊＊＊5678"]
    clean_only = ["first value", "second value", "第三"]
    for values in (ODD, dates, phones, clean_only, clean_only + ["x" * 300]):
        assert results(clean.batch(fn, values)) == results(clean.each(fn, values))


def test_uscc_column_equals_one_by_one():
    import random

    from crm.uscc import ALPHABET, complete, random_uscc, valid_mask

    rng = random.Random(3)
    good = [random_uscc(rng) for _ in range(300)]
    bad = []
    for code in good[:60]:
        i = rng.randrange(18)
        bad.append(code[:i] + rng.choice(ALPHABET.replace(code[i], "")) + code[i + 1:])
    odd = [good[0].lower(), f" {good[1]} ", good[2][:17], good[3] + "0", "ＡＢ" + good[4][2:],
           good[5][:4] + "I" + good[5][5:], good[6][:2] + "AB" + good[6][4:], "", None,
           915001051234567890, complete("91500105MA5UA001"), "91500105MA5UA001X"]
    values = good + bad + odd
    assert results(clean.batch(clean.uscc, values)) == results(clean.each(clean.uscc, values))
    assert valid_mask(good).all() and not valid_mask(bad).any()  # the fast path is taken
    assert all(isinstance(v, clean.Bad) for v in clean.batch(clean.uscc, bad))
