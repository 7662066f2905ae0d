"""Bulk statements on the raw driver connection, for writes of tens of thousands of rows.

SQLAlchemy's executemany costs a few microseconds per row in Python before the
driver sees it; these helpers hand the driver prebuilt parameters (SQLite) or
COPY data (PostgreSQL). They run on the DBAPI connection underneath a SQLAlchemy
connection (`raw`: a sqlite3 or psycopg connection), so they are part of the
caller's transaction. Both writers of the package (crm.bulk.writer for imports,
crm.bulk.loader for the demo) send their rows through here: the SQLite insert,
the COPY, and the catalogue reads that let a big load drop and rebuild indexes.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

SQLITE_ROWS_PER_STATEMENT = 50
SQLITE_MAX_PARAMETERS = 32766


def constant(values: Sequence | np.ndarray) -> bool:
    """Whether every value of a column is the same (same type too: 1, 1.0 and True are
    equal in Python but not stored alike everywhere)."""
    n = len(values)
    if not n:
        return False
    if isinstance(values, np.ndarray) and values.dtype != object:
        return bool((values == values[0]).all())
    first = values[0]
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if values.count(first) != n:  # in C, identity first
        return False
    return first is None or len(set(map(type, values))) == 1


def sqlite_insert_columns(raw, table: str, names: Sequence[str],
                          columns: Sequence[Sequence | np.ndarray], tail: str = "") -> None:
    """`INSERT INTO table (names) VALUES …` + `tail` (an ON CONFLICT clause, say) for rows
    given column by column (values in driver form), SQLITE_ROWS_PER_STATEMENT rows per
    statement.

    One row per statement costs about twice as much: every execution pays the
    statement reset and its setup (such as the lookup tables of any `CHECK (c IN …)`,
    which our SQLite tables no longer have: crm.db._sqlite_check); 50 rows per
    statement amortise it (appeal, 100,000 rows: 2.0 s → 0.9 s, with those checks).

    A column holding one value throughout (a default, the batch's id, NULL for a
    field the file lacks) is bound once per statement, as a numbered parameter every
    row refers to: binding is most of the cost of an insert from Python, and a
    ledger's rows often share half their columns.
    """
    n = len(columns[0]) if columns else 0
    if not n:
        return
    same = [i for i, values in enumerate(columns) if n > 1 and constant(values)]
    vary = [i for i in range(len(columns)) if i not in same]
    if not vary:  # every column repeats: keep one of them per row
        same, vary = same[1:], same[:1]
    order = [*(names[i] for i in vary), *(names[i] for i in same)]
    head = f'INSERT INTO "{table}" (' + ", ".join(f'"{c}"' for c in order) + ") VALUES "
    c, w = len(same), len(vary)
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, (SQLITE_MAX_PARAMETERS - c) // w))
    shared = ", ".join(f"?{k + 1}" for k in range(c))

    def rows_sql(count: int) -> str:
        parts = []
        for r in range(count):
            cells = ", ".join(f"?{c + r * w + k + 1}" for k in range(w))
            parts.append(f"({cells}, {shared})" if c else f"({cells})")
        return ", ".join(parts)

    grid = np.empty((n, w), dtype=object)
    for j, i in enumerate(vary):  # a list or an array into an object column: in C
        grid[:, j] = columns[i]
    consts = [columns[i][0] for i in same]
    if consts and isinstance(columns[same[0]], np.ndarray):
        consts = np.array(consts, dtype=object).tolist()
    consts = [v.item() if isinstance(v, np.generic) else v for v in consts]
    full = n - n % per
    if full:
        flat = np.empty((full // per, c + per * w), dtype=object)
        flat[:, :c] = consts
        flat[:, c:] = grid[:full].reshape(-1, per * w)
        raw.executemany(head + rows_sql(per) + tail, flat.tolist())
    if full < n:
        rest = n - full
        flat = np.empty((1, c + rest * w), dtype=object)
        flat[:, :c] = consts
        flat[:, c:] = grid[full:].reshape(1, rest * w)
        raw.executemany(head + rows_sql(rest) + tail, flat.tolist())


def is_sqlite(raw) -> bool:
    return isinstance(raw, sqlite3.Connection)


def begin(raw) -> None:
    """Open the transaction on SQLite (sqlite3 opens one only before DML by itself, so
    an index dropped first would commit on its own and outlive a failed load)."""
    if is_sqlite(raw) and not raw.in_transaction:
        raw.execute("BEGIN")


def execute(raw, sql: str, params: tuple = ()) -> list:
    """One statement (%s placeholders on both drivers); its rows, if it returns any."""
    if is_sqlite(raw):
        return raw.execute(sql.replace("%s", "?"), params).fetchall()
    with raw.cursor() as cur:
        cur.execute(sql, params or None)  # no parameters: a '%' in the SQL is itself
        return cur.fetchall() if cur.description else []


def copy_rows(raw, table: str, names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL `COPY table (names) FROM STDIN`, psycopg adapting each row's values."""
    cols = ", ".join(f'"{c}"' for c in names)
    with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def copy_csv(raw, table: str, names: Sequence[str], data: bytes) -> None:
    """PostgreSQL `COPY … FROM STDIN (FORMAT csv)` of a prebuilt body, sent in 1 MB parts."""
    cols = ", ".join(f'"{c}"' for c in names)
    with raw.cursor() as cur, \
            cur.copy(f'COPY "{table}" ({cols}) FROM STDIN (FORMAT csv)') as copy:
        for i in range(0, len(data), 1 << 20):
            copy.write(data[i:i + (1 << 20)])


