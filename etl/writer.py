"""Bulk writes on the session's own connection: sqlite3 executemany or PostgreSQL COPY.

The ORM would take a minute for 100,000 rows; prebuilt tuples through the
driver take a second or two (PERFORMANCE.md). Rows are written on the raw DBAPI
handle of the *same* connection the session uses, so an import is one
transaction with everything else the caller does: it commits whole or not at all.
Values are adapted to what SQLAlchemy itself would have stored, so the ORM
reads them back unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, Numeric, Table, func, select, text
from sqlalchemy.orm import Session


def _sqlite_datetime(v):
    """SQLAlchemy's SQLite text form; isoformat is ~4× cheaper than strftime."""
    if v is None:
        return None
    if v.microsecond:
        return v.isoformat(sep=" ")
    return v.isoformat(sep=" ") + ".000000"


def _sqlite_date(v):
    return None if v is None else v.isoformat()


def _sqlite_number(v):
    return None if v is None else float(v)


def _sqlite_bool(v):
    return None if v is None else int(v)


def _json(v):
    return None if v is None else json.dumps(v, ensure_ascii=False)


def adapters(table: Table, dialect: str) -> list[Callable | None]:
    """Per column, the function that turns a Python value into what the driver should get."""
    out: list[Callable | None] = []
    for col in table.columns:
        t = col.type
        if isinstance(t, JSON):
            out.append(_json)
        elif dialect != "sqlite":
            out.append(None)
        elif isinstance(t, DateTime):
            out.append(_sqlite_datetime)
        elif isinstance(t, Date):
            out.append(_sqlite_date)
        elif isinstance(t, Numeric):
            out.append(_sqlite_number)
        elif isinstance(t, Boolean):
            out.append(_sqlite_bool)
        else:
            out.append(None)
    return out


def python_defaults(table: Table) -> dict[str, object]:
    """Column defaults the ORM would fill in (now(), False, 1 …), evaluated once."""
    values: dict[str, object] = {}
    for col in table.columns:
        d = col.default
        if d is None or col.primary_key:
            continue
        if d.is_scalar:
            values[col.name] = d.arg
        elif d.is_callable:
            values[col.name] = d.arg(None)
    return values


class BulkWriter:
    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.dialect = self.conn.dialect.name
        self.raw = self.conn.connection.driver_connection
        self._next: dict[str, int] = {}
        self._pool: dict[str, list[int]] = {}
        self.seconds: dict[str, float] = {}  # driver time per table (benchmarks)

    # --- ids: reserved before writing, so children can point at parents ---------------

    def new_id(self, table: Table) -> int:
        name = table.name
        if self.dialect == "postgresql":
            pool = self._pool.setdefault(name, [])
            if not pool:
                pool.extend(reversed(self.conn.execute(text(
                    f"SELECT nextval(pg_get_serial_sequence('\"{name}\"', 'id')) "
                    "FROM generate_series(1, 2000)")).scalars().all()))
            return pool.pop()
        if name not in self._next:
            self._next[name] = (self.conn.scalar(select(func.max(table.c.id))) or 0) + 1
        self._next[name] += 1
        return self._next[name] - 1

    # --- writing ---------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.dialect == "sqlite" and not self.raw.in_transaction:
            self.raw.execute("BEGIN")

    def insert(self, table: Table, rows: Sequence[dict]) -> None:
        if not rows:
            return
        self._begin()
        defaults = python_defaults(table)
        names = [c.name for c in table.columns]
        adapt = adapters(table, self.dialect)
        columns = []
        for name, fn in zip(names, adapt, strict=True):
            default = defaults.get(name)
            values = [r.get(name, default) for r in rows]
            if fn is not None:
                if len(set(map(id, values))) == 1:
                    values = [fn(values[0])] * len(values)  # one shared value (now(), None)
                else:
                    values = list(map(fn, values))
            columns.append(values)
        tuples = list(zip(*columns, strict=True))
        started = time.perf_counter()
        cols = ", ".join(f'"{n}"' for n in names)
        if self.dialect == "postgresql":
            with self.raw.cursor() as cur, \
                    cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for row in tuples:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(names))
            self.raw.executemany(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', tuples)
        self.seconds[table.name] = self.seconds.get(table.name, 0) + time.perf_counter() - started

    def update(self, table: Table, updates: Sequence[tuple[int, dict]], *,
               bump_version: bool = False, touch: bool = False) -> None:
        """Apply (id, {column: value}) changes, grouped by the set of columns changed."""
        if not updates:
            return
        self._begin()
        adapt = dict(zip([c.name for c in table.columns], adapters(table, self.dialect),
                         strict=True))
        groups: dict[tuple[str, ...], list[tuple]] = {}
        stamp = _now()
        for rid, changes in updates:
            cols = tuple(sorted(changes))
            if touch:
                changes = {**changes, "updated_at": stamp}
                cols = tuple(sorted(changes))
            values = [adapt[c](changes[c]) if adapt[c] else changes[c] for c in cols]
            groups.setdefault(cols, []).append((*values, rid))
        mark = "%s" if self.dialect == "postgresql" else "?"
        for cols, rows in groups.items():
            sets = [f'"{c}" = {mark}' for c in cols]
            if bump_version:
                sets.append('"version" = "version" + 1')
            sql = f'UPDATE "{table.name}" SET {", ".join(sets)} WHERE id = {mark}'
            if self.dialect == "postgresql":
                with self.raw.cursor() as cur:
                    cur.executemany(sql, rows)
            else:
                self.raw.executemany(sql, rows)


def _now() -> dt.datetime:
    from crm.db import now

    return now()


def jsonable(value: object) -> object:
    """A stored value as JSON (for ImportRecord.previous and error reports)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
