"""ledgers as streets fill them: unconfirmed firms, remembered category words

`enterprise.confirmed`: an appeal ledger naming a firm no roster holds creates it
unconfirmed (every firm on file so far is confirmed). `category_word`: the category
words ledgers used that name no category, with how often they were met and the
category an administrator mapped each to. `enterprise_alias`: the name and code a
firm merged into another was known by, so the next ledger naming it finds that firm.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place on both backends (SQLite's ADD/DROP COLUMN): a batch copy of a table other
    # tables point at would break their foreign keys on SQLite.
    op.add_column('enterprise', sa.Column('confirmed', sa.Boolean(), server_default=sa.true(),
                                          nullable=False))
    op.create_table(
        'category_word',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('word', sa.String(length=60), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('seen', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['category.id'],
                                name=op.f('fk_category_word_category_id_category')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_category_word')),
        sa.UniqueConstraint('word', name=op.f('uq_category_word_word')),
    )

    op.create_table(
        'enterprise_alias',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=True),
        sa.Column('uscc', sa.String(length=18), nullable=True),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], ondelete='CASCADE',
                                name=op.f('fk_enterprise_alias_enterprise_id_enterprise')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_alias')),
    )
    op.create_index(op.f('ix_enterprise_alias_enterprise_id'), 'enterprise_alias',
                    ['enterprise_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_enterprise_alias_enterprise_id'), table_name='enterprise_alias')
    op.drop_table('enterprise_alias')
    op.drop_table('category_word')
    op.drop_column('enterprise', 'confirmed')
