"""crm.bulk.statements on both backends: what a big load drops (indexes, PostgreSQL foreign
keys) comes back exactly as the catalogue had it, and rows given as tuples land as given."""

from __future__ import annotations

from sqlalchemy import text

from crm.bulk import statements


def _catalogue(raw, table: str) -> tuple[set, set, set]:
    return (set(statements.secondary_indexes(raw, table, unique=True)),
            set(statements.secondary_indexes(raw, table, unique=False)),
            set(statements.foreign_keys(raw, table)))


def test_dropped_indexes_and_keys_come_back_as_they_were(engine):
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        statements.begin(raw)
        every, plain, keys = _catalogue(raw, "assignment")
        assert plain and plain < every  # plain indexes, and a unique partial one
        assert not any("UNIQUE" in sql for _, sql in plain)
        assert bool(keys) == (engine.dialect.name == "postgresql")

        rebuild = statements.drop_indexes(raw, "assignment", unique=False)
        assert statements.secondary_indexes(raw, "assignment", unique=False) == []
        assert set(statements.secondary_indexes(raw, "assignment", unique=True)) == every - plain
        rebuild += statements.drop_foreign_keys(raw, "assignment")
        assert statements.foreign_keys(raw, "assignment") == []
        for sql in rebuild:
            statements.execute(raw, sql)
        assert _catalogue(raw, "assignment") == (every, plain, keys)
        conn.rollback()


def test_rows_land_as_given_on_both_backends(engine):
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE bulk_probe (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"))
        raw = conn.connection.driver_connection
        rows = [(i, f"名{i}" if i % 3 else None, i * 2) for i in range(1, 1001)]
        statements.insert_rows(raw, "bulk_probe", ["id", "name", "n"], rows)
        statements.insert_rows(raw, "bulk_probe", ["id", "name", "n"], [])
        got = statements.execute(raw, "SELECT id, name, n FROM bulk_probe ORDER BY id")
        assert [tuple(r) for r in got] == rows
        conn.rollback()
