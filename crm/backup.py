"""Backup and restore of the whole database, on SQLite and on PostgreSQL.

Export → import is no restore: it loses events, users, assignments, visits and the
audit log. A backup here is the database itself:

- SQLite: the online backup API (`sqlite3.Connection.backup`), page by page, consistent
  while the app keeps writing; the schema revision is inside the copy (`alembic_version`).
- PostgreSQL: `pg_dump` in custom format (`-Fc`), then `pg_restore`, with binaries whose
  major version is at least the server's (a client older than the server is refused with
  the versions named). The revision is read back from the dump's `alembic_version` data
  (`pg_restore --data-only -t alembic_version -f -`).

Restore never leaves a half-restored database: it restores into a new file (SQLite) or
a new database (PostgreSQL), migrates that up when the backup is older than the code,
checks it, and only then swaps it in place of the target (`os.replace`; `ALTER DATABASE
… RENAME`). A backup from a newer schema than the code knows is refused before anything
is touched; so is a non-empty target without `force`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url

from crm.errors import CrmError

Progress = Callable[[str, int, int], None]
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PAGES_PER_STEP = 1024


class BackupError(CrmError):
    key = "backup.failed"


@dataclass
class Outcome:
    path: Path
    revision: str
    backend: str
    migrated_from: str | None = None
    replaced: bool = False


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from crm.migrate import alembic_config

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def check_revision(revision: str | None) -> None:
    """Refuse a backup without a schema revision, or from a schema newer than this code."""
    from crm.migrate import head_revision

    if not revision:
        raise BackupError("the backup holds no schema revision (alembic_version): "
                          "not a Qifu backup", key="backup.no_revision")
    if revision not in _known_revisions():
        raise BackupError(f"the backup is at schema revision {revision}, newer than this "
                          f"code knows (head {head_revision()}): upgrade Qifu, then restore",
                          key="backup.newer_schema", revision=revision)


# --- SQLite --------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_revision(path: Path) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _copy_sqlite(source: sqlite3.Connection, target: Path, stage: str,
                 progress: Progress) -> None:
    """The online backup API, a step at a time, into a fresh file."""
    dest = sqlite3.connect(target)
    try:
        def step(status, remaining, total):
            progress(stage, total - remaining, total)

        source.backup(dest, pages=PAGES_PER_STEP, progress=step)
    finally:
        dest.close()


def _backup_sqlite(url: str, target: Path, progress: Progress) -> Outcome:
    path = _sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"no database file {path}")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _copy_sqlite(source, tmp, "backup", progress)
        revision = _sqlite_revision(tmp)
        if not revision:
            raise BackupError(f"{path} is not a migrated Qifu database (no alembic_version)")
        os.replace(tmp, target)
    finally:
        source.close()
        tmp.unlink(missing_ok=True)
    return Outcome(target, revision, "sqlite")


def _engine(url: str):
    from sqlalchemy.pool import NullPool

    from crm.db import make_engine

    return make_engine(url, poolclass=NullPool)


def _has_rows(url: str) -> bool:
    """Whether a database holds any table with a row (a fresh one holds none)."""
    from sqlalchemy import text

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            for table in sa_inspect(conn).get_table_names():
                if conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
                    return True
        return False
    finally:
        engine.dispose()


def _migrate_and_note(url: str, revision: str, source: Path, actor) -> str | None:
    """Migrate a restored copy to head when it is older; add the restore to its audit log."""
    from crm import migrate
    from crm.db import session_factory
    from crm.services import audit

    engine = _engine(url)
    try:
        migrated_from = None
        if revision != migrate.head_revision():
            migrated_from = revision
            migrate.upgrade(engine)
        with session_factory(engine).begin() as session:
            audit.record(session, actor, "database.restore", "database", None,
                         file=str(source), revision=revision, migrated_from=migrated_from)
        return migrated_from
    finally:
        engine.dispose()


def _restore_sqlite(url: str, source: Path, force: bool, progress: Progress,
                    actor) -> Outcome:
    target = _sqlite_path(url)
    revision = _sqlite_revision(source)
    check_revision(revision)
    exists = target.is_file() and target.stat().st_size > 0
    if exists and not force and _has_rows(url):
        raise BackupError(f"{target} is not empty: restore replaces it; run again with "
                          "--force", key="backup.not_empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore-{uuid.uuid4().hex[:8]}")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            _copy_sqlite(src, tmp, "restore", progress)
        finally:
            src.close()
        migrated_from = _migrate_and_note(f"sqlite:///{tmp}", revision, source, actor)
        conn = sqlite3.connect(tmp)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the restored copy fails SQLite's integrity check")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        if exists:
            _quiesce_sqlite(target)
        os.replace(tmp, target)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return Outcome(target, revision, "sqlite", migrated_from, replaced=exists)


def _quiesce_sqlite(target: Path) -> None:
    """Fold the target's write-ahead log into it and make sure nobody holds it open: a
    stale -wal beside the new file would be replayed into it."""
    conn = sqlite3.connect(target, timeout=2)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")  # needs every other connection gone
    except sqlite3.OperationalError as err:
        raise BackupError(f"{target} is in use ({err}): stop the app, then restore",
                          key="backup.in_use") from None
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


# --- PostgreSQL ----------------------------------------------------------------------------

def _libpq(url: str, database: str | None = None) -> str:
    """A SQLAlchemy URL as the libpq URL pg_dump and pg_restore take."""
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def _major(text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    if not match:
        raise BackupError(f"cannot read a version from {text!r}")
    return int(match.group(1))


def _server_major(url: str) -> int:
    import psycopg

    with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
        return conn.info.server_version // 10000


def pg_tool(name: str, server_major: int) -> str:
    """The pg_dump / pg_restore to use: Debian's per-version binary for the server's major
    version if installed, else the newest on PATH; refused when older than the server."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    on_path = shutil.which(name)
    found = [str(c) for c in candidates if c.is_file()] + ([on_path] if on_path else [])
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client (Debian: "
                          f"apt-get install postgresql-client-{server_major})",
                          key="backup.no_client")
    best = max(found, key=_tool_major)
    major = _tool_major(best)
    if major < server_major:
        raise BackupError(f"{name} {major} is older than the PostgreSQL {server_major} "
                          f"server: install postgresql-client-{server_major}",
                          key="backup.old_client")
    return best


