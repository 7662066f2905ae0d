"""The bulk writer: rows land in the caller's transaction, and a failure on its writer
thread (an index rebuild) reaches the caller, so nothing is committed half-way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.db import session_factory
from crm.models import Unit
from etl.writer import BulkWriter


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
