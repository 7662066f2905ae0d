"""The demo generator's loader: tuples into tables, COPY on a worker thread on PostgreSQL.

A million appeals with their timelines is ~8 million rows. Through the ORM
that takes an hour; through prebuilt tuples and the driver's own bulk path it
takes a minute or two (see /work/shared/PERFORMANCE.md). So rows are plain
tuples of str/int/float/None built by the generators (crm.demo.clock formats
their times the way SQLAlchemy stores them), written on the raw DBAPI
connection of the *same* SQLAlchemy connection the ORM session uses: the
whole seed is one transaction and either lands completely or not at all.

The statements are crm.bulk.statements', the importer's too. Ids are assigned
here, so children can point at parents without a round trip; PostgreSQL
sequences are moved past them at the end.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table, func, select

from crm.bulk import statements


class BulkLoader:
    """Writes tuples into tables on the connection's raw DBAPI handle.

    On PostgreSQL a worker thread runs the COPYs, so the server ingests batch k
    while the caller builds batch k+1 (psycopg waits on the socket without the
    GIL). On SQLite the database work happens in this process and sqlite3 needs
    the GIL for every row it binds, so a second thread only convoys with the
    generator (measured: slower); writes run inline there. The caller touches
    the connection only after `drain()`; the queue is short so memory stays
    bounded. Use as a context manager so the worker is stopped before the
    transaction ends.
    """

    def __init__(self, conn: Connection, *, background: bool | None = None) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.raw = conn.connection.driver_connection
        statements.begin(self.raw)  # or the index drops below outlive a failed seed
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}  # time spent writing, per table (benchmarks)
        self._next: dict[str, int] = {}
        self._deferred: list[tuple[str, str]] = []  # (kind, SQL to run again at the end)
        self._deferred_tables: set[str] = set()
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        if background is None:
            background = self.dialect == "postgresql"
        if background:
            self._queue = queue.Queue(maxsize=3)
            self._thread = threading.Thread(target=self._work, name="demo-bulk-loader",
                                            daemon=True)
            self._thread.start()

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(self, *exc) -> None:
        self.close(wait=exc[0] is None)

    # --- ids ------------------------------------------------------------------------------

    def next_id(self, table: Table) -> int:
        """The first free id of `table` (read once, then counted here)."""
        name = table.name
        if name not in self._next:
            self.drain()
            self._next[name] = (self.conn.scalar(select(func.max(table.c.id))) or 0) + 1
        return self._next[name]

    def take_ids(self, table: Table, n: int) -> int:
        """Reserve n consecutive ids; returns the first."""
        first = self.next_id(table)
        self._next[table.name] = first + n
        return first

    # --- writing --------------------------------------------------------------------------

    def columns(self, table: Table, names: Sequence[str]) -> list[str]:
        """Check `names` against the table's metadata, and that no required column is left out."""
        known = set(table.c.keys())
        unknown = [n for n in names if n not in known]
        if unknown:
            raise KeyError(f"{table.name} has no column(s) {unknown}")
        missing = [c.name for c in table.c if not c.nullable and c.name not in names
                   and c.server_default is None and not c.primary_key]
        if missing:
            raise KeyError(f"{table.name}: required column(s) {missing} not written")
        return list(names)

    def write(self, table: Table, names: Sequence[str], rows: Iterable[tuple]) -> int:
        cols = self.columns(table, names)
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return 0
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        if self._queue is None:
            self._write_now(table.name, cols, rows)
        else:
            self._raise_if_failed()
            self._queue.put((table.name, cols, rows))
        return len(rows)

    def _write_now(self, name: str, cols: list[str], rows: list[tuple]) -> None:
        started = time.perf_counter()
        statements.insert_rows(self.raw, name, cols, rows)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    self._write_now(*item)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def drain(self) -> None:
        """Wait until everything queued is written (before using the connection directly)."""
        if self._queue is not None:
            self._queue.join()
        self._raise_if_failed()

    def close(self, wait: bool = True) -> None:
        """Stop the worker. Without `wait` (an error is on its way) queued batches are dropped."""
        if self._thread is None:
            return
        if not wait:
            self._error = self._error or RuntimeError("bulk write abandoned")
        self._queue.put(None)
        self._thread.join()
        self._thread = self._queue = None
        if wait:
            self._raise_if_failed()

    # --- loading a big table without its secondary indexes -------------------------------

    def defer_indexes(self, table: Table) -> None:
        """Drop the table's secondary indexes (and, on PostgreSQL, its foreign keys) until
        `finish()` puts them back exactly as the catalogue had them.

        Building an index once over sorted data is several times cheaper than keeping
        it up to date row by row, and PostgreSQL checks each foreign key with a
        trigger per row. The rows are generated consistent; re-adding the foreign
        keys checks them all in one pass, inside the same transaction.
        """
        name = table.name
        if name in self._deferred_tables:
            return
        self.drain()
        self._deferred_tables.add(name)
        # foreign keys dropped before the indexes they may rely on
        self._deferred += [("fk", sql) for sql in statements.drop_foreign_keys(self.raw, name)]
        self._deferred += [("index", sql)
                           for sql in statements.drop_indexes(self.raw, name, unique=True)]

    def finish(self, progress=None) -> None:
        """Write what is queued, rebuild deferred indexes and keys, move PG id sequences."""
        self.drain()
        steps = sorted(self._deferred, key=lambda d: d[0] != "index")  # indexes first
        for i, (_, sql) in enumerate(steps, start=1):
            started = time.perf_counter()
            statements.execute(self.raw, sql)
            self.seconds["(indexes)"] = (self.seconds.get("(indexes)", 0.0)
                                         + time.perf_counter() - started)
            if progress:
                progress("索引", i, len(steps))
        self._deferred.clear()
        if self.dialect != "postgresql":
            return
        for name in self._next:
            statements.execute(self.raw, "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                               f'(SELECT max(id) FROM "{name}"))', (f'"{name}"',))
