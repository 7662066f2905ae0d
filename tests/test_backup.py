"""`python -m crm backup` / `restore`: a restored database is the backed-up one, table by
table and row by row, on SQLite and on PostgreSQL; a newer schema is refused."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from crm import backup, cli, migrate
from crm.db import make_engine, session_factory
from crm.demo import seed_demo
from crm.models import AuditLog
from tests.conftest import _sa_url


def _target(db_url: str, tmp_path: Path, request) -> str:
    """A database that does not exist yet, of the same backend (dropped after the test)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    server = request.getfixturevalue("pg_server")
    name = f"{server.prefix}_r{uuid.uuid4().hex[:8]}"
    server.created.append(name)
    return _sa_url(name)


def _engine(url: str):
    return make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)


def _tables(url: str) -> dict[str, list[tuple]]:
    """Every table the database holds (from the inspector: a new table is covered without
    a change here), each as its rows ordered by every column."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            insp = inspect(conn)
            for table in sorted(insp.get_table_names()):
                columns = ", ".join(f'"{c["name"]}"' for c in insp.get_columns(table))
                rows = [tuple(r) for r in conn.execute(text(f'SELECT {columns} FROM "{table}"'))]
                out[table] = sorted(rows, key=repr)  # JSON columns have no SQL ordering
            return out
    finally:
        engine.dispose()


@pytest.fixture
def seeded(engine, db_url):
    seed_demo(engine, enterprises=25, appeals=60, seed=7)
    return db_url


def test_a_restore_gives_back_every_table_row_for_row(seeded, engine, tmp_path, request):
    before = _tables(seeded)
    assert sum(bool(rows) for rows in before.values()) >= 25  # the demo fills most tables
    file = tmp_path / "qifu.backup"
    made = backup.backup(seeded, file)
    assert made.revision == migrate.head_revision() and file.stat().st_size > 0
    target = _target(seeded, tmp_path, request)
    seen = []
    done = backup.restore(target, file, progress=lambda *p: seen.append(p))
    assert done.migrated_from is None and not done.replaced and seen
    after = _tables(target)
    assert set(after) == set(before)
    # the restore adds one audit entry of its own, after everything restored
    restored_log = [r for r in after["audit_log"] if "database.restore" not in r]
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1
    after["audit_log"] = restored_log
    for table, rows in before.items():
        assert after[table] == rows, f"{table} differs after restore"
    engine2 = _engine(target)
    with session_factory(engine2)() as s:
        last = s.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    engine2.dispose()
    assert last.action == "database.restore" and last.detail["revision"] == made.revision


def test_a_backup_from_a_newer_schema_is_refused_with_one_line(engine, db_url, tmp_path,
                                                                request, monkeypatch, capsys):
    file = tmp_path / "newer.backup"
    if db_url.startswith("sqlite"):
        backup.backup(db_url, file)
        conn = sqlite3.connect(file)
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
        conn.close()
    else:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        backup.backup(db_url, file)
    target = _target(db_url, tmp_path, request)
    monkeypatch.setenv("CRM_DATABASE_URL", target)
    assert cli.main(["restore", str(file), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "9999" in err and "newer" in err
    if target.startswith("sqlite"):
        assert not Path(target.split("///", 1)[1]).exists()  # nothing was touched
    else:
        admin = request.getfixturevalue("pg_server").conn
        name = target.rsplit("/", 1)[1]
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (name,)).fetchone() is None


def test_an_older_backup_is_migrated_up_after_restoring(engine, db_url, tmp_path, request):
    migrate.downgrade(engine, "0009")
    file = tmp_path / "old.backup"
    assert backup.backup(db_url, file).revision == "0009"
    target = _target(db_url, tmp_path, request)
    done = backup.restore(target, file)
    assert done.migrated_from == "0009"
    engine2 = _engine(target)
    assert migrate.is_up_to_date(engine2)
    engine2.dispose()


def test_a_non_empty_database_is_replaced_only_with_force(engine, db_url, tmp_path):
    file = tmp_path / "ref.backup"
    backup.backup(db_url, file)
    with session_factory(engine).begin() as s:
        s.add(AuditLog(action="after.backup", entity="x"))
    engine.dispose()
    with pytest.raises(backup.BackupError, match="--force"):
        backup.restore(db_url, file)
    assert backup.restore(db_url, file, force=True).replaced
    engine2 = _engine(db_url)
    with session_factory(engine2)() as s:
        actions = s.scalars(select(AuditLog.action)).all()
    engine2.dispose()
    assert "after.backup" not in actions and actions[-1] == "database.restore"


def test_a_file_that_is_no_backup_is_refused(db_url, tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"hello, not a backup")
    with pytest.raises(backup.BackupError, match="neither"):
        backup.restore(db_url, junk)


def test_the_pg_client_is_checked_against_the_server(monkeypatch):
    monkeypatch.setattr(backup, "_tool_major", lambda path: 13)
    with pytest.raises(backup.BackupError, match="pg_dump 13 is older than the PostgreSQL 15"):
        backup.pg_tool("pg_dump", 15)