def _tool_major(path: str) -> int:
    """`pg_dump (PostgreSQL) 15.20 (Debian …)` -> 15."""
    text = _run([path, "--version"]).stdout
    match = re.search(r"\)\s*(\d+)", text)
    return int(match.group(1)) if match else _major(text)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def _stream(cmd: list[str], stage: str, total: int, pattern: str,
            progress: Progress) -> None:
    """Run a pg tool with --verbose, counting the tables it reports as progress."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    done, errors = 0, []
    for line in proc.stderr:
        if pattern in line:
            done += 1
            progress(stage, min(done, total), total)
        elif "error" in line.lower():
            errors.append(line.strip())
    if proc.wait() != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: "
                          + ("; ".join(errors[:3]) or f"exit {proc.returncode}"))
    progress(stage, total, total)


def _table_count(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return len(sa_inspect(conn).get_table_names())
    finally:
        engine.dispose()


def pg_dump_revision(dump: Path, server_major: int) -> str | None:
    """The schema revision inside a custom-format dump (its alembic_version data)."""
    out = _run([pg_tool("pg_restore", server_major), "--data-only", "-t", "alembic_version",
                "-f", "-", str(dump)])
    if out.returncode != 0:
        raise BackupError(f"{dump} is not a readable pg_dump archive: "
                          f"{out.stderr.strip().splitlines()[-1:] or ''}")
    lines = out.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line:
            value = lines[i + 1] if i + 1 < len(lines) else "\\."
            return None if value == "\\." else value.strip()
    return None


def _backup_pg(url: str, target: Path, progress: Progress) -> Outcome:
    major = _server_major(url)
    dump = pg_tool("pg_dump", major)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _stream([dump, "-Fc", "--verbose", "-f", str(tmp), "--dbname", _libpq(url)],
                "backup", _table_count(url), "dumping contents of table", progress)
        revision = pg_dump_revision(tmp, major)
        if not revision:
            raise BackupError("the database is not a migrated Qifu database "
                              "(no alembic_version)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Outcome(target, revision, "postgresql")


def _admin(url: str):
    import psycopg

    return psycopg.connect(_libpq(url, "postgres"), autocommit=True, connect_timeout=5)


def _restore_pg(url: str, source: Path, force: bool, progress: Progress, actor) -> Outcome:
    major = _server_major_or_admin(url)
    revision = pg_dump_revision(source, major)
    check_revision(revision)
    name = make_url(url).database
    with _admin(url) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (name,)).fetchone() is not None
    if exists and not force and _has_rows(url):
        raise BackupError(f"database {name} is not empty: restore replaces it; run again "
                          "with --force", key="backup.not_empty")
    stamp = f"{dt.datetime.now():%Y%m%d%H%M%S}_{uuid.uuid4().hex[:6]}"
    fresh, old = f"{name}_restore_{stamp}"[:63], f"{name}_old_{stamp}"[:63]
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{fresh}"')
    try:
        total = _dump_tables(source, major)
        _stream([pg_tool("pg_restore", major), "--verbose", "--no-owner", "--exit-on-error",
                 "--dbname", _libpq(url, fresh), str(source)],
                "restore", total, "processing data for table", progress)
        fresh_url = make_url(url).set(database=fresh).render_as_string(hide_password=False)
        migrated_from = _migrate_and_note(fresh_url, revision, source, actor)
        with _admin(url) as admin:
            if exists:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{old}"')
            admin.execute(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"')
            if exists:
                admin.execute(f'DROP DATABASE "{old}" WITH (FORCE)')
    except BaseException:
        with _admin(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        raise
    return Outcome(Path(source), revision, "postgresql", migrated_from, replaced=exists)


def _server_major_or_admin(url: str) -> int:
    """The server's major version, through the maintenance database (the target may not
    exist yet)."""
    with _admin(url) as admin:
        return admin.info.server_version // 10000


def _dump_tables(dump: Path, major: int) -> int:
    out = _run([pg_tool("pg_restore", major), "-l", str(dump)])
    return sum(1 for line in out.stdout.splitlines() if " TABLE DATA " in line) or 1


# --- the two commands -----------------------------------------------------------------------

def _kind_of_file(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump archive",
                      key="backup.unknown_file")


def backup(url: str, target: str | Path, *, progress: Progress | None = None) -> Outcome:
    """Write a consistent copy of the database at `url` to `target`."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a directory: name the backup file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        return _backup_sqlite(url, target, progress or _quiet)
    return _backup_pg(url, target, progress or _quiet)


def restore(url: str, source: str | Path, *, force: bool = False,
            progress: Progress | None = None, actor=None) -> Outcome:
    """Replace the database at `url` with the backup `source` (see the module's doc)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    kind = _kind_of_file(source)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    if kind != backend:
        raise BackupError(f"{source} is a {kind} backup; the database is {backend}",
                          key="backup.wrong_backend")
    if backend == "sqlite":
        return _restore_sqlite(url, source, force, progress or _quiet, actor)
    return _restore_pg(url, source, force, progress or _quiet, actor)