def insert_rows(raw, table: str, names: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Rows (tuples of values in driver form) into `table`: COPY on PostgreSQL, one
    prepared single-row INSERT run over all of them on SQLite.

    For tuples a generator built (the demo) that is faster than turning them into
    columns for `sqlite_insert_columns` (20,000 demo appeals: appeal_event's 127,000
    rows 0.5 s against 0.9 s); the importer, whose rows are columns already, uses that.
    """
    if not rows:
        return
    if is_sqlite(raw):
        cols = ", ".join(f'"{c}"' for c in names)
        raw.executemany(f'INSERT INTO "{table}" ({cols}) VALUES '
                        f'({", ".join("?" * len(names))})', rows)
    else:
        copy_rows(raw, table, names, rows)


def secondary_indexes(raw, table: str, *, unique: bool) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that no constraint owns; with
    `unique` False, the unique ones are left out too (they are rules, not speed)."""
    if is_sqlite(raw):
        sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
               "AND sql IS NOT NULL")
        params: tuple = (table,)
    else:
        sql = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
               " AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint"
               " WHERE conrelid = %s::regclass)")
        params = (table, f'"{table}"')
    if not unique:
        sql += " AND " + ("sql" if is_sqlite(raw) else "indexdef") + \
            " NOT LIKE 'CREATE UNIQUE%%'"
    return [tuple(row) for row in execute(raw, sql, params)]


