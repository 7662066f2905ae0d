"""Bulk writes of tens of thousands of rows: the one package that hands rows to the driver.

- `crm.bulk.statements`: the statements on the raw DBAPI connection: the SQLite
  multi-row insert, PostgreSQL COPY, the KPI rollups' add-upsert, and the catalogue
  reads that let a big load drop indexes (and PostgreSQL foreign keys) and rebuild them.
- `crm.bulk.writer`: `BulkWriter`, the importer's writer (etl): dict or column-wise
  rows adapted to what SQLAlchemy would store, ids from the database's sequences,
  COPY and index rebuilds on a writer thread.
- `crm.bulk.loader`: `BulkLoader`, the demo generator's (crm.demo): prebuilt tuples,
  ids counted here, COPY on a worker thread on PostgreSQL.

Both writers run on the raw connection under the caller's SQLAlchemy connection,
so their rows are part of the caller's transaction.
"""

from crm.bulk.statements import constant, sqlite_insert_columns, upsert_add

__all__ = ["constant", "sqlite_insert_columns", "upsert_add"]
