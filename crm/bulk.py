"""Bulk statements on the raw driver connection, for writes of tens of thousands of rows.

SQLAlchemy's executemany costs a few microseconds per row in Python before the
driver sees it; these helpers hand the driver prebuilt tuples (SQLite) or whole
columns as arrays (PostgreSQL). They run on the DBAPI connection underneath a
SQLAlchemy connection, so they are part of the caller's transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

SQLITE_ROWS_PER_STATEMENT = 50
SQLITE_MAX_PARAMETERS = 32766


def sqlite_insert_many(raw, head: str, width: int, tuples: Sequence | np.ndarray,
                       tail: str = "") -> None:
    """`head` ("INSERT INTO t (…) VALUES ") + rows + `tail` (an ON CONFLICT clause, say),
    run for many rows, SQLITE_ROWS_PER_STATEMENT rows per statement.

    One row per statement costs twice as much: every execution of an INSERT
    rebuilds the lookup tables of the table's `CHECK (c IN (…))` constraints, and
    pays the statement reset. 50 rows per statement amortise both (appeal, 100,000
    rows: 2.0 s → 0.9 s).
    """
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMETERS // max(width, 1)))
    one = "(" + ", ".join("?" * width) + ")"
    full = len(tuples) - len(tuples) % per
    if full:
        if isinstance(tuples, np.ndarray):  # an object grid: flattened in C
            batches = tuples[:full].reshape(-1, per * width).tolist()
        else:
            chain = itertools.chain.from_iterable
            batches = [tuple(chain(tuples[i:i + per])) for i in range(0, full, per)]
        raw.executemany(head + ", ".join([one] * per) + tail, batches)
    if full < len(tuples):
        rest = tuples[full:]
        raw.executemany(head + one + tail, rest.tolist() if isinstance(rest, np.ndarray)
                        else rest)


def upsert_add(connection, table: str, keys: Sequence[str], measures: Sequence[str],
               cells: Sequence[tuple], sums: np.ndarray, *, date_key: bool = True) -> None:
    """Add `sums` (one int64 row per cell) into `table`: a new cell is inserted, an
    existing cell's measures are increased (`m = m + excluded.m`).

    `cells` are distinct key tuples; the first key column is a date when `date_key`,
    the others integers. Parameters are built by numpy, not row by row in Python.
    """
    n = len(cells)
    if not n:
        return
    cols = [*keys, *measures]
    names = ", ".join(f'"{c}"' for c in cols)
    conflict = (f' ON CONFLICT ({", ".join(keys)}) DO UPDATE SET '
                + ", ".join(f'"{m}" = "{table}"."{m}" + excluded."{m}"' for m in measures))
    raw = connection.connection.driver_connection
    grid = np.empty((n, len(cols)), dtype=object)
    grid[:, :len(keys)] = cells
    grid[:, len(keys):] = sums  # int64 → Python int, in C
    if connection.dialect.name == "postgresql":
        # One statement, whole columns as arrays: no per-row round trip or parsing.
        types = ["date" if date_key else "integer", *["integer"] * (len(cols) - 1)]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        with raw.cursor() as cur:
            cur.execute(f'INSERT INTO "{table}" ({names}) SELECT * FROM unnest({arrays})'
                        + conflict, [grid[:, i].tolist() for i in range(len(cols))])
        return
    if date_key:  # SQLAlchemy's Date on SQLite is ISO text; few distinct days
        text = {d: d.isoformat() for d in set(grid[:, 0].tolist())}
        grid[:, 0] = [text[d] for d in grid[:, 0].tolist()]
    sqlite_insert_many(raw, f'INSERT INTO "{table}" ({names}) VALUES ', len(cols), grid,
                       tail=conflict)
