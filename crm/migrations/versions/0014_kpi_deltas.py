"""kpi deltas: writers append their KPI rollup changes instead of updating shared rows

Every appeal logged in one day and street used to update the same `kpi_day_street`
row and every write the one `kpi_state` row, each locked until its transaction
committed, so concurrent writers queued behind one another (issue 18.6). Writers now
append rows here; `crm.services.kpi_facts.fold` moves them into the rollups. Starts
empty: the rollups as they stand are already exact.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from crm.models.kpi): a migration must not change later.
MEASURES = (["n_total", "n_replied", "n_open", "n_on_time", "n_callbacks", "n_satisfied",
             "n_basic", "n_solved", "n_dispatched", "n_responded"]
            + [f"d{i:02d}" for i in range(31)] + ["d_over"])


def upgrade() -> None:
    op.create_table(
        'kpi_delta',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in MEASURES],
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_delta')),
    )


def downgrade() -> None:
    # Pending deltas are folded first: dropping them would leave the rollups short.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM kpi_delta LIMIT 1")).first() is not None:
        bind.execute(sa.text("UPDATE kpi_state SET built = :f"), {"f": False})
    op.drop_table('kpi_delta')