def foreign_keys(raw, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's foreign keys on PostgreSQL (none listed on
    SQLite, where they cannot be dropped: switch enforcement off instead)."""
    if is_sqlite(raw):
        return []
    return [tuple(row) for row in execute(
        raw, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
             "WHERE conrelid = %s::regclass AND contype = 'f'", (f'"{table}"',))]


def drop_indexes(raw, table: str, *, unique: bool) -> list[str]:
    """Drop what `secondary_indexes` lists; returns the statements that rebuild them."""
    found = secondary_indexes(raw, table, unique=unique)
    for name, _ in found:
        execute(raw, f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def drop_foreign_keys(raw, table: str) -> list[str]:
    """Drop the table's PostgreSQL foreign keys; returns the statements that add them back
    (adding one validates every row)."""
    found = foreign_keys(raw, table)
    for name, _ in found:
        execute(raw, f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    return [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            for name, definition in found]


def upsert_add(connection, table: str, keys: Sequence[str], measures: Sequence[str],
               cells: np.ndarray, sums: np.ndarray, *, date_key: bool = False) -> None:
    """Add `sums` (one int64 row per cell) into `table`: a new cell is inserted, an
    existing cell's measures are increased (`m = m + excluded.m`).

    `cells` are distinct int64 key rows; with `date_key` the first key is a date,
    given as days since 1970-01-01. Parameters are built by numpy/Arrow, not value
    by value.
    """
    n = len(cells)
    if not n:
        return
    cols = [*keys, *measures]
    names = ", ".join(f'"{c}"' for c in cols)
    conflict = (f' ON CONFLICT ({", ".join(keys)}) DO UPDATE SET '
                + ", ".join(f'"{m}" = "{table}"."{m}" + excluded."{m}"' for m in measures))
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql" and n > PG_ROWS_PER_UPSERT:
        # COPY (CSV written by Arrow in C) into a scratch table, then one upsert from it:
        # 93,000 cells in about 1 s, where 46 unnest() arrays took 7 s. Only the measures
        # some cell changes travel; the others are 0 in the insert and left alone on
        # conflict (a ledger without reply dates leaves all 31 histogram columns out).
        used = sums.any(axis=0).tolist()
        moved = [m for m, u in zip(measures, used, strict=True) if u] or list(measures[:1])
        sent = ", ".join(f'"{c}"' for c in [*keys, *moved])
        picked = ", ".join(f'"{c}"' if c in moved or c in keys else "0" for c in cols)
        scratch = f"_add_{table}"
        with raw.cursor() as cur:
            cur.execute(f'CREATE TEMP TABLE "{scratch}" ON COMMIT DROP AS SELECT {sent} '
                        f'FROM "{table}" WITH NO DATA')
            with cur.copy(f'COPY "{scratch}" ({sent}) FROM STDIN (FORMAT csv)') as copy:
                copy.write(_csv(cells, sums[:, [measures.index(m) for m in moved]],
                                date_key))
            cur.execute(f'INSERT INTO "{table}" ({names}) SELECT {picked} FROM "{scratch}"'
                        f' ON CONFLICT ({", ".join(keys)}) DO UPDATE SET '
                        + ", ".join(f'"{m}" = "{table}"."{m}" + excluded."{m}"'
                                    for m in moved))
            cur.execute(f'DROP TABLE "{scratch}"')
        return
    if connection.dialect.name == "postgresql":
        grid = np.empty((n, len(cols)), dtype=object)
        grid[:, :len(keys)] = cells  # int64 → Python int, in C
        grid[:, len(keys):] = sums
        if date_key:  # a date for psycopg
            grid[:, 0] = _dates(cells[:, 0], iso=False)
        with raw.cursor() as cur:
            cur.executemany(f'INSERT INTO "{table}" ({names}) VALUES '
                            f'({", ".join(["%s"] * len(cols))})' + conflict, grid.tolist())
        return
    columns: list = [*np.ascontiguousarray(cells.T), *np.ascontiguousarray(sums.T)]
    if date_key:  # SQLAlchemy's ISO text on SQLite
        columns[0] = _dates(cells[:, 0], iso=True)
    sqlite_insert_columns(raw, table, cols, columns, tail=conflict)


def _dates(days: np.ndarray, *, iso: bool) -> list:
    """Days since 1970-01-01 as dates, or their ISO text."""
    as_date = {d: _EPOCH + dt.timedelta(days=d) for d in np.unique(days).tolist()}
    if iso:
        as_date = {d: v.isoformat() for d, v in as_date.items()}
    return [as_date[d] for d in days.tolist()]


PG_ROWS_PER_UPSERT = 500  # above this, COPY into a scratch table and upsert from it
_EPOCH = dt.date(1970, 1, 1)


def _csv(cells: np.ndarray, sums: np.ndarray, date_key: bool) -> bytes:
    """Cells and sums as CSV lines (key columns, then measures), written by Arrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = []
    for i, values in enumerate(np.ascontiguousarray(cells.T)):
        if i == 0 and date_key:
            columns.append(pa.array(values.astype(np.int32)).cast(pa.date32()))
        else:
            columns.append(pa.array(values))
    columns += [pa.array(column) for column in np.ascontiguousarray(sums.T)]
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table(columns, names=[f"c{i}" for i in range(len(columns))]), buffer,
                    pacsv.WriteOptions(include_header=False))
    return buffer.getvalue()
