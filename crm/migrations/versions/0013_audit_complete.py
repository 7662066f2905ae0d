"""audit: who by name (actor_label), before/after as their own columns, an index on the
time; PostgreSQL refuses TRUNCATE of audit_log too (UPDATE and DELETE are refused since 0001)

SQLite: ADD COLUMN in place (a batch copy would drop 0001's triggers). SQLite has no
TRUNCATE (its "truncate optimisation" is a DELETE, which the trigger already refuses).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('actor_label', sa.String(length=80), nullable=True))
    op.add_column('audit_log', sa.Column('before', sa.JSON(), nullable=True))
    op.add_column('audit_log', sa.Column('after', sa.JSON(), nullable=True))
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_no_truncate() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_no_truncate()")
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_column('audit_log', 'after')
    op.drop_column('audit_log', 'before')
    op.drop_column('audit_log', 'actor_label')
