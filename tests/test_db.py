"""crm/db.py: SQLite writers wait for the lock instead of being told "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from crm.db import make_engine


def _table(path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")  # as the app's connections leave it
    con.execute("CREATE TABLE t (x INTEGER)")
    con.commit()
    con.close()


def test_a_first_write_waiting_longer_than_the_busy_timeout_is_retried_not_refused(tmp_path):
    path = tmp_path / "busy.db"
    _table(path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for 1.5 s
    holder.execute("INSERT INTO t VALUES (0)")
    threading.Timer(1.5, lambda: holder.execute("COMMIT")).start()
    engine = make_engine(f"sqlite:///{path}")
    started = time.monotonic()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=50")  # one attempt gives up after 50 ms
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.commit()
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    assert time.monotonic() - started >= 1.4
    engine.dispose()
    holder.close()


def test_a_statement_inside_a_transaction_that_fails_otherwise_is_not_retried(tmp_path):
    path = tmp_path / "other.db"
    _table(path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn, pytest.raises(OperationalError, match="no such table"):
        conn.exec_driver_sql("INSERT INTO missing VALUES (1)")
    engine.dispose()
