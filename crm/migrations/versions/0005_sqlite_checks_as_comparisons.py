"""SQLite: enum CHECK constraints as comparisons (c = 'a' OR c = 'b') instead of IN lists

The same rules, written so SQLite does not build and search a lookup table for
every row it writes (crm.db._sqlite_check; scripts/bench_sqlite_checks.py). A database
made by 0001 after that change has them already; an older one is rewritten here by
SQLite's documented procedure for changing a table's constraints in place
(https://sqlite.org/lang_altertable.html#otheralter): the new text of each CREATE
TABLE is written into the schema with writable_schema, the schema version bumped
and the database checked. Every stored row satisfies the new constraints, which
are equivalent to the old ones. PostgreSQL: nothing to do.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:20:00
"""
import re
from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_LIST = re.compile(r"CHECK \((\w+) IN \(('[^']*'(?:, '[^']*')*)\)\)")
_OR_CHAIN = re.compile(r"CHECK \(((\w+) = '[^']*'(?: OR \2 = '[^']*')+)\)")


def _as_comparisons(sql: str) -> str:
    def chain(m: re.Match) -> str:
        column, values = m.group(1), re.findall(r"'[^']*'", m.group(2))
        return "CHECK (" + " OR ".join(f"{column} = {v}" for v in values) + ")"
    return _IN_LIST.sub(chain, sql)


def _as_in_lists(sql: str) -> str:
    def in_list(m: re.Match) -> str:
        column, values = m.group(2), re.findall(r"'[^']*'", m.group(1))
        return f"CHECK ({column} IN ({', '.join(values)}))"
    return _OR_CHAIN.sub(in_list, sql)


def rewrite(connection, change) -> int:
    """Apply `change` to every table's CREATE TABLE text; returns how many changed."""
    if connection.dialect.name != "sqlite":
        return 0
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL").all()
    changed = [(name, change(sql)) for name, sql in rows if change(sql) != sql]
    if not changed:
        return 0
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for name, sql in changed:
            connection.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, name))
        connection.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    finally:
        connection.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after rewriting CHECK constraints: {problems[:5]}")
    return len(changed)


def upgrade() -> None:
    rewrite(op.get_bind(), _as_comparisons)


def downgrade() -> None:
    rewrite(op.get_bind(), _as_in_lists)
