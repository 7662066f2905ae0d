"""import provenance: one import_record row per run of consecutive inserted records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows each stand for one record: span 1.
    with op.batch_alter_table('import_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('span', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    # A run becomes one row per record again before the column goes.
    bind = op.get_bind()
    runs = bind.execute(sa.text(
        "SELECT batch_id, entity, record_id, sheet, row_number, action, span "
        "FROM import_record WHERE span > 1")).all()
    rows = [{"batch_id": r.batch_id, "entity": r.entity, "record_id": r.record_id + k,
             "sheet": r.sheet, "row_number": r.row_number + k, "action": r.action}
            for r in runs for k in range(1, r.span)]
    table = sa.table('import_record', sa.column('batch_id'), sa.column('entity'),
                     sa.column('record_id'), sa.column('sheet'), sa.column('row_number'),
                     sa.column('action'))
    for i in range(0, len(rows), 5000):
        bind.execute(table.insert(), rows[i:i + 5000])
    with op.batch_alter_table('import_record', schema=None) as batch_op:
        batch_op.drop_column('span')
