"""appeals: every appeal named by its QF number; a ledger's own number kept as external_ref

Imported appeals were named by their ledger's number (or a derived DR-… key). The
number moves to `appeal.external_ref` (a unique index: the importer's natural key)
and the appeal gets its QF number from crm.rules.appeal_code, set-based (two
UPDATEs, no row loop; a million appeals, half imported: 17-25 s on SQLite, 76 s
on PostgreSQL, shared 2-core machine, scripts/bench_migration_0010.py). A code
that is not the one the generator gives the row is a ledger's: it moves. The codes go through a
placeholder first, so a ledger number that happens to equal another row's QF number
never trips the unique constraint halfway. SQLite: ADD COLUMN in place, no batch copy.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm.rules import appeal_code_sql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('appeal', sa.Column('external_ref', sa.String(length=40), nullable=True))
    dialect = op.get_bind().dialect.name
    generated = appeal_code_sql(dialect)
    op.execute("UPDATE appeal SET external_ref = code, code = '~' || CAST(id AS text) "
               f"WHERE code <> {generated}")
    op.execute(f"UPDATE appeal SET code = {generated} WHERE external_ref IS NOT NULL")
    op.create_index('ix_appeal_external_ref', 'appeal', ['external_ref'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_appeal_external_ref', table_name='appeal')
    op.execute("UPDATE appeal SET code = '~' || CAST(id AS text) "
               "WHERE external_ref IS NOT NULL")
    op.execute("UPDATE appeal SET code = external_ref WHERE external_ref IS NOT NULL")
    op.drop_column('appeal', 'external_ref')
