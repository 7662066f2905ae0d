"""The importer's bulk writer: rows on the session's own connection, SQLite insert or COPY.

The ORM would take a minute for 100,000 rows; prebuilt tuples through the
driver take a second or two (PERFORMANCE.md). Rows are written on the raw DBAPI
handle of the *same* connection the session uses, so an import is one
transaction with everything else the caller does: it commits whole or not at all.
Values are adapted to what SQLAlchemy itself would have stored, so the ORM
reads them back unchanged. The statements are crm.bulk.statements', the demo
loader's too.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from operator import itemgetter

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

from crm.bulk import statements
from crm.db import CHECKPOINT_AFTER

BIG_CACHE_KIB = 256 * 1024  # while an import writes (SQLite allocates only what it uses)
DEFER_AT = 5000  # rows; below this, index upkeep is cheaper than a rebuild


def _sqlite_datetime(v):
    """SQLAlchemy's SQLite text form; isoformat is ~4× cheaper than strftime."""
    if v is None:
        return None
    if v.tzinfo is not None:  # SQLAlchemy's SQLite form has no offset: it drops it
        v = v.replace(tzinfo=None)
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


def adapt_column(fn: Callable, values: list) -> list:
    """`fn` on every value; dates and naive datetimes turned into SQLite's text by Arrow
    in C (100,000 received times: ~0.2 s one by one)."""
    if fn in (_sqlite_datetime, _sqlite_date) and len(values) > 100:
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and fn is _sqlite_datetime and arr.type == pa.timestamp("us"):
            return arr.cast(pa.string()).to_pylist()  # "2024-01-02 08:30:00.000000"
        if arr is not None and fn is _sqlite_date and arr.type == pa.date32():
            return arr.cast(pa.string()).to_pylist()
    return list(map(fn, values))


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
        self._counters: dict[str, object] = {}
        self.seconds: dict[str, float] = {}  # driver time per table (benchmarks)
        self._fk_tables: list[str] = []
        self._cache_raised = None
        self._fk_restore: list[str] = []
        self._thread: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    # --- one writer thread -----------------------------------------------------------------

    def submit(self, fn: Callable, *args) -> None:
        """Run `fn(*args)` on the writer thread, after the jobs before it; only for work
        that spends its time in the database with the GIL let go: building an index
        (one long sqlite3_step), or a PostgreSQL COPY (the server's work). The importer
        prepares the next rows, provenance and KPI counts meanwhile. SQLite row inserts
        stay on the calling thread: binding parameters needs the GIL, and two threads
        taking turns at it made a 100,000-row insert 2.5× slower.

        Nothing else may use the connection until `drain` (every method here drains
        first; a caller using the session must call it).
        """
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="qifu-bulk-writer")
        self._pending.append(self._thread.submit(fn, *args))

    def drain(self) -> None:
        """Wait for every submitted job; raise the first one's failure."""
        pending, self._pending = self._pending, []
        errors = [f.exception() for f in pending]
        for error in errors:
            if error is not None:
                raise error

    def finish(self) -> None:
        """Wait for the jobs (failures already raised or being raised) and stop the thread:
        the caller may then commit or roll back the connection."""
        for future in self._pending:
            future.exception()
        self._pending = []
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    # --- ids: reserved before writing, so children can point at parents ---------------

    def new_id(self, table: Table) -> int:
        counter = self._counters.get(table.name)
        if counter is None:
            counter = self._counters[table.name] = self._id_source(table)
        return next(counter)

    def new_ids(self, table: Table, n: int) -> list[int]:
        """n ids at once (see `new_id`)."""
        if not n:
            return []
        first = self.new_id(table)
        return [first, *itertools.islice(self._counters[table.name], n - 1)]

    def _id_source(self, table: Table):
        """Ids for new rows: PostgreSQL's own sequence (safe beside other writers),
        taken 5,000 at a time, then twice as many each time (unused ones leave a gap,
        as a rolled-back insert does); on SQLite, past the largest id (the write
        transaction holds the database lock)."""
        name = table.name
        self.drain()
        if self.dialect != "postgresql":
            start = (self.conn.scalar(select(func.max(table.c.id))) or 0) + 1
            yield from itertools.count(start)
        sequence = self.conn.scalar(text(f"SELECT pg_get_serial_sequence('\"{name}\"', 'id')"))
        size = 5000
        while True:
            self.drain()
            # The sequence named once (pg_get_serial_sequence per row cost 1.3 s per
            # 100,000), the block as one sorted array through the driver (half the time
            # of a row per id through SQLAlchemy's result).
            with self.raw.cursor() as cur:
                cur.execute("SELECT array_agg(id ORDER BY id) FROM (SELECT nextval("
                            "CAST(%s AS regclass)) AS id FROM generate_series(1, %s)) AS ids",
                            (sequence, size))
                yield from cur.fetchone()[0]
            size = min(size * 2, 80_000)  # a big file: fewer round trips

    # --- a big load: foreign keys checked once at the end, not row by row ------------------

    def relax_foreign_keys(self, table: Table, n: int) -> bool:
        """Before a load of n rows at least as big as `table`: check its foreign keys in one
        pass at the end instead of one lookup per row per key.

        Every id the importer writes comes from a lookup in this transaction, and
        `check_foreign_keys` verifies them all before the caller commits, so the
        database's guarantee is unchanged. SQLite can only switch enforcement off
        outside a transaction (the engine switches it back on when the connection
        returns to the pool); PostgreSQL drops the table's foreign keys and adds
        them back, which validates every row. Returns whether it deferred them.
        """
        if n < DEFER_AT:
            return False
        self.drain()
        count = self._execute(f'SELECT count(*) FROM "{table.name}"')[0][0]
        if count > n:
            return False
        if self.dialect == "sqlite":
            if not self.raw.in_transaction:
                self.raw.execute("PRAGMA foreign_keys=OFF")
                self._fk_tables.append(table.name)
            return bool(self._fk_tables)
        self._fk_restore += statements.drop_foreign_keys(self.raw, table.name)
        return True

    def check_foreign_keys(self, tables: list[str]) -> None:
        self.drain()
        for sql in self._fk_restore:
            self._execute(sql)  # validates every row; raises on a dangling id
        self._fk_restore.clear()
        if self._fk_tables:
            for name in tables:
                bad = self._execute(f'PRAGMA foreign_key_check("{name}")')
                if bad:
                    raise RuntimeError(f"foreign key check failed on {name}: {bad[:3]}")

    # --- writing ---------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.dialect == "sqlite":
            if not self._cache_raised:
                # A big transaction whose pages outgrow SQLite's 2 MB default cache spills
                # them to the WAL again and again (100,000 appeals: 7 s instead of 2 s).
                self._cache_raised = self.raw.execute("PRAGMA cache_size").fetchone()[0]
                self.raw.execute(f"PRAGMA cache_size={-BIG_CACHE_KIB}")
                # The commit copies nothing into the database file; the connection's
                # return to the pool starts that copy in the background (crm.db).
                self.raw.execute("PRAGMA wal_autocheckpoint=0")
                self.conn.connection.info[CHECKPOINT_AFTER] = True
            statements.begin(self.raw)

    def close(self) -> None:
        """Wait for the writes; give the connection its usual cache size back."""
        self.drain()
        self.finish()
        if self._cache_raised:
            self.raw.execute(f"PRAGMA cache_size={self._cache_raised}")
            self._cache_raised = None

    def insert(self, table: Table, rows: Sequence[dict], *, auto_id: bool = False,
               columns: Sequence[dict[str, list]] | None = None) -> None:
        """Insert dict rows, and blocks of rows given column-wise ({column: values}, None
        meaning the column's default); with auto_id the database numbers them (leaf
        tables)."""
        blocks = [b for b in columns or () if b and len(next(iter(b.values())))]
        if not rows and not blocks:
            return
        defaults = python_defaults(table)
        names = [c.name for c in table.columns]
        adapt = adapters(table, self.dialect)
        if auto_id:
            keep = [i for i, n in enumerate(names) if n != "id"]
            names, adapt = [names[i] for i in keep], [adapt[i] for i in keep]
        present = set().union(*rows, *blocks)
        # Columns no row mentions and with no default are NULL anyway: leave them out.
        keep = [i for i, name in enumerate(names)
                if name in present or defaults.get(name) is not None]
        names, adapt = [names[i] for i in keep], [adapt[i] for i in keep]
        # Each dict row's tuple in C: the dict laid over the defaults, read by one
        # itemgetter; then only the columns that need adapting are converted, column by
        # column.
        base = {name: defaults.get(name) for name in names}
        pick = itemgetter(*names) if len(names) > 1 else (lambda d: (d[names[0]],))
        tuples = [pick({**base, **row}) for row in rows]
        grid = [list(c) for c in zip(*tuples, strict=True)] if tuples else \
            [[] for _ in names]
        for block in blocks:
            size = len(next(iter(block.values())))
            for i, name in enumerate(names):
                values = block.get(name)
                default = base[name]
                if values is None:
                    grid[i].extend([default] * size)
                elif default is None:
                    grid[i].extend(values)
                else:
                    grid[i].extend([default if v is None else v for v in values])
        for i, fn in enumerate(adapt):
            if fn is None:
                continue
            values = grid[i]
            if len(set(map(id, values))) == 1:
                grid[i] = [fn(values[0])] * len(values)  # one shared value (now(), None)
            else:
                grid[i] = adapt_column(fn, values)
        self.insert_columns(table, names, grid)

    def insert_columns(self, table: Table, names: Sequence[str],
                       columns: Sequence[Sequence]) -> None:
        """Insert rows given column by column, already in driver form (dates as text on
        SQLite, JSON as text).

        On SQLite the rows are sent from this thread (sqlite3 holds the GIL for most
        of an insert, so inserting from a second thread overlaps little); PostgreSQL's
        COPY runs on the writer thread (see `submit`), and so does the rebuild of the
        indexes a big load dropped.
        """
        n = len(columns[0]) if columns else 0
        if not n:
            return
        data = None
        if self.dialect == "postgresql":
            # Arrow writes UTF-8: with another client encoding (a GBK database, say) the
            # server would misread it, so psycopg encodes the rows instead. Built before
            # waiting for the writer thread's COPY of the previous table.
            data = arrow_csv(table, names, columns) \
                if self.raw.info.encoding == "utf-8" else None
        self.drain()
        self._begin()
        rebuild = self._defer_indexes(table, n)
        if data is not None:
            # The server parses and stores the rows while this thread goes on (KPI
            # counts, the next table's rows): the COPY runs on the writer thread, which
            # mostly waits on the socket with the GIL let go.
            self.submit(self._copy_csv, table.name, names, data)
            if rebuild:
                self.submit(self._rebuild, table.name, rebuild)
            return
        started = time.perf_counter()
        if self.dialect == "postgresql":
            # another encoding, or a value Arrow does not take as its type
            statements.copy_rows(self.raw, table.name, names, zip(*columns, strict=True))
        else:
            statements.sqlite_insert_columns(self.raw, table.name, names, columns)
        self.seconds[table.name] = self.seconds.get(table.name, 0) + time.perf_counter() - started
        if rebuild:
            self.submit(self._rebuild, table.name, rebuild)

    def _copy_csv(self, name: str, names: Sequence[str], data: bytes) -> None:
        started = time.perf_counter()
        statements.copy_csv(self.raw, name, names, data)
        self.seconds[name] = self.seconds.get(name, 0) + time.perf_counter() - started

    def _rebuild(self, name: str, statements: list[str]) -> None:
        started = time.perf_counter()
        for sql in statements:
            self._execute(sql)
        self.seconds[f"{name} indexes"] = time.perf_counter() - started

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query (%s placeholders), through the driver: values as it gives them."""
        self.drain()
        return self._execute(sql, params)

    def _execute(self, sql: str, params: tuple = ()) -> list:
        return statements.execute(self.raw, sql, params)

    def _defer_indexes(self, table: Table, n: int) -> list[str]:
        """Drop the table's plain secondary indexes before a load at least as big as the
        table, and return the statements that rebuild them.

        Building an index once over the loaded rows is several times cheaper than
        updating it row by row (PERFORMANCE.md); inside the transaction, a failure
        puts them back with everything else. Unique indexes stay: they are rules.
        """
        if n < DEFER_AT:
            return []
        count = self._execute(f'SELECT count(*) FROM "{table.name}"')[0][0]
        if count > n:
            return []
        return statements.drop_indexes(self.raw, table.name, unique=False)

    def update(self, table: Table, updates: Sequence[tuple[int, dict]], *,
               bump_version: bool = False, touch: bool = False) -> None:
        """Apply (id, {column: value}) changes, grouped by the set of columns changed."""
        if not updates:
            return
        self.drain()
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


def _arrow_type(column) -> pa.DataType | None:
    t = column.type
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, DateTime):
        return pa.timestamp("us")
    if isinstance(t, Date):
        return pa.date32()
    if isinstance(t, Integer):
        return pa.int64()
    if isinstance(t, String | JSON):  # JSON arrives dumped to text
        return pa.string()
    return None  # Numeric and the rest: as Arrow infers them


def arrow_csv(table: Table, names: Sequence[str], columns: list[list]) -> bytes | None:
    """Columns as the body of COPY … FROM STDIN (FORMAT csv), written by Arrow in C:
    every value quoted, so '' stays an empty string and only an unquoted empty field
    is NULL. None when a value does not fit its column's Arrow type."""
    arrays = []
    try:
        for name, values in zip(names, columns, strict=True):
            arrays.append(pa.array(values, type=_arrow_type(table.c[name])))
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]), buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return buffer.getvalue()


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
