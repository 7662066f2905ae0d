"""odoo sync: runs, and what each mapping last agreed on

- `odoo_mapping.synced_hash`: a hash of the mapped fields as both sides last agreed;
  a side whose values now hash otherwise has changed since (both: a conflict).
- `odoo_mapping.remote_seen`: for appeals, the Odoo stage and the last Odoo message
  already written to the timeline.
- `odoo_run`: each sync run (started, finished, scope, dry run, status, counts, errors,
  who ran it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('odoo_mapping', schema=None) as batch_op:
        batch_op.add_column(sa.Column('synced_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('remote_seen', sa.JSON(), nullable=True))
    op.create_table(
        'odoo_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Enum('running', 'ok', 'partial', 'failed',
                                    name='odoo_run_status', native_enum=False,
                                    create_constraint=True, length=24), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('errors', sa.JSON(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_odoo_run_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_odoo_run')),
    )
    with op.batch_alter_table('odoo_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_odoo_run_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('odoo_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_odoo_run_started_at'))
    op.drop_table('odoo_run')
    with op.batch_alter_table('odoo_mapping', schema=None) as batch_op:
        batch_op.drop_column('remote_seen')
        batch_op.drop_column('synced_hash')
