"""The bulk writer: rows land in the caller's transaction, and a failure on its writer
thread (an index rebuild) reaches the caller, so nothing is committed half-way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.bulk.writer import BulkWriter
from crm.db import session_factory
from crm.models import Enterprise, Unit
from crm.uscc import complete


def _unit_rows(n: int) -> list[dict]:
    return [{"name": f"批量单位{i}", "kind": "department", "confirmed": False, "active": True}
            for i in range(n)]


def test_rows_and_a_rebuilt_index_land_with_the_callers_commit(engine):
    with session_factory(engine)() as s:
        before = s.scalar(select(func.count()).select_from(Unit))
        writer = BulkWriter(s)
        writer.insert(Unit.__table__, _unit_rows(3), auto_id=True)
        writer.submit(writer._execute, 'CREATE INDEX ix_test_unit_name ON unit (name)')
        writer.close()
        s.commit()
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == before + 3


def test_a_failure_on_the_writer_thread_is_raised_and_nothing_is_kept(engine):
    with session_factory(engine)() as s:
        before = s.scalar(select(func.count()).select_from(Unit))
    with pytest.raises(Exception, match="no_such_table|does not exist"), \
            session_factory(engine).begin() as s:
        writer = BulkWriter(s)
        try:
            writer.insert(Unit.__table__, _unit_rows(3), auto_id=True)
            writer.submit(writer._execute, "CREATE INDEX ix_bad ON no_such_table (x)")
            writer.insert(Unit.__table__, _unit_rows(2), auto_id=True)  # waits: raises
        finally:
            writer.finish()
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == before


def test_a_refused_row_stops_the_batch_and_keeps_nothing_wherever_it_was_sent(engine):
    """A row the database refuses (a USCC already stored): on PostgreSQL the COPY runs
    on the writer thread, and its failure reaches the caller at the next write or at
    close; on SQLite at once. Either way the transaction keeps nothing."""
    code = complete("91500105MA5UD001")
    with session_factory(engine).begin() as s:
        s.add(Enterprise(uscc=code, name="已登记"))
    with session_factory(engine)() as s:
        before = s.scalar(select(func.count()).select_from(Enterprise))
    block = {"uscc": [complete(f"91500105MA5U{i:04d}") for i in range(50)] + [code],
             "name": [f"新{i}" for i in range(51)]}
    with pytest.raises(Exception, match="(?i)unique|duplicate"), \
            session_factory(engine).begin() as s:
        writer = BulkWriter(s)
        try:
            writer.insert(Enterprise.__table__, [], auto_id=True, columns=[block])
            writer.insert(Unit.__table__, _unit_rows(2), auto_id=True)  # waits: raises
            writer.close()
        finally:
            writer.finish()
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == before


AWKWARD = ["", 'a,"b"\nc', "x\\y\tz\r", "\\N", "NULL", " 前后空格 ", "中文，全角，", None]


def test_awkward_values_come_back_exactly_as_written(engine):
    """Dict rows and column blocks, through executemany (SQLite) or COPY in CSV written
    by Arrow (PostgreSQL): '' stays '' and None stays NULL, quotes, commas, tabs,
    newlines and backslashes survive, dates, Decimals and booleans keep their types,
    and a block's None takes the column's default."""
    n = len(AWKWARD)
    codes = [complete(f"91500105MA5UX{i:03d}") for i in range(2 * n)]
    dicts = [{"uscc": codes[i], "name": f"字典{i}", "address": v, "business_scope": v,
              "registered_on": dt.date(2020, 1, 1 + i), "registered_capital": Decimal("12.50"),
              "is_above_scale": bool(i % 2)} for i, v in enumerate(AWKWARD)]
    block = {"uscc": codes[n:], "name": [f"列{i}" for i in range(n)], "address": AWKWARD,
             "business_scope": list(reversed(AWKWARD)),
             "registered_on": [None] * (n - 1) + [dt.date(1999, 12, 31)],
             "is_above_scale": [None, True] * (n // 2)}
    with session_factory(engine)() as s:
        writer = BulkWriter(s)
        writer.insert(Enterprise.__table__, dicts, auto_id=True, columns=[block])
        writer.close()
        s.commit()
    with session_factory(engine)() as s:
        got = {e.uscc: e for e in s.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes)))}
        for i, v in enumerate(AWKWARD):
            one = got[codes[i]]
            assert (one.address, one.business_scope) == (v, v)
            assert one.registered_on == dt.date(2020, 1, 1 + i)
            assert one.registered_capital == Decimal("12.50")
            assert one.is_above_scale is bool(i % 2) and one.active is True
            other = got[codes[n + i]]
            assert (other.address, other.business_scope) == (v, AWKWARD[n - 1 - i])
            assert other.is_above_scale is (i % 2 == 1)  # None: the default, False
            assert other.registered_on == (dt.date(1999, 12, 31) if i == n - 1 else None)
            assert other.registered_capital is None and other.version == 1


def test_copy_under_a_gbk_client_encoding_keeps_chinese_text(pg_server):
    """A PostgreSQL connection speaking GBK (a Chinese district's database): the rows are
    encoded by psycopg, not sent as Arrow's UTF-8, so the text comes back as written."""
    from crm.db import make_engine
    from tests.conftest import _sa_url

    name = pg_server.create(f"{pg_server.prefix}_gbk", template=pg_server.template)
    engine = make_engine(_sa_url(name), no_pool=True)
    codes = [complete(f"91500105MA5UG{i:03d}") for i in range(len(AWKWARD))]
    try:
        with session_factory(engine)() as s:
            s.connection().exec_driver_sql("SET client_encoding TO 'GBK'")
            writer = BulkWriter(s)
            writer.insert(Enterprise.__table__, [], auto_id=True, columns=[{
                "uscc": codes, "name": [f"重庆渝北{i}号企业" for i in range(len(codes))],
                "address": AWKWARD}])
            writer.close()
            s.commit()
        with session_factory(engine)() as s:
            got = dict(s.execute(select(Enterprise.name, Enterprise.address)
                                 .where(Enterprise.uscc.in_(codes))).all())
        assert got == {f"重庆渝北{i}号企业": v for i, v in enumerate(AWKWARD)}
    finally:
        engine.dispose()
        pg_server.drop(name)


def test_dates_and_times_turned_to_text_by_arrow_equal_the_one_by_one_form():
    """The column-wise conversion (Arrow) gives SQLAlchemy's SQLite text exactly, and
    leaves what it cannot take (aware times) to the one-by-one form, which also gives
    SQLAlchemy's text."""
    import zoneinfo

    from sqlalchemy import Date, DateTime
    from sqlalchemy.dialects import sqlite

    from crm.bulk.writer import _sqlite_date, _sqlite_datetime, adapt_column

    dialect = sqlite.dialect()
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    their_date = Date().dialect_impl(dialect).bind_processor(dialect)

    times = [dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(2024, 1, 2, 3, 4, 5, 123),
             dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
             dt.datetime(2026, 2, 28, 0, 0, 0, 500000)] * 40
    assert adapt_column(_sqlite_datetime, times) == list(map(theirs, times))
    days = [dt.date(2024, 1, 2), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)] * 40
    assert adapt_column(_sqlite_date, days) == list(map(their_date, days))
    aware = [dt.datetime(2024, 1, 1, 8, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))] * 101
    assert adapt_column(_sqlite_datetime, aware) == list(map(theirs, aware))
    assert adapt_column(_sqlite_datetime, aware)[0] == "2024-01-01 08:00:00.000000"


def test_a_bulk_write_leaves_the_wal_checkpoint_to_a_background_thread(tmp_path, monkeypatch):
    """The commit of a bulk write copies nothing into the database file (its WAL
    checkpoint is off for that transaction); the connection's return to the pool turns it
    back on and starts the copy on another thread."""
    import os

    from crm import db
    from crm.db import Base, make_engine

    path = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    started = []
    monkeypatch.setattr(db, "checkpoint_in_background", started.append)
    try:
        with session_factory(engine).begin() as s:
            # A low threshold, so that a commit checkpointing would show in the file size.
            s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=10")
            writer = BulkWriter(s)
            writer.insert(Unit.__table__, _unit_rows(20000), auto_id=True)
            writer.close()
        assert started == [str(path)]
        small = os.path.getsize(path)
        with engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
            assert c.scalar(select(func.count()).select_from(Unit)) == 20000
        monkeypatch.undo()
        db.checkpoint_in_background(str(path)).join()
        assert os.path.getsize(path) > small + 500_000  # the rows reached the file
    finally:
        engine.dispose()
