"""crm.bulk on SQLite: rows given column by column land exactly, whether a column varies,
repeats one value (bound once per statement) or only looks constant to Python."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from crm.bulk import statements as bulk
from crm.bulk.statements import constant, sqlite_insert_columns


def _table() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b TEXT, c, d INTEGER DEFAULT 7)")
    return con


def _rows(con) -> list[tuple]:
    return con.execute("SELECT id, a, typeof(a), b, c, typeof(c), d FROM t ORDER BY id").fetchall()


@pytest.mark.parametrize("n", [1, 2, 49, 50, 51, 137])
def test_rows_land_as_given_whatever_the_count(n, monkeypatch):
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_STATEMENT", 50)
    con = _table()
    ids = list(range(1, n + 1))
    a = [i * 10 for i in ids]          # varies
    b = ["同一个值"] * n                 # repeats: bound once per statement
    c = [None] * n                      # NULL throughout
    sqlite_insert_columns(con, "t", ["id", "a", "b", "c"], [ids, a, b, c])
    assert _rows(con) == [(i, i * 10, "integer", "同一个值", None, "null", 7) for i in ids]


def test_values_equal_in_python_but_stored_differently_are_not_taken_as_one():
    """1, 1.0 and True compare equal in Python; in an untyped column they are stored as
    an integer, a real and an integer: each row keeps its own."""
    con = _table()
    sqlite_insert_columns(con, "t", ["id", "a", "c"], [[1, 2, 3], [1, 1.0, True],
                                                        ["x", "x", "x"]])
    assert [(r[1], r[2]) for r in _rows(con)] == [(1, "integer"), (1.0, "real"), (1, "integer")]
    assert not constant([1, 1.0, True]) and constant(["x", "x", "x"]) and constant([None] * 3)
    assert not constant([None, 0]) and not constant([])


def test_numpy_columns_and_an_upsert_tail():
    con = _table()
    ids = np.arange(1, 101, dtype=np.int64)
    sqlite_insert_columns(con, "t", ["id", "a", "d"], [ids, ids * 2, np.full(100, 5)])
    # Again with an ON CONFLICT tail: every row adds to what is stored.
    sqlite_insert_columns(con, "t", ["id", "a", "d"], [ids, np.ones(100, dtype=np.int64),
                                                        np.full(100, 5)],
                          tail=" ON CONFLICT (id) DO UPDATE SET a = a + excluded.a,"
                               " d = d + excluded.d")
    rows = _rows(con)
    assert len(rows) == 100
    assert all(r[1] == r[0] * 2 + 1 and r[2] == "integer" and r[6] == 10 for r in rows)
    assert all(type(v) is int for r in rows for v in (r[0], r[1], r[6]))


def test_every_column_repeating_still_gives_one_row_each():
    con = _table()
    sqlite_insert_columns(con, "t", ["a", "b"], [[4] * 120, ["y"] * 120])
    assert con.execute("SELECT count(*), count(DISTINCT id), min(a), max(b) FROM t"
                       ).fetchone() == (120, 120, 4, "y")
