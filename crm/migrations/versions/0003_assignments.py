"""assignments and visits (包联送): indexes for counting coverage fast

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_CADRE = "kind = 'cadre_enterprise' AND end_date IS NULL"


def upgrade() -> None:
    # Covering indexes: the coverage page counts 100,000 firms by place, the active cadre
    # of each and the visits of recent months without reading table rows.
    op.create_index('ix_enterprise_coverage', 'enterprise',
                    ['street_id', 'building_id', 'active', 'is_above_scale'], unique=False)
    op.create_index('ix_assignment_active_cadre', 'assignment', ['enterprise_id', 'person_id'],
                    unique=False, sqlite_where=sa.text(ACTIVE_CADRE),
                    postgresql_where=sa.text(ACTIVE_CADRE))
    op.create_index('ix_visit_date', 'visit', ['visited_on', 'enterprise_id', 'person_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_visit_date', table_name='visit')
    op.drop_index('ix_assignment_active_cadre', table_name='assignment')
    op.drop_index('ix_enterprise_coverage', table_name='enterprise')
