"""Engine, session factory and the declarative base.

One place decides how we talk to the database so SQLite and PostgreSQL behave
the same for every caller (app, CLI, ETL, tests). The caller owns the
transaction: `with session_factory(engine).begin() as s:` commits or rolls back.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import sqlite3
import threading
import time
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Engine,
    Enum,
    MetaData,
    String,
    create_engine,
    event,
    insert,
    inspect,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from crm.config import DATA_DIR, database_url, timezone_name
from crm.textsafety import CONTROL_RE

_TZ = ZoneInfo(timezone_name())

# Stable constraint names make Alembic migrations predictable (SQLite batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: DateTime(timezone=False)}


def now() -> dt.datetime:
    """Naive local wall-clock time of the district (Asia/Shanghai by default).

    Due dates, "replied on time" and monthly bulletins are all judged on the
    district's calendar, so timestamps are stored as local time without a zone
    (SQLite has no time zones, and mixing aware and naive values bites).
    """
    return dt.datetime.now(_TZ).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (KPI pages) run while a liaison writes; FKs are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# The statements that make the sqlite3 module open a transaction (its legacy mode, which
# we keep: reads before a transaction's first write see the latest commit).
_FIRST_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
BUSY_RETRY_SECONDS = 60.0


def _sqlite_do_execute(cursor, statement, parameters, context) -> bool | None:
    """The first write of a transaction, retried with backoff while SQLite is busy.

    busy_timeout makes one attempt wait up to 10 s for the write lock, but SQLite's
    waiting is unfair (sleeps of up to 100 ms while others take the lock), so with
    many writers one could still be told "database is locked". Such a statement has
    written nothing yet (the transaction it opened holds no lock), so it is rolled back
    and tried again, with jittered backoff, for up to BUSY_RETRY_SECONDS. Later
    statements of a transaction hold the lock already and are not retried.
    """
    raw = cursor.connection
    if raw.in_transaction or not _FIRST_WRITE.match(statement):
        return None  # the dialect executes it as usual
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    delay = 0.002
    while True:
        try:
            cursor.execute(statement, parameters)
            return True
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
            if raw.in_transaction:
                raw.rollback()  # the implicit BEGIN of the failed statement: nothing written
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)


def _sqlite_checkin(dbapi_conn, record) -> None:
    """A connection back from a transaction: a bulk import may have switched foreign key
    enforcement off, and the WAL checkpoint its commit would have run, for that
    transaction (crm.bulk.writer); both come back, and the checkpoint runs in the background."""
    if dbapi_conn is None:
        return
    dbapi_conn.execute("PRAGMA foreign_keys=ON")
    if record.info.pop(CHECKPOINT_AFTER, False):
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=1000")
        files = [row[2] for row in dbapi_conn.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0]:
            checkpoint_in_background(files[0])


# A bulk import's commit would copy tens of MB from the WAL into the database file
# (100,000 appeals: 0.2 s of a 0.35 s commit) before returning: the writer marks its
# connection with this key and defers that copy to a thread (readers read the WAL meanwhile).
CHECKPOINT_AFTER = "qifu_checkpoint_after"


def checkpoint_in_background(path: str) -> threading.Thread:
    """A PASSIVE checkpoint of the database at `path`, on its own connection and thread
    (not a daemon: a process about to exit finishes it first)."""
    def run() -> None:
        try:  # mode=rw: a database removed meanwhile is not created again
            con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
            try:
                con.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                con.close()
        except sqlite3.Error:
            pass  # the next commit's own checkpoint (or the last close) does it

    thread = threading.Thread(target=run, name="qifu-wal-checkpoint")
    thread.start()
    return thread


def _in_list(expr) -> tuple | None:
    """(left side, values) when `expr` is `x IN (constant list)`, else None."""
    if isinstance(expr, BinaryExpression) and expr.operator is operators.in_op \
            and isinstance(expr.right, BindParameter) and expr.right.expanding \
            and isinstance(expr.right.value, (list, tuple)) and expr.right.value:
        return expr.left, list(expr.right.value)
    return None


@compiles(CheckConstraint, "sqlite")
def _sqlite_check(constraint, compiler, **kw) -> str:
    """On SQLite a `CHECK (c IN ('a', 'b', …))` (our enums, crm.models._types.choice) is
    written `CHECK (c = 'a' OR c = 'b' OR …)`: the same rule, but SQLite builds a lookup
    table for an IN list of three or more values at every execution of a statement and
    searches it per row (100,000 appeals, four such checks: INSERT … SELECT 0.48 s
    against 0.21 s, scripts/bench_sqlite_checks.py). Migration 0005 rewrites older
    databases."""
    found = _in_list(constraint.sqltext)
    if found is None:
        return compiler.visit_check_constraint(constraint, **kw)
    left, values = found
    original = constraint.sqltext
    constraint.sqltext = or_(*(left == value for value in values))
    try:
        return compiler.visit_check_constraint(constraint, **kw)
    finally:
        constraint.sqltext = original


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            DATA_DIR.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _sqlite_checkin)
        event.listen(engine, "do_execute", _sqlite_do_execute)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@functools.cache
def _insert_returning(model: type[Base]) -> tuple:
    """(INSERT … RETURNING every column, the attribute names in that order), built once:
    building the statement cost as much as running it."""
    mapper = inspect(model)
    props = list(mapper.column_attrs)
    return (insert(mapper.local_table).returning(*(p.columns[0] for p in props)),
            [p.key for p in props])


def insert_loaded(session: Session, model: type[Base], values: dict) -> Base:
    """INSERT one row of `model` now, with RETURNING, and hand back the ORM object as
    if it had been loaded: persistent in `session`, every column set, nothing pending.

    For the hottest single-row write (a new appeal, its first event, its audit entry):
    one statement each instead of a unit-of-work flush, about half the client's CPU
    (issue 18.6, scripts/bench_writers.py). Python-side column defaults apply as in a
    flush (Core applies them); flush hooks do not run: the caller tells whoever counts
    such rows (`kpi_facts.added`).
    """
    statement, columns = _insert_returning(model)
    row = session.execute(statement, values).one()
    obj = model(**dict(zip(columns, row, strict=True)))
    make_transient_to_detached(obj)  # as loaded: the values are the row's, no history
    session.add(obj)
    return obj


# --- text a form may carry but no table keeps ----------------------------------------------

@functools.cache
def _text_keys(mapper) -> tuple[str, ...]:
    """The attributes of a mapped class stored as text (String, Text and their kin)."""
    return tuple(p.key for p in mapper.column_attrs
                 if isinstance(p.columns[0].type, String) and not isinstance(
                     p.columns[0].type, Enum))


@event.listens_for(Session, "before_flush")
def _drop_control_characters(session: Session, flush_context, instances) -> None:
    """Every text value a flush writes loses the control characters XML 1.0 forbids
    (crm.textsafety.CONTROL_RE: NUL and the rest of C0 but tab, LF, CR). A NUL pasted
    into any form made PostgreSQL refuse the row with a traceback, and SQLite stored it
    and then broke the xlsx export (issue 18.1). One rule for every door that writes
    through the ORM; the importer drops them as it reads (etl/readers.py) and
    `log_appeal`, which writes outside the unit of work, through its own text check."""
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for key in _text_keys(state.mapper):
            value = state.dict.get(key)
            if isinstance(value, str) and CONTROL_RE.search(value):
                setattr(obj, key, CONTROL_RE.sub("", value))
