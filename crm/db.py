"""Engine, session factory and the declarative base.

One place decides how we talk to the database so SQLite and PostgreSQL behave
the same for every caller (app, CLI, ETL, tests). The caller owns the
transaction: `with session_factory(engine).begin() as s:` commits or rolls back.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

from crm.config import DATA_DIR, database_url, timezone_name

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


def _sqlite_foreign_keys_on(dbapi_conn, _record) -> None:
    """A bulk import may switch enforcement off for its own transaction (etl.writer)."""
    if dbapi_conn is not None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            DATA_DIR.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _sqlite_foreign_keys_on)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
